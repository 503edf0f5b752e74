"""The chat's routes, mounted by the gateway at ``/chat/{account}`` (wire format v1,
``docs/webchat.md``).

Visitor side (no credentials but the session):

- ``GET  /widget.js`` — the widget; ``GET /`` a sample page embedding it;
- ``POST /session`` — ``{"token"?: <previous session token>, "identity"?: <portal JWT>}`` →
  ``{"v": 1, "token", "session", "frame_key", "expires_at"}``; an unexpired token keeps its
  session (the same conversation);
- ``WS   /socket`` — first message ``{"type": "hello", "token", "after": <seq>}``, then signed
  frames (:mod:`omnisdk_webchat.protocol`); the server sends ``welcome``, ``ack`` (once the
  frame is durable), ``error``, and the mailbox's frames (``message``, ``typing``);
- ``POST /frames`` — one signed frame (the long-poll fallback's send): ``202`` once durable;
- ``GET  /poll?after=<seq>`` — ``Authorization: Bearer <session token>``; waits up to
  ``poll_timeout`` s for frames after ``seq``: ``{"frames": [...], "seq": <last>}``.

Core side (``Authorization: Bearer <delivery_token>``): ``POST /v1/messages`` (the outbox's
deliveries, :mod:`omnisdk_webchat.outbound`), ``POST /v1/typing`` (``{"session", "state"}``),
``GET /v1/sessions/{session}`` (``{"connected", "typing", "seq"}``).

Errors: HTTP 400 (malformed), 401 (token, signature), 403 (origin; a receipt of another
session's message, ``foreign_message``), 413 (too large), 422 (attachment refused), 429 (rate;
more open connections from one address than ``sockets_per_address``), 503 (store or scanner
unavailable; the visitor holds ``max_pending`` unacknowledged messages), each ``{"error":
<reason>}``; on the socket an ``error`` frame, and for what ends the session a close code
(:mod:`omnisdk_webchat.protocol`: 4400, 4401, 4403, 4408, 4413, 4429, 4503, 1008).  Every
refusal is counted (:meth:`omnisdk.adapters.RouteContext.refused`).

A socket whose visitor does not take a frame within :data:`SEND_TIMEOUT` seconds is closed with
4408: the frames stay in the hub until acknowledged (:mod:`omnisdk_webchat.hub`), so the visitor
reconnecting with ``after`` gets every one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from omnisdk import payloads
from omnisdk.adapters import RouteContext, WebhookRequest, secret_value
from omnisdk.errors import PayloadError, SignatureError, WebhookError
from omnisdk.events import TYPE_MESSAGE_STATUS, Event, now_rfc3339
from omnisdk.gateway.browser_safety import page_csp
from omnisdk_webchat import protocol, scanning, sessions
from omnisdk_webchat.hub import Hub, MailboxFull
from omnisdk_webchat.page import sample_page
from omnisdk_webchat.protocol import SESSION_ID
from omnisdk_webchat.settings import socket_message_limit

if TYPE_CHECKING:
    from omnisdk_webchat.adapter import WebchatAdapter

log = logging.getLogger("omnisdk.webchat")
STATIC = Path(__file__).parent / "static"
HELLO_TIMEOUT = 10.0
RATE_PERIOD = 10.0
"""Frames a visitor may send: ``rate_limit`` (default 30) per this many seconds (a token
bucket), then 429 / close 4429."""
SEND_TIMEOUT = 10.0
"""Seconds a frame to the visitor may wait for its socket to take it; then the socket is closed
with 4408 (the visitor reconnects with ``after`` and misses nothing)."""


def _error(status: int, reason: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status, headers=headers or None)


class BodyTooLarge(Exception):
    """A request body above its route's limit (answered 413; nothing past the limit is read)."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes, read chunk by chunk: a ``Content-Length``
    above the limit is refused before reading, and a chunked body as soon as it passes it, so
    an unauthenticated client can never make the gateway hold more than ``limit`` bytes.

    Raises:
        BodyTooLarge: the body is (or says it is) longer than ``limit``.
        PayloadError: a ``Content-Length`` that is not a number.
    """
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise PayloadError("webchat: Content-Length is not a number")
        if int(length) > limit:
            raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class Bucket:
    """A token bucket: ``capacity`` frames, refilled over ``period`` seconds."""

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity, self.rate = capacity, capacity / period
        self.tokens, self.at = float(capacity), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Buckets:
    """Token buckets by key (a session, a client address), the least recently used forgotten
    past ``size``: a flood of new keys evicts old ones one at a time, never everyone's."""

    def __init__(self, capacity: int, period: float, size: int) -> None:
        self.capacity, self.period, self.size = capacity, period, size
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def take(self, key: str) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(self.capacity, self.period)
            while len(self._buckets) > self.size:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()


