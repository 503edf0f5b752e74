"""``X-Request-ID`` on every API answer: a tiny pure-ASGI middleware.

The request's own ``X-Request-ID`` is kept when valid
(:func:`omnisdk.observability.log_context.request_id_from`: 1-128 letters, digits and
``._:=+/@-``), else a new one is made; it is bound to the log context while the request is
handled (every record logged meanwhile carries ``request_id``), put in ``scope["state"]``
(``request.state.request_id``), and set on the answer, replacing any ``X-Request-ID`` the
application set.  Pure ASGI, so streamed answers (the live feed) pass through untouched, and
no framework request object is made.

The webhook fast path does the same itself (:mod:`omnisdk.gateway.webhooks`), without this
middleware.  Mount it on the API app with ``app.add_middleware(RequestIdMiddleware)``.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnisdk.observability import log_context

HEADER = b"x-request-id"


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The valid ``X-Request-ID`` among raw ASGI headers (names lower-cased), else a new id."""
    for name, value in headers:
        if name == HEADER:
            return log_context.request_id_from(value.decode("latin-1"))
    return log_context.new_request_id()


class RequestIdMiddleware:
    """See the module.  HTTP requests only; lifespan and websocket scopes pass unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        scope.setdefault("state", {})["request_id"] = request_id
        raw = request_id.encode("ascii")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
                headers.append((HEADER, raw))
                message = {**message, "headers": headers}
            await send(message)

        token = log_context.bind(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log_context.unbind(token)


__all__ = ["HEADER", "RequestIdMiddleware", "request_id_of"]
