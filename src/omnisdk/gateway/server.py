"""How ``omnisdk serve`` runs uvicorn: its options, and the request-head deadline it lacks.

uvicorn closes an *idle* keep-alive connection after ``timeout_keep_alive`` seconds, but has no
deadline for a request's head: a client that connects and sends nothing, or trickles its
request line and headers a byte at a time, holds the connection forever (each byte re-arms
nothing).  :func:`protocol_class` subclasses uvicorn's HTTP protocol (httptools, a dependency of
the core and what ``http="auto"`` picks; or h11) minimally: from the moment a connection is made, and from
the first byte of each later request on it, the request line and headers must be complete
within ``header_timeout`` seconds, else the server answers ``408`` (``{"error":
"request_timeout", …}``) and closes the connection.  The head is also bounded in size with
httptools (``max_head_bytes``, 431 beyond), as h11 bounds it with
``h11_max_incomplete_event_size``.

It also sets uvicorn's ``ws_max_size`` from the adapters' WebSocket message limits, and trusts
forwarded headers only from ``[gateway] trusted_proxies`` (:func:`uvicorn_options`).

Webhook *bodies* have their own deadline and a bound on how many are read at once, enforced by
the webhook endpoint (:class:`omnisdk.gateway.webhooks.WebhookEndpoint`).

:class:`ListeningServer` is uvicorn's server that calls back once its sockets listen: ``omnisdk
serve`` prints its one start-up line (:func:`startup_line`) then.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import h11
import orjson
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # httptools: a core dependency

from omnisdk.adapters import ChannelAdapter
from omnisdk.config import GatewaySettings

DEFAULT_WS_MAX_SIZE = 64 * 1024
"""uvicorn's ``ws_max_size`` when no adapter holds a WebSocket (bytes; uvicorn's own is 16 MiB)."""
MAX_HEAD_BYTES = 16 * 1024
"""Largest request line plus headers accepted (bytes); uvicorn's h11 default too."""
KEEP_ALIVE_SECONDS = 5.0
"""How long an idle keep-alive connection stays open between requests (uvicorn's default)."""