class Connections:
    """Open chat connections (sockets, waiting polls) by client address, at most ``limit`` each."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: dict[str, int] = {}

    def take(self, address: str) -> bool:
        n = self.open.get(address, 0)
        if n >= self.limit:
            return False
        self.open[address] = n + 1
        return True

    def give(self, address: str) -> None:
        n = self.open.get(address, 0) - 1
        if n > 0:
            self.open[address] = n
        else:
            self.open.pop(address, None)


class Frames:
    """Checks, commits and answers visitors' frames: the one path both transports share."""

    def __init__(self, adapter: WebchatAdapter, context: RouteContext, hub: Hub) -> None:
        self.adapter, self.context, self.hub = adapter, context, hub
        self.scanner = scanning.load(adapter.settings.virus_scan)
        self.buckets = Buckets(adapter.settings.rate_limit, RATE_PERIOD, adapter.settings.max_sessions)

    def allowed(self, sid: str) -> bool:
        return self.buckets.take(sid)

    async def accept(self, url: str, token: str, signature: str, body: bytes) -> dict[str, Any]:
        """Verify, parse, scan and commit one frame; the answer for the visitor.

        Raises:
            WebhookError: SignatureError (401), PayloadError (400), or the commit's refusal.
            scanning.ScanRefused, scanning.ScanUnavailable: from the virus scan.
            RateLimited: above ``rate_limit`` frames per :data:`RATE_PERIOD`.
            Exception: the store could not commit (nothing stored).
        """
        request = WebhookRequest("POST", url, {"authorization": f"Bearer {token}",
                                               protocol.SIGNATURE_HEADER.lower(): signature},
                                 body, received_at=now_rfc3339())
        self.adapter.verify(request)
        session = self.adapter.session_of(request)
        if not self.allowed(session.sid):
            raise RateLimited()
        events = self.adapter.parse(request)
        doc = orjson.loads(body)
        if doc.get("type") == "typing":
            self.hub.typing(session.sid, "visitor", doc.get("state") == "on")
            return {"v": 1, "type": "ack", "id": None, "events": 0}
        await scanning.check(self.scanner, events)
        await self.context.deliver(events, request.received_at)  # durable before the ack
        for event in events:
            self._echo(session.sid, event)
            if event.type == TYPE_MESSAGE_STATUS:  # the visitor has that agent message
                self.hub.receipt(session.sid, (event.data or {}).get("message_id", ""))
        return {"v": 1, "type": "ack", "id": doc.get("id"), "events": len(events)}

    def _echo(self, sid: str, event: Event) -> None:
        data = event.data or {}
        if event.type != "io.omnisdk.message.received":
            return
        self.hub.box(sid).push({
            "v": 1, "type": "message", "id": event.id, "direction": "inbound", "text": data.get("text"),
            "attachments": [{"filename": a.get("filename"), "mime_type": a.get("mime_type"), "size": a.get("size")}
                            for a in data.get("attachments") or ()],
            "at": event.time})


class RateLimited(Exception):
    """More frames than ``rate_limit`` per :data:`RATE_PERIOD`."""


def _refusal(exc: BaseException) -> tuple[int, str, int]:
    """``(HTTP status, reason, close code)`` for a refused frame (a ``WebhookError``'s own status:
    403 ``foreign_message`` for a receipt of another session's message)."""
    if isinstance(exc, SignatureError):
        return 401, exc.reason, protocol.CLOSE_BAD_TOKEN
    if isinstance(exc, PayloadError) and exc.status == 400:
        return (413 if "above the limit" in str(exc) else 400), exc.reason, protocol.CLOSE_BAD_FRAME
    if isinstance(exc, WebhookError):
        return exc.status, exc.public_reason, protocol.CLOSE_BAD_FRAME
    if isinstance(exc, scanning.ScanRefused):
        return 422, "attachment_refused", protocol.CLOSE_BAD_FRAME
    if isinstance(exc, RateLimited):
        return 429, "rate_limited", protocol.CLOSE_RATE_LIMITED
    return 503, "unavailable", protocol.CLOSE_UNAVAILABLE


