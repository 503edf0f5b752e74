"""A ``text/event-stream`` parser (the HTML standard's "interpreting an event stream"), fed one
line at a time, line endings already cut (httpx's ``iter_lines`` / ``aiter_lines`` cut
``\\r\\n``, ``\\n`` and ``\\r``).

- ``event: name`` sets the event's type (default ``message``); ``data: text`` appends a line
  to its data; ``id: x`` sets the last event id (it carries over to later events, as a
  browser's ``lastEventId`` does; an id holding NUL is ignored); ``retry: ms`` the reconnection
  delay.  One space after the colon is dropped; a line without a colon is a field with no value.
- A line starting with ``:`` is a comment (the API's keep-alive every 15 s): skipped.
- A blank line ends the event; an event with no ``data`` line is dropped (the standard's rule).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One event off the stream, untyped.

    Attributes:
        event: its type (``message`` when the stream named none).
        data: its data lines joined with ``\\n``.
        id: the last event id at the time (None until the stream sent one).
        retry: the reconnection delay the stream asked for, in milliseconds, if any.
    """

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turns lines into :class:`ServerSentEvent`; keeps the last event id across events."""

    __slots__ = ("_data", "_event", "_last_id", "_retry")

    def __init__(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._last_id: str | None = None
        self._retry: int | None = None

    @property
    def last_event_id(self) -> str | None:
        """The id to resume from (``Last-Event-ID``)."""
        return self._last_id

    def decode(self, line: str) -> ServerSentEvent | None:
        """Feed one line; the event it completes, if it is the blank line ending one."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry":
            if value.isdigit():
                self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event, data = self._event, self._data
        self._event, self._data = None, []
        if not data:
            return None
        return ServerSentEvent(event=event or "message", data="\n".join(data), id=self._last_id, retry=self._retry)


def iter_sse(lines: Iterable[str], decoder: SSEDecoder | None = None) -> Iterator[ServerSentEvent]:
    """The events of ``lines``; an event the stream did not end with a blank line is dropped."""
    decoder = decoder or SSEDecoder()
    for line in lines:
        event = decoder.decode(line)
        if event is not None:
            yield event


async def aiter_sse(lines: AsyncIterable[str], decoder: SSEDecoder | None = None) -> AsyncIterator[ServerSentEvent]:
    """:func:`iter_sse` over an async stream of lines."""
    decoder = decoder or SSEDecoder()
    async for line in lines:
        event = decoder.decode(line)
        if event is not None:
            yield event


__all__ = ["SSEDecoder", "ServerSentEvent", "aiter_sse", "iter_sse"]
