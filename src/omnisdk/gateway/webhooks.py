"""``POST|GET /webhooks/{plugin}/{account}``: raw body → verify → parse → durable inbox → 2xx.

Answers (JSON errors ``{"error": reason, "detail": text}``; ``reason`` is always one of
:data:`omnisdk.errors.WEBHOOK_REASONS`: a plugin's error with another ``reason`` answers its
class's generic code, :attr:`omnisdk.errors.WebhookError.public_reason`, and the plugin's own
text goes to the log only):

- 2xx — only after the events are committed (the adapter's acknowledgement body);
- 400 malformed body, 401 bad signature, 403 an event names a business address the account
  does not own (``foreign_business_address``), 404 unknown plugin or account, 405 a method the
  adapter's webhooks do not use, 408 the body did not arrive within ``[gateway] body_timeout``
  seconds (``request_timeout``; the connection is then closed), 413 body too large;
- 503 when the store cannot commit (``store_unavailable``), or when ``[gateway]
  max_concurrent_bodies`` bodies are already arriving (``too_many_bodies``), both with
  ``Retry-After`` (the provider retries; nothing is lost).

Methods: ``POST``; ``GET`` for a provider handshake (:meth:`ChannelAdapter.handshake`), or,
when the adapter lists it in ``webhook_methods``, a GET webhook verified and parsed like a POST
(empty body, parameters in the query: Twilio's GET webhooks).

Every answer to a POST (or GET webhook) is counted in the runtime's metrics
(:class:`omnisdk.metrics.WebhookCounts`: plugin, outcome, reason); refusals are also counted
in the store (``rejected.<reason>``), as before.

Trace context: a valid W3C ``traceparent`` (and ``tracestate``) header of the request is set on
every event parsed from it that has none (:func:`omnisdk.events.trace_context`); an invalid one
is dropped.  When spans are recorded (:mod:`omnisdk.observability.tracing`) each webhook has an
ingest span (verify, parse, commit), a child of that header's context; without a valid header
the span's own context becomes the events' ``traceparent``.

Request ids: every answer carries ``X-Request-ID``, the request's own when it is valid
(:func:`omnisdk.observability.log_context.request_id_from`), else a new one; it, the plugin, the
account and the trace id are bound to the log context while the webhook is handled.  Nothing
is logged on the happy path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from omnisdk.adapters import ChannelAdapter, WebhookReply, WebhookRequest
from omnisdk.errors import (
    GatewayBusyError,
    PayloadError,
    PayloadTooLargeError,
    RequestTimeoutError,
    SignatureError,
    UnknownTargetError,
    WebhookError,
)
from omnisdk.events import now_rfc3339, trace_context
from omnisdk.gateway.deadlines import BodyDeadlines
from omnisdk.inbox.commit import commit_inbox
from omnisdk.metrics import ACCEPTED, DUPLICATE, OTHER_PLUGIN, REJECTED, UNAVAILABLE
from omnisdk.observability import log_context
from omnisdk.observability import tracing as tr
from omnisdk.observability.log_context import REQUEST_ID_HEADER

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

log = logging.getLogger("omnisdk.gateway")


def error_response(status: int, reason: str, detail: str) -> Response:
    return Response(
        orjson.dumps({"error": reason, "detail": detail}), status_code=status, media_type="application/json"
    )


BodyReader = Callable[[int], Awaitable[bytes]]
"""Reads the whole request body, at most ``limit`` bytes.  Raises PayloadTooLargeError,
ClientDisconnect, RequestTimeoutError, GatewayBusyError."""

_JSON = "application/json"
RETRY_AFTER_SECONDS = 1
"""``Retry-After`` of a 503 answer (seconds)."""
_EXTRA_HEADERS: dict[int, list[tuple[bytes, bytes]]] = {
    408: [(b"connection", b"close")],  # the rest of the body may still be on its way
    503: [(b"retry-after", str(RETRY_AFTER_SECONDS).encode("ascii"))],
}
"""Headers an answer with this status also carries."""


SIGNATURE_DETAIL = "the request's signature is missing or does not verify"
"""The detail of every 401: which check failed is logged (``omnisdk.gateway``, INFO), not
answered, so a forger learns nothing from the reply."""


def _error(status: int, reason: str, detail: str) -> WebhookReply:
    return WebhookReply(status, _JSON, orjson.dumps({"error": reason, "detail": detail}))


class WebhookEndpoint:
    """The webhook handler bound to a runtime.

    :meth:`asgi` is the hot path for ``POST /webhooks/{plugin}/{account}``: a plain ASGI
    callable that skips the framework's request and response objects (measured: about a third
    of the per-webhook CPU went to them).  :meth:`handle` serves the same logic as a Starlette
    endpoint (GET handshakes and GET webhooks, and any POST the fast path does not take).

    Attributes:
        body_timeout: seconds a body has to arrive in full (``[gateway] body_timeout``).
        max_concurrent_bodies: read slots for bodies still arriving
            (``[gateway] max_concurrent_bodies``).
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.public_url = (runtime.settings.gateway.public_url or "").rstrip("/") or None
        gateway = runtime.settings.gateway
        self.max_body = gateway.max_body_bytes
        self.body_timeout = gateway.body_timeout
        self.deadlines = BodyDeadlines(gateway.body_timeout)
        self.max_concurrent_bodies = gateway.max_concurrent_bodies
        self.reading = 0
        """Bodies being read now that did not arrive whole with the first chunk."""
        self.counts = runtime.metrics.webhooks
        self.plugins = frozenset(plugin for plugin, _ in runtime.adapters)
        """The configured plugins: the only path segments that become a metrics label."""

    def _refused(self, plugin: str, status: int, reason: str, *, store_too: bool = True) -> None:
        """Count a refusal: in the metrics, and (``store_too``) as ``rejected.<reason>``."""
        if store_too:
            self.runtime.store.count_later(f"rejected.{reason}")
        self.counts.add(plugin if plugin in self.plugins else OTHER_PLUGIN,
                        UNAVAILABLE if status >= 500 else REJECTED, reason)

    async def read_body(self, receive: Receive, limit: int) -> bytes:
        """The whole request body from the ASGI ``receive``, at most ``limit`` bytes, within
        ``body_timeout`` seconds (cut off at most :attr:`BodyDeadlines.tick` seconds later:
        :mod:`omnisdk.gateway.deadlines`).  A body that does not arrive whole in its first
        chunk takes one of ``max_concurrent_bodies`` read slots while the rest arrives (so at
        most that many partial bodies, each up to ``limit`` bytes, are held at once); a body
        that does (most webhooks: head and body in one packet) needs none.

        Raises:
            GatewayBusyError: every read slot is taken (503).
            RequestTimeoutError: the body did not arrive in full within ``body_timeout`` s (408).
            PayloadTooLargeError: more than ``limit`` bytes (413).
            ClientDisconnect: the client hung up before the end of the body.
        """
        task = self.deadlines.begin()
        try:
            return await self._read(receive, limit)
        except asyncio.CancelledError:
            if self.deadlines.cut_off(task):
                raise RequestTimeoutError(
                    f"the body did not arrive within {self.body_timeout:g} s") from None
            raise
        finally:
            self.deadlines.end(task)

    async def _read(self, receive: Receive, limit: int) -> bytes:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        first = message.get("body", b"")
        if len(first) > limit:
            raise PayloadTooLargeError(f"body exceeds {limit} bytes")
        if not message.get("more_body", False):
            return first
        if self.reading >= self.max_concurrent_bodies:
            raise GatewayBusyError(
                f"{self.max_concurrent_bodies} webhook bodies are arriving; retry later")
        self.reading += 1
        try:
            return await self._rest(receive, bytearray(first), limit)
        finally:
            self.reading -= 1

    @staticmethod
    async def _rest(receive: Receive, chunks: bytearray, limit: int) -> bytes:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunks += message.get("body", b"")
            if len(chunks) > limit:
                raise PayloadTooLargeError(f"body exceeds {limit} bytes")
            if not message.get("more_body", False):
                return bytes(chunks)

    def _url(self, scope: Scope, headers: dict[str, str]) -> str:
        if self.public_url:
            base = self.public_url
        else:
            base = f"{scope.get('scheme', 'http')}://{headers.get('host') or 'localhost'}"
        qs = scope.get("query_string", b"")
        return base + scope["path"] + ("?" + qs.decode("latin-1") if qs else "")

    async def ingest(self, scope: Scope, plugin: str, account: str, read_body: BodyReader) -> WebhookReply:
        """Verify, parse and durably store one webhook; the reply to send (never raises)."""
        return (await self.answer(scope, plugin, account, read_body))[0]

    async def answer(self, scope: Scope, plugin: str, account: str,
                     read_body: BodyReader) -> tuple[WebhookReply, str]:
        """:meth:`ingest`, and the request id to answer with (``X-Request-ID``).

        The request id (the request's own when valid, else a new one), the plugin and account
        (when configured) and the trace id are bound to the log context meanwhile; with a
        recording tracer the work is one ingest span."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        adapter = self.runtime.adapter(plugin, account)
        given = headers.get(REQUEST_ID_HEADER)
        request_id = log_context.request_id_from(given) if given is not None else log_context.new_request_id()
        traced = trace_context(headers) if "traceparent" in headers else _UNTRACED
        tracer = self.runtime.tracing.tracer
        if tracer is not None:
            return await self._traced(tracer, scope, plugin, account, adapter, headers, read_body, traced,
                                      request_id), request_id
        fields = {"request_id": request_id}  # the hot path without an SDK: no span call at all
        if adapter is not None:
            fields["plugin"], fields["account"] = plugin, account
        if traced[0] is not None:
            fields["trace_id"] = traced[0][3:35]
        token = log_context.bind_fields(fields)
        try:
            return await self._ingest(scope, plugin, account, adapter, headers, read_body, traced), request_id
        finally:
            log_context.unbind(token)

    async def _traced(self, tracer: trace.Tracer, scope: Scope, plugin: str, account: str,
                      adapter: ChannelAdapter | None, headers: dict[str, str], read_body: BodyReader,
                      traced: tuple[str | None, str | None], request_id: str) -> WebhookReply:
        attributes: dict[str, str | int] = {tr.HTTP_METHOD: scope["method"], tr.HTTP_ROUTE: _ROUTE,
                                            tr.URL_SCHEME: scope.get("scheme", "http")}
        if adapter is not None:
            attributes[tr.PLUGIN], attributes[tr.ACCOUNT] = plugin, account
        parent = tr.headers_context(headers) if traced[0] is not None else None
        span = tracer.start_span(f"{scope['method']} {_ROUTE}", context=parent, kind=SpanKind.SERVER,
                                 attributes=attributes)
        if traced[0] is None:  # no caller's context: the events carry this span's
            traced = tr.traceparent_of(span)
        token = log_context.bind(request_id=request_id, plugin=plugin if adapter else None,
                                 account=account if adapter else None, trace_id=tr.trace_id_of(traced[0]))
        attached = otel_context.attach(trace.set_span_in_context(span))
        try:
            reply = await self._ingest(scope, plugin, account, adapter, headers, read_body, traced, span)
            span.set_attribute(tr.HTTP_STATUS, reply.status)
            if reply.status >= 400:
                reason = _reason(reply)
                span.set_attribute(tr.ERROR_TYPE, reason or str(reply.status))
                if reply.status >= 500:
                    span.set_status(Status(StatusCode.ERROR, reason))
            return reply
        finally:
            otel_context.detach(attached)
            log_context.unbind(token)
            span.end()

    async def _ingest(self, scope: Scope, plugin: str, account: str, adapter: ChannelAdapter | None,
                      headers: dict[str, str], read_body: BodyReader, traced: tuple[str | None, str | None],
                      span: trace.Span | None = None) -> WebhookReply:
        store = self.runtime.store
        method = scope["method"]
        try:
            if adapter is None:
                raise UnknownTargetError(f"no account {account!r} for plugin {plugin!r}")
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
                if reply is not None:
                    return reply
                if method not in adapter.webhook_methods:
                    self._refused(plugin, 405, "method_not_allowed", store_too=False)
                    return _error(405, "method_not_allowed",
                                  f"{plugin} webhooks use {', '.join(sorted(adapter.webhook_methods))}")
            adapter.verify(wreq)
            events = adapter.parse(wreq)
            if events and traced[0] is not None:
                traceparent, tracestate = traced
                events = [e if e.traceparent else e.with_(traceparent=traceparent, tracestate=tracestate)
                          for e in events]
            if span is not None:
                span.set_attribute(tr.MESSAGING_BATCH_COUNT, len(events))
        except SignatureError as exc:  # the why goes to the operator's log, never to the sender
            reason = exc.public_reason  # a fixed vocabulary: the plugin's own text stays here
            self._refused(plugin, exc.status, reason)
            log.info("webhook %s/%s refused (%s, plugin reason %.60r): %s", plugin, account, reason,
                     exc.reason, exc)
            return _error(exc.status, reason, SIGNATURE_DETAIL)
        except WebhookError as exc:
            self._refused(plugin, exc.status, exc.public_reason)
            return _error(exc.status, exc.public_reason, str(exc))
        except ClientDisconnect:  # the provider hung up mid-body: nobody to answer, nothing stored
            self._refused(plugin, 400, "client_disconnected")
            return _error(400, "client_disconnected", "the body was not received in full")
        except Exception as exc:  # a plugin bug on odd input: refuse, never 500
            log.exception("plugin %s raised %s outside its contract", plugin, type(exc).__name__)
            self._refused(plugin, 400, "plugin_error")
            return _error(400, "plugin_error", f"{plugin} could not process the body")
        try:  # the commit step the pull-based transports share (omnisdk.inbox.transports)
            stored = await commit_inbox(store, adapter, events, received_at)
        except WebhookError as exc:  # 403: a body may not act for another account; nothing stored
            self._refused(plugin, exc.status, exc.public_reason)
            return _error(exc.status, exc.public_reason, str(exc))
        except TypeError:  # orjson could not serialize the plugin's event data
            log.exception("plugin %s produced event data that is not JSON", plugin)
            self._refused(plugin, 400, "plugin_error")
            return _error(400, "plugin_error", f"{plugin} produced invalid events")
        except Exception:
            log.exception("inbox commit failed")
            self._refused(plugin, 503, "store_unavailable", store_too=False)
            return _error(503, "store_unavailable", "try again later")
        self.counts.add(plugin, DUPLICATE if stored.duplicates and not stored.accepted else ACCEPTED)
        try:
            return adapter.acknowledge(events)
        except Exception:  # the events are durable: acknowledge them anyway
            log.exception("plugin %s acknowledge() failed", plugin)
            return WebhookReply()

    async def handle(self, request: Request) -> Response:
        """The Starlette endpoint."""

        async def read(limit: int) -> bytes:
            return await self.read_body(request.receive, limit)

        p = request.path_params
        reply, request_id = await self.answer(request.scope, p["plugin"], p["account"], read)
        extra = {k.decode("latin-1"): v.decode("latin-1") for k, v in _EXTRA_HEADERS.get(reply.status, ())}
        extra["x-request-id"] = request_id
        return Response(reply.body, status_code=reply.status, media_type=reply.content_type, headers=extra)

    async def asgi(self, scope: Scope, receive: Receive, send: Send, plugin: str, account: str) -> None:
        """The fast path: one POST webhook, straight on the ASGI interface."""

        async def read(limit: int) -> bytes:
            return await self.read_body(receive, limit)

        reply, request_id = await self.answer(scope, plugin, account, read)
        headers = [(b"content-type", reply.content_type.encode("latin-1")),
                   (b"content-length", str(len(reply.body)).encode("latin-1")),
                   (b"x-request-id", request_id.encode("ascii"))]
        extra = _EXTRA_HEADERS.get(reply.status)
        if extra:
            headers += extra
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


_UNTRACED: tuple[None, None] = (None, None)
_ROUTE = "/webhooks/{plugin}/{account}"
"""``http.route`` of the ingest span (and its name after the method)."""


def _reason(reply: WebhookReply) -> str | None:
    """The ``error`` code of a JSON refusal, for the span (None when it has none)."""
    try:
        reason = orjson.loads(reply.body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return reason if isinstance(reason, str) else None


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