def build(adapter: WebchatAdapter, context: RouteContext) -> list[Any]:
    """The routes of one account (see the module docstring)."""
    settings = adapter.settings
    secret = secret_value(settings.session_secret)
    hub = Hub(secret, max_sessions=settings.max_sessions, max_pending=settings.max_pending)
    frames = Frames(adapter, context, hub)
    delivery_token = secret_value(settings.delivery_token)
    connections = Connections(settings.sockets_per_address)

    def refused(status: int, reason: str) -> JSONResponse:
        context.refused(reason, status)
        return _error(status, reason, **({"Retry-After": "5"} if status in (429, 503) else {}))

    def session_answer(token: str, session: sessions.Session) -> JSONResponse:
        key = protocol.encode_key(protocol.frame_key(secret, session.sid))
        return JSONResponse({"v": 1, "token": token, "session": session.sid, "frame_key": key,
                             "expires_at": session.exp, "identified": session.identified,
                             "name": session.name}, headers={"Cache-Control": "no-store"})

    async def body_json(request: Request, limit: int = 16_384) -> Any:
        try:
            body = await read_body(request, limit)
        except BodyTooLarge:
            raise PayloadError("webchat: body above the limit") from None
        return payloads.loads(body) if body else {}

    opened = Buckets(settings.sessions_per_minute, 60.0, 100_000)  # new sessions per client address

    async def new_session(request: Request) -> Response:
        if not opened.take(address(request)):
            context.refused("rate_limited", 429)
            return _error(429, "rate_limited", **{"Retry-After": "10"})
        try:
            doc = await body_json(request)
            if type(doc) is not dict:
                raise PayloadError("webchat: the body is a JSON object")
            now = int(time.time())
            token, identity = doc.get("token"), doc.get("identity")
            if identity is not None:
                if type(identity) is not str or len(identity) > 8192:
                    raise PayloadError("webchat: identity is a JWT string")
                sid, name, email = sessions.identify(settings, identity, now)
                token, session = sessions.issue(settings, adapter.account, now, sid=sid, name=name, email=email)
                return session_answer(token, session)
            if token is not None:
                if type(token) is not str or len(token) > 4096:
                    raise PayloadError("webchat: token is a string")
                session = sessions.check(settings, adapter.account, token, now)
                return session_answer(token, session)  # the same session: the conversation goes on
            token, session = sessions.issue(settings, adapter.account, now)
            return session_answer(token, session)
        except SignatureError as exc:
            return refused(401, exc.reason)
        except PayloadError as exc:
            return refused(400, exc.reason)

    def bearer(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        return auth[7:] if auth.startswith("Bearer ") else None

    async def post_frame(request: Request) -> Response:
        try:
            body = await read_body(request, settings.max_frame_bytes)
        except BodyTooLarge:
            return refused(413, "payload_too_large")
        except PayloadError:
            return refused(400, "bad_request")
        token, signature = bearer(request), request.headers.get(protocol.SIGNATURE_HEADER, "")
        if token is None:
            return refused(401, "bad_signature")
        try:
            answer = await frames.accept(str(request.url), token, signature, body)
        except Exception as exc:
            status, reason, _ = _refusal(exc)
            if status == 503:
                log.warning("webchat frame not committed: %s", type(exc).__name__)
            return refused(status, reason)
        return JSONResponse(answer, 202)

    async def poll(request: Request) -> Response:
        token = bearer(request)
        try:
            if token is None:
                raise SignatureError("webchat: missing session token")
            session = sessions.check(settings, adapter.account, token, time.time())
            after = int(request.query_params.get("after", "0"))
            if after < 0:
                raise ValueError
        except SignatureError as exc:
            return refused(401, exc.reason)
        except ValueError:
            return refused(400, "bad_request")
        hub.acknowledge(session.sid, after)  # the visitor has everything up to after
        client = address(request)
        if not connections.take(client):
            return refused(429, "too_many_connections")
        try:
            out = await hub.wait(session.sid, after, settings.poll_timeout)
        finally:
            connections.give(client)
        return JSONResponse({"frames": out, "seq": hub.box(session.sid).seq}, headers={"Cache-Control": "no-store"})

    async def socket(ws: WebSocket) -> None:
        client = address(ws)
        if not connections.take(client):
            await ws.accept()
            context.refused("too_many_connections", 429)
            await ws.close(protocol.CLOSE_POLICY, "too many chat connections from this address")
            return
        try:
            await _socket(ws)
        finally:
            connections.give(client)

    async def _socket(ws: WebSocket) -> None:
        origin = ws.headers.get("origin")
        await ws.accept()  # then close with a typed code (a refusal before accept is a bare HTTP 403)
        if settings.allowed_origins and origin not in settings.allowed_origins:
            context.refused("forbidden_origin", 403)
            await ws.close(protocol.CLOSE_FORBIDDEN_ORIGIN)
            return
        try:
            hello = await asyncio.wait_for(ws.receive_text(), HELLO_TIMEOUT)
            if len(hello) > 8192:
                await ws.close(protocol.CLOSE_TOO_LARGE)
                return
            doc = payloads.loads(hello.encode())
            if type(doc) is not dict or doc.get("type") != "hello" or type(doc.get("token")) is not str:
                raise PayloadError("webchat: the first message is a hello")
            after = doc.get("after", 0)
            if type(after) is not int or after < 0:
                raise PayloadError("webchat: after is a sequence number")
            token = doc["token"]
            session = sessions.check(settings, adapter.account, token, time.time())
        except SignatureError:
            context.refused("bad_signature", 401)
            await ws.close(protocol.CLOSE_BAD_TOKEN)
            return
        except (PayloadError, TimeoutError, KeyError, UnicodeDecodeError):
            context.refused("bad_request", 400)
            await ws.close(protocol.CLOSE_BAD_FRAME)
            return
        except WebSocketDisconnect:
            return
        hub.acknowledge(session.sid, after)  # the visitor has everything up to after
        box = hub.box(session.sid)
        box.sockets += 1
        await ws.send_json({"v": 1, "type": "welcome", "session": session.sid, "seq": box.seq})
        pusher = asyncio.create_task(_push(ws, hub, session.sid, after))
        try:
            await _receive(ws, frames, token, settings.max_frame_bytes, context)
        finally:
            box.sockets -= 1
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pusher

    def core_only(request: Request) -> bool:
        given = bearer(request) or ""
        return hmac.compare_digest(given.encode(), delivery_token.encode())

    async def deliver(request: Request) -> Response:
        if not core_only(request):
            return _error(401, "bad_token")
        key = request.headers.get("idempotency-key", "")
        if not 0 < len(key) <= 200:
            return _error(400, "idempotency_key_required")
        try:
            doc = await body_json(request, 65_536)
            if type(doc) is not dict or doc.get("v") != 1:
                raise PayloadError("webchat: a v1 delivery")
            sid, text, media = doc.get("session"), doc.get("text"), doc.get("media") or []
            if type(sid) is not str or not SESSION_ID.fullmatch(sid):
                raise PayloadError("webchat: session")
            if (text is not None and type(text) is not str) or type(media) is not list or not (text or media):
                raise PayloadError("webchat: text or media")
        except PayloadError as exc:
            return _error(400, exc.reason)
        try:
            mid, _new = hub.deliver(sid, key, {
                "v": 1, "type": "message", "direction": "outbound", "text": text, "at": now_rfc3339(),
                "media": [m for m in media if isinstance(m, dict)], "interaction_id": doc.get("interaction_id")})
        except MailboxFull:  # kept by the outbox (its row is in the store), which retries
            return refused(503, "mailbox_full")
        return JSONResponse({"id": mid}, 201)

    async def agent_typing(request: Request) -> Response:
        if not core_only(request):
            return _error(401, "bad_token")
        try:
            doc = await body_json(request)
            sid, state = doc.get("session"), doc.get("state")
            if type(sid) is not str or not SESSION_ID.fullmatch(sid) or state not in ("on", "off"):
                raise PayloadError("webchat: session and state")
        except (PayloadError, AttributeError):
            return _error(400, "bad_request")
        hub.typing(sid, "agent", state == "on")
        return Response(status_code=204)

    async def session_state(request: Request) -> Response:
        if not core_only(request):
            return _error(401, "bad_token")
        sid = request.path_params["sid"]
        box = hub.boxes.get(sid)
        return JSONResponse({"connected": box.sockets if box else 0, "typing": hub.visitor_typing(sid),
                             "seq": box.seq if box else 0})

    async def widget(request: Request) -> Response:
        return FileResponse(STATIC / "widget.js", media_type="application/javascript",
                            headers={"Cache-Control": "public, max-age=300"})

    async def page(request: Request) -> Response:
        host = request.headers.get("host", "")
        sockets = ("wss://" if request.url.scheme == "https" else "ws://") + host
        try:  # the page's own socket, for browsers whose 'self' does not cover ws(s)
            csp = page_csp(connect=[sockets], frame_ancestors=settings.frame_ancestors, inline_styles=True)
        except ValueError:  # a Host that is no host name: 'self' alone
            csp = page_csp(frame_ancestors=settings.frame_ancestors, inline_styles=True)
        return HTMLResponse(sample_page(adapter.account), headers={"Content-Security-Policy": csp})

    def address(conn: Request | WebSocket) -> str:
        """The client's address (the proxy's, unless ``[gateway] trusted_proxies`` names it)."""
        return conn.client.host if conn.client else "?"

    return [
        Route("/", page, methods=["GET"]),
        Route("/widget.js", widget, methods=["GET"]),
        Route("/session", new_session, methods=["POST"]),
        Route("/frames", post_frame, methods=["POST"]),
        Route("/poll", poll, methods=["GET"]),
        WebSocketRoute("/socket", socket),
        Route("/v1/messages", deliver, methods=["POST"]),
        Route("/v1/typing", agent_typing, methods=["POST"]),
        Route("/v1/sessions/{sid}", session_state, methods=["GET"]),
    ]


async def _push(ws: WebSocket, hub: Hub, sid: str, after: int) -> None:
    """Send the mailbox's frames after ``after`` to the socket, as they come; a frame the socket
    does not take within :data:`SEND_TIMEOUT` seconds closes it with 4408 (nothing is lost: the
    hub keeps what the visitor has not acknowledged)."""
    seq = after
    while ws.application_state == WebSocketState.CONNECTED:
        out = await hub.wait(sid, seq, 30.0)
        for frame in out:
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    await ws.send_json(frame)
            except TimeoutError:
                log.info("webchat: a visitor's socket is too slow, closed (4408)")
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1.0):
                        await ws.close(protocol.CLOSE_TOO_SLOW)
                return
            seq = frame["seq"]