def _answer(status: int, phrase: str, reason: str, detail: str) -> bytes:
    body = orjson.dumps({"error": reason, "detail": detail})
    return (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\nconnection: close\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode("ascii") + body


class _HeadDeadline:
    """Mixin for a uvicorn HTTP protocol: the request head must arrive within ``head_timeout``."""

    head_timeout: float = 10.0
    max_head_bytes: int = MAX_HEAD_BYTES
    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes: int = 0
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    cycle: Any

    def _arm_head_deadline(self) -> None:
        if self._head_timer is None:
            self._head_bytes = 0
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_deadline_passed)

    def _cancel_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _refuse(self, answer: bytes) -> None:
        self._cancel_head_deadline()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def _head_deadline_passed(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_deadline()  # a pipelined head behind a response still being written
            return
        self._refuse(_answer(408, "Request Timeout", "request_timeout",
                             f"the request head did not arrive within {self.head_timeout:g} s"))


class H11HeadDeadline(_HeadDeadline, H11Protocol):
    """uvicorn's h11 protocol with the head deadline: armed when the connection is made and at
    the first byte of each request; cancelled once h11 has read the whole head."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()  # the first byte of a new request
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)


class HeadWithBody:
    """A response's transport that sends its head with its first body write: one ``write``
    (one TCP segment, one system call) per small response instead of uvicorn's two.

    uvicorn writes the status line and headers when the app sends ``http.response.start`` and
    the body when it sends ``http.response.body``; apps send both in one step of the event
    loop.  The head waits here for the first body write, or for the end of the current loop
    step (``call_soon``), whichever comes first, so a streamed response (server-sent events)
    still gets its head at once.  Every other write goes straight through; ``close`` sends a
    waiting head first; everything else is the connection's transport's."""

    __slots__ = ("_transport", "_loop", "_head", "_first")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None
        self._first = True

    def write(self, data: bytes) -> None:
        if self._head is not None:
            data, self._head = self._head + data, None
        elif self._first:
            self._first = False
            self._head = bytes(data)
            self._loop.call_soon(self._flush)
            return
        self._transport.write(data)

    def _flush(self) -> None:
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class HttpToolsHeadDeadline(_HeadDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol with the head deadline (armed when the connection is made
    and at each message begin; cancelled when the headers are complete), the head size
    bound, and each response's head sent with its body (:class:`HeadWithBody`)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        in_head = self._head_timer is not None
        if in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if in_head and self._head_timer is not None and self._head_bytes > self.max_head_bytes:
            self._refuse(_answer(431, "Request Header Fields Too Large", "header_too_large",
                                 f"the request head exceeds {self.max_head_bytes} bytes"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm_head_deadline()

    def on_headers_complete(self) -> None:
        self._cancel_head_deadline()
        cycle = self.cycle
        super().on_headers_complete()
        if self.cycle is not None and self.cycle is not cycle:  # (an upgrade makes no cycle)
            self.cycle.transport = HeadWithBody(self.transport, self.loop)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)


def protocol_class(header_timeout: float, *, http: str = "auto") -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol class for ``http`` (``auto`` or ``httptools``: httptools;
    ``h11``) with a request-head deadline of ``header_timeout`` seconds (see the module)."""
    base: type[_HeadDeadline] = H11HeadDeadline if http == "h11" else HttpToolsHeadDeadline
    return type(base.__name__, (base,), {"head_timeout": float(header_timeout)})


def ws_max_size(adapters: Iterable[ChannelAdapter]) -> int:
    """uvicorn's ``ws_max_size`` (bytes) for these adapters: the largest
    :meth:`~omnisdk.adapters.ChannelAdapter.socket_message_limit` among them, or
    :data:`DEFAULT_WS_MAX_SIZE` when none holds a WebSocket."""
    limits = [n for n in (a.socket_message_limit() for a in adapters) if n is not None]
    return max(limits, default=DEFAULT_WS_MAX_SIZE)


def uvicorn_options(gateway: GatewaySettings, *, http: str = "auto",
                    adapters: Iterable[ChannelAdapter] = ()) -> dict[str, Any]:
    """Keyword arguments for :func:`uvicorn.run` / :class:`uvicorn.Config` that bound slow
    clients: the HTTP protocol with the head deadline (``gateway.header_timeout`` seconds), the
    keep-alive timeout (:data:`KEEP_ALIVE_SECONDS`) and the h11 head size
    (:data:`MAX_HEAD_BYTES`); the largest WebSocket message the ``adapters`` take
    (:func:`ws_max_size`: a bigger one is closed with 1009 before it is held whole); and the
    forwarded headers (``X-Forwarded-For``, ``X-Forwarded-Proto``) believed only from
    ``gateway.trusted_proxies`` (none by default: the client address is the connection's peer,
    where uvicorn alone would trust ``127.0.0.1``)."""
    trusted = gateway.trusted_proxies
    return {
        "http": protocol_class(gateway.header_timeout, http=http),
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "ws_max_size": ws_max_size(adapters),
        "proxy_headers": bool(trusted),
        **({"forwarded_allow_ips": list(trusted)} if trusted else {}),
    }


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` listens on loopback only (``127.0.0.0/8``, ``::1``,
    ``localhost``); ``0.0.0.0``, ``::`` and any other name or address do not."""
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def startup_line(*, version: str, host: str, port: int, store: str, plugins: Sequence[str], accounts: int,
                 role: str = "all") -> str:
    """The line ``omnisdk serve`` prints on stderr once it listens, e.g. ``omnisdk 0.1.0
    listening on 127.0.0.1:8080 · store sqlite:///omnisdk.db · plugins email, sms · 2
    accounts``.  ``store`` must already be without credentials; a role other than ``all``
    is named after the version (``omnisdk 0.1.0 core listening on …``)."""
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    who = "omnisdk " + version + ("" if role == "all" else f" {role}")
    return (f"{who} listening on {address} · store {store} · plugins {', '.join(sorted(plugins)) or 'none'}"
            f" · {accounts} account{'' if accounts == 1 else 's'}")


class ListeningServer(uvicorn.Server):
    """uvicorn's server, calling ``on_listening()`` once (after start-up, when its sockets are
    bound and listening; never when start-up failed or a shutdown was asked for meanwhile)."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self.on_listening()
