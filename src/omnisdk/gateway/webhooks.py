"""``POST|GET /webhooks/{plugin}/{account}``: raw body → verify → parse → durable inbox → 2xx.

Answers (JSON errors ``{"error": reason, "detail": text}``):

- 2xx — only after the events are committed (the adapter's acknowledgement body);
- 400 malformed body, 401 bad signature, 404 unknown plugin or account, 413 body too large;
- 503 when the store cannot commit (the provider retries; nothing is lost).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from omnisdk.adapters import WebhookReply, WebhookRequest
from omnisdk.errors import PayloadError, PayloadTooLargeError, UnknownTargetError, WebhookError
from omnisdk.events import now_rfc3339

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

log = logging.getLogger("omnisdk.gateway")


def error_response(status: int, reason: str, detail: str) -> Response:
    return Response(
        orjson.dumps({"error": reason, "detail": detail}), status_code=status, media_type="application/json"
    )


BodyReader = Callable[[int], Awaitable[bytes]]
"""Reads the whole request body, at most ``limit`` bytes.  Raises PayloadTooLargeError,
ClientDisconnect."""

_JSON = "application/json"


def _error(status: int, reason: str, detail: str) -> WebhookReply:
    return WebhookReply(status, _JSON, orjson.dumps({"error": reason, "detail": detail}))


class WebhookEndpoint:
    """The webhook handler bound to a runtime.

    :meth:`asgi` is the hot path for ``POST /webhooks/{plugin}/{account}``: a plain ASGI
    callable that skips the framework's request and response objects (measured: about a third
    of the per-webhook CPU went to them).  :meth:`handle` serves the same logic as a Starlette
    endpoint (GET handshakes, and any POST the fast path does not take).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.public_url = (runtime.settings.gateway.public_url or "").rstrip("/") or None
        self.max_body = runtime.settings.gateway.max_body_bytes

    def _url(self, scope: Scope, headers: dict[str, str]) -> str:
        if self.public_url:
            base = self.public_url
        else:
            base = f"{scope.get('scheme', 'http')}://{headers.get('host') or 'localhost'}"
        qs = scope.get("query_string", b"")
        return base + scope["path"] + ("?" + qs.decode("latin-1") if qs else "")

    async def ingest(self, scope: Scope, plugin: str, account: str, read_body: BodyReader) -> WebhookReply:
        """Verify, parse and durably store one webhook; the reply to send (never raises)."""
        store = self.runtime.store
        method = scope["method"]
        adapter = self.runtime.adapter(plugin, account)
        try:
            if adapter is None:
                raise UnknownTargetError(f"no account {account!r} for plugin {plugin!r}")
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            limit = min(self.max_body, adapter.max_body_bytes)
            declared = headers.get("content-length")
            if declared is not None:
                try:
                    too_big = int(declared) > limit
                except ValueError:
                    raise PayloadError("invalid Content-Length") from None
                if too_big:
                    raise PayloadTooLargeError(f"body exceeds {limit} bytes")
            body = await read_body(limit) if method == "POST" else b""
            received_at = now_rfc3339()
            qs = scope.get("query_string", b"")
            wreq = WebhookRequest(
                method=method,
                url=self._url(scope, headers),
                headers=headers,
                body=body,
                query=dict(parse_qsl(qs.decode("latin-1"), keep_blank_values=True)) if qs else {},
                received_at=received_at,
            )
            if method != "POST":  # GET, and HEAD which Starlette adds to GET routes
                reply = adapter.handshake(wreq)
                return reply if reply is not None else _error(405, "method_not_allowed", "this plugin has no GET handshake")
            adapter.verify(wreq)
            events = adapter.parse(wreq)
        except WebhookError as exc:
            store.count_later(f"rejected.{exc.reason}")
            return _error(exc.status, exc.reason, str(exc))
        except ClientDisconnect:  # the provider hung up mid-body: nobody to answer, nothing stored
            store.count_later("rejected.client_disconnected")
            return _error(400, "client_disconnected", "the body was not received in full")
        except Exception as exc:  # a plugin bug on odd input: refuse, never 500
            log.exception("plugin %s raised %s outside its contract", plugin, type(exc).__name__)
            store.count_later("rejected.plugin_error")
            return _error(400, "plugin_error", f"{plugin} could not process the body")
        try:
            if events:
                await store.append_inbox(events, received_at)
        except TypeError:  # orjson could not serialize the plugin's event data
            log.exception("plugin %s produced event data that is not JSON", plugin)
            store.count_later("rejected.plugin_error")
            return _error(400, "plugin_error", f"{plugin} produced invalid events")
        except Exception:
            log.exception("inbox commit failed")
            return _error(503, "store_unavailable", "try again later")
        try:
            return adapter.acknowledge(events)
        except Exception:  # the events are durable: acknowledge them anyway
            log.exception("plugin %s acknowledge() failed", plugin)
            return WebhookReply()

    async def handle(self, request: Request) -> Response:
        """The Starlette endpoint."""

        async def read(limit: int) -> bytes:
            chunks = bytearray()
            async for chunk in request.stream():
                chunks += chunk
                if len(chunks) > limit:
                    raise PayloadTooLargeError(f"body exceeds {limit} bytes")
            return bytes(chunks)

        p = request.path_params
        reply = await self.ingest(request.scope, p["plugin"], p["account"], read)
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)

    async def asgi(self, scope: Scope, receive: Receive, send: Send, plugin: str, account: str) -> None:
        """The fast path: one POST webhook, straight on the ASGI interface."""

        async def read(limit: int) -> bytes:
            chunks = bytearray()
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnect()
                chunks += message.get("body", b"")
                if len(chunks) > limit:
                    raise PayloadTooLargeError(f"body exceeds {limit} bytes")
                if not message.get("more_body", False):
                    return bytes(chunks)

        reply = await self.ingest(scope, plugin, account, read)
        await send({
            "type": "http.response.start",
            "status": reply.status,
            "headers": [(b"content-type", reply.content_type.encode("latin-1")),
                        (b"content-length", str(len(reply.body)).encode("latin-1"))],
        })
        await send({"type": "http.response.body", "body": reply.body})


def fast_path(endpoint: WebhookEndpoint, app: ASGIApp) -> ASGIApp:
    """``app`` with ``POST /webhooks/{plugin}/{account}`` served by :meth:`WebhookEndpoint.asgi`
    before any routing; everything else (handshakes, the API) goes to ``app``."""

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            parts = scope["path"].split("/")
            if len(parts) == 4 and parts[1] == "webhooks" and parts[2] and parts[3]:
                await endpoint.asgi(scope, receive, send, parts[2], parts[3])
                return
        await app(scope, receive, send)

    return dispatch