async def _receive(ws: WebSocket, frames: Frames, token: str, max_frame_bytes: int, context: RouteContext) -> None:
    """Read signed frames until the visitor leaves; answer each with ``ack`` or ``error``."""
    url = str(ws.url)
    while True:
        try:
            message = await ws.receive()
        except WebSocketDisconnect:
            return
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            context.refused("bad_request", 400)
            await ws.close(protocol.CLOSE_BAD_FRAME)
            return
        if len(text) > socket_message_limit(max_frame_bytes):  # the frame, escaped in its envelope
            context.refused("payload_too_large", 413)
            await ws.close(protocol.CLOSE_TOO_LARGE)
            return
        try:
            envelope = payloads.loads(text.encode())
            if type(envelope) is not dict or type(envelope.get("frame")) is not str \
                    or type(envelope.get("signature")) is not str:
                raise PayloadError("webchat: a message is {\"signature\", \"frame\"}")
            answer = await frames.accept(url, token, envelope["signature"], envelope["frame"].encode())
        except Exception as exc:
            status, reason, code = _refusal(exc)
            if status == 503:
                log.warning("webchat frame not committed: %s", type(exc).__name__)
            context.refused(reason, status)
            await ws.send_json({"v": 1, "type": "error", "status": status, "error": reason})
            if status in (401, 413, 429):
                await ws.close(protocol.CLOSE_TOO_LARGE if status == 413 else code)
                return
            continue
        await ws.send_json(answer)
