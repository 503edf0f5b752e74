"""The typed events of ``GET /v1/events`` (:mod:`omnisdk.gateway.live_api`).

:func:`live_event` turns a :class:`~omnisdk.client.sse.ServerSentEvent` into one of
:class:`Ready`, :class:`InteractionStateChanged`, :class:`MessageAdded`, :class:`Reset`, or
:class:`UnknownEvent` for a type this client does not know (a newer server's), so a reader
never breaks on one.  Every event has ``id``: the position to resume from with
``last_event_id``.  Fields a newer server adds are ignored.
"""

from __future__ import annotations

from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from omnisdk.client.sse import ServerSentEvent
from omnisdk.model import InteractionState


class LiveEvent(BaseModel):
    """Base of the events of the live stream."""

    model_config = ConfigDict(frozen=True)

    event: str = Field(description="The SSE event type.")
    id: str | None = Field(None, description="The stream's position after this event (``Last-Event-ID``).")


class Ready(LiveEvent):
    """The stream is open; ``id`` is its position (resume from it even if nothing happens)."""

    event: Literal["ready"] = "ready"


class InteractionStateChanged(LiveEvent):
    """A state change the history keeps: offers (``to_state`` offered, with the offered agent),
    accepts, holds, transfers, wrap-up, closing, what timers did (``note``)."""

    event: Literal["interaction.state"] = "interaction.state"
    interaction_id: str
    from_state: InteractionState | None = None
    to_state: InteractionState
    agent: str | None = None
    queue: str | None = None
    note: str | None = None
    at: str = Field(description="RFC 3339 UTC.")


class MessageAdded(LiveEvent):
    """A message stored on an interaction."""

    event: Literal["message.added"] = "message.added"
    interaction_id: str
    message_id: str
    direction: str = Field(description="inbound or outbound.")
    kind: str | None = None
    text: str | None = Field(None, description="Null for media and other kinds without text.")
    at: str


class Reset(LiveEvent):
    """The stream cannot resume (too far behind) and ends: reload the lists, then reconnect
    without ``last_event_id``."""

    event: Literal["reset"] = "reset"


class UnknownEvent(LiveEvent):
    """An event type this client does not know; ``data`` is its raw data."""

    data: str = ""


_TYPES: dict[str, type[LiveEvent]] = {
    "ready": Ready, "interaction.state": InteractionStateChanged, "message.added": MessageAdded, "reset": Reset,
}


def live_event(sse: ServerSentEvent) -> LiveEvent:
    """The typed event of ``sse``.

    Raises:
        pydantic.ValidationError: a known event type whose data does not match its model.
        orjson.JSONDecodeError: a known event type whose data is not JSON.
    """
    cls = _TYPES.get(sse.event)
    if cls is None:
        return UnknownEvent(event=sse.event, id=sse.id, data=sse.data)
    data = orjson.loads(sse.data) if sse.data else {}
    fields = data if isinstance(data, dict) else {}
    return cls.model_validate({**fields, "event": sse.event, "id": sse.id})


__all__ = ["InteractionStateChanged", "LiveEvent", "MessageAdded", "Ready", "Reset", "UnknownEvent", "live_event"]
