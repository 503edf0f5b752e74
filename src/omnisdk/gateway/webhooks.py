"""``POST|GET /webhooks/{plugin}/{account}``: raw body → verify → parse → durable inbox → 2xx.

Answers (JSON errors ``{"error": reason, "detail": text}``):

- 2xx — only after the events are committed (the adapter's acknowledgement body);
- 400 malformed body, 401 bad signature, 404 unknown plugin or account, 413 body too large;
- 503 when the store cannot commit (the provider retries; nothing is lost).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

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


class WebhookEndpoint:
    """The webhook handler bound to a runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.public_url = (runtime.settings.gateway.public_url or "").rstrip("/") or None
        self.max_body = runtime.settings.gateway.max_body_bytes

    def _url(self, request: Request) -> str:
        scope = request.scope
        if self.public_url:
            base = self.public_url
        else:
            host = request.headers.get("host") or "localhost"
            base = f"{scope.get('scheme', 'http')}://{host}"
        qs = scope.get("query_string", b"")
        return base + scope["path"] + ("?" + qs.decode("latin-1") if qs else "")

    async def _body(self, request: Request, limit: int) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    raise PayloadTooLargeError(f"body exceeds {limit} bytes")
            except ValueError:
                raise PayloadError("invalid Content-Length") from None
        chunks = bytearray()
        async for chunk in request.stream():
            chunks += chunk
            if len(chunks) > limit:
                raise PayloadTooLargeError(f"body exceeds {limit} bytes")
        return bytes(chunks)

    async def handle(self, request: Request) -> Response:
        store = self.runtime.store
        plugin = request.path_params["plugin"]
        account = request.path_params["account"]
        adapter = self.runtime.adapter(plugin, account)
        try:
            if adapter is None:
                raise UnknownTargetError(f"no account {account!r} for plugin {plugin!r}")
            limit = min(self.max_body, adapter.max_body_bytes)
            body = await self._body(request, limit) if request.method == "POST" else b""
            received_at = now_rfc3339()
            wreq = WebhookRequest(
                method=request.method,
                url=self._url(request),
                headers={k.decode("latin-1"): v.decode("latin-1") for k, v in request.scope["headers"]},
                body=body,
                query=dict(request.query_params),
                received_at=received_at,
            )
            if request.method != "POST":  # GET, and HEAD which Starlette adds to GET routes
                reply = adapter.handshake(wreq)
                if reply is None:
                    return error_response(405, "method_not_allowed", "this plugin has no GET handshake")
                return Response(reply.body, status_code=reply.status, media_type=reply.content_type)
            adapter.verify(wreq)
            events = adapter.parse(wreq)
        except WebhookError as exc:
            store.count_later(f"rejected.{exc.reason}")
            return error_response(exc.status, exc.reason, str(exc))
        except ClientDisconnect:  # the provider hung up mid-body: nobody to answer, nothing stored
            store.count_later("rejected.client_disconnected")
            return error_response(400, "client_disconnected", "the body was not received in full")
        except Exception as exc:  # a plugin bug on odd input: refuse, never 500
            log.exception("plugin %s raised %s outside its contract", plugin, type(exc).__name__)
            store.count_later("rejected.plugin_error")
            return error_response(400, "plugin_error", f"{plugin} could not process the body")
        try:
            if events:
                await store.append_inbox(events, received_at)
        except TypeError:  # orjson could not serialize the plugin's event data
            log.exception("plugin %s produced event data that is not JSON", plugin)
            store.count_later("rejected.plugin_error")
            return error_response(400, "plugin_error", f"{plugin} produced invalid events")
        except Exception:
            log.exception("inbox commit failed")
            return error_response(503, "store_unavailable", "try again later")
        try:
            reply = adapter.acknowledge(events)
        except Exception:  # the events are durable: acknowledge them anyway
            log.exception("plugin %s acknowledge() failed", plugin)
            reply = WebhookReply()
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type)
