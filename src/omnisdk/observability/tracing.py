"""OpenTelemetry spans around webhook ingest, inbox processing and outbound sends.

Only ``opentelemetry-api`` is needed.  Without an SDK (``pip install 'omnisdk[otel]'``, or
``opentelemetry-sdk`` and an exporter of the operator's choice) the global tracer provider is
the API's proxy, nothing is recorded, and :attr:`Tracing.tracer` is None: the hot paths test
that one attribute and skip every span call (a no-op ``start_as_current_span`` costs about
7 µs, a no-op ``start_span`` 1 µs; the test costs nothing measurable: ``bench/observability.py``).

The provider is looked up when a :class:`Tracing` is made and again at
:meth:`~omnisdk.runtime.Runtime.start` (:meth:`Tracing.resolve`): set it before the runtime
starts (``opentelemetry-instrument`` does, before the application is imported).

Trace context travels in the CloudEvents ``traceparent`` / ``tracestate`` extension
(:mod:`omnisdk.events`), read and written with the W3C propagator
(:class:`~opentelemetry.trace.propagation.tracecontext.TraceContextTextMapPropagator`):

- ingest: a child of the request's ``traceparent`` header when it has a valid one (the events
  keep that header's value, unchanged); otherwise a root span whose context becomes the events'
  ``traceparent``;
- processing: one span per inbox batch, and one per event, a child of the event's
  ``traceparent`` (:func:`event_context`);
- sending: one span per outbox row, a child of the processing span that queued it
  (:class:`SendTraces`: kept in memory, since the outbox table stores no trace context), and
  one per HTTP request the provider client makes (:mod:`omnisdk.outbound.http`), its child.

Names and attributes follow the semantic conventions (``messaging.*``, ``http.*``,
``cloudevents.*``), plus ``omnisdk.plugin``, ``omnisdk.account``, ``omnisdk.interaction_id``.
Never a secret, a message text or a URL query in an attribute.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from importlib import metadata

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider, Span, SpanContext, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from omnisdk.events import Event

TRACER_NAME = "omnisdk"
PROPAGATOR = TraceContextTextMapPropagator()

# attribute names (semantic conventions, and omnisdk's own)
PLUGIN = "omnisdk.plugin"
ACCOUNT = "omnisdk.account"
INTERACTION_ID = "omnisdk.interaction_id"
MESSAGING_SYSTEM = "messaging.system"
MESSAGING_OPERATION_TYPE = "messaging.operation.type"
MESSAGING_OPERATION_NAME = "messaging.operation.name"
MESSAGING_DESTINATION = "messaging.destination.name"
MESSAGING_BATCH_COUNT = "messaging.batch.message_count"
MESSAGING_MESSAGE_ID = "messaging.message.id"
CLOUDEVENTS_ID = "cloudevents.event_id"
CLOUDEVENTS_SOURCE = "cloudevents.event_source"
CLOUDEVENTS_TYPE = "cloudevents.event_type"
CLOUDEVENTS_SPEC_VERSION = "cloudevents.event_spec_version"
ERROR_TYPE = "error.type"
HTTP_METHOD = "http.request.method"
HTTP_ROUTE = "http.route"
HTTP_STATUS = "http.response.status_code"
HTTP_RESEND_COUNT = "http.request.resend_count"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"
URL_SCHEME = "url.scheme"

SYSTEM = "omnisdk"
"""``messaging.system`` of the inbox (the durable queue the gateway writes, the processor reads)."""
INBOX = "inbox"
"""``messaging.destination.name`` of the inbox."""


def _version() -> str | None:
    try:
        return metadata.version("omnisdk")
    except metadata.PackageNotFoundError:  # a source tree without the distribution installed
        return None


class Tracing:
    """The tracer spans are recorded with, or None when none would be (see the module)."""

    __slots__ = ("tracer",)

    def __init__(self) -> None:
        self.tracer: Tracer | None = None
        self.resolve()

    def resolve(self) -> None:
        """Look at the global tracer provider again: a real one (an SDK's) gives a tracer."""
        provider = trace.get_tracer_provider()
        if isinstance(provider, ProxyTracerProvider | NoOpTracerProvider):
            self.tracer = None
        else:
            self.tracer = provider.get_tracer(TRACER_NAME, _version())


def event_context(event: Event) -> Context | None:
    """The parent context an event's ``traceparent`` names, or None (no or invalid one)."""
    if not event.traceparent:
        return None
    carrier = {"traceparent": event.traceparent}
    if event.tracestate:
        carrier["tracestate"] = event.tracestate
    return PROPAGATOR.extract(carrier)


def headers_context(headers: Mapping[str, str]) -> Context:
    """The parent context of an HTTP request's ``traceparent`` header (lower-cased names)."""
    return PROPAGATOR.extract(headers)


def traceparent_of(span: Span) -> tuple[str | None, str | None]:
    """``(traceparent, tracestate)`` naming ``span`` as the parent (tracestate None when empty);
    ``(None, None)`` for a span without a valid context (a no-op tracer's)."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent"), carrier.get("tracestate") or None


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32 hex digits of trace id in a valid ``traceparent``, for the log context."""
    return traceparent[3:35] if traceparent else None


def event_attributes(event: Event) -> dict[str, str]:
    """A processing span's attributes for one event: messaging and CloudEvents conventions and
    ``omnisdk.plugin`` / ``omnisdk.account`` (from a ``/{plugin}/{account}`` source)."""
    attrs = {
        MESSAGING_SYSTEM: SYSTEM, MESSAGING_OPERATION_TYPE: "process", MESSAGING_OPERATION_NAME: "process",
        MESSAGING_DESTINATION: INBOX, MESSAGING_MESSAGE_ID: event.id,
        CLOUDEVENTS_ID: event.id, CLOUDEVENTS_SOURCE: event.source, CLOUDEVENTS_TYPE: event.type,
        CLOUDEVENTS_SPEC_VERSION: event.specversion,
    }
    plugin, _, account = event.source.strip("/").partition("/")
    if plugin and account:
        attrs[PLUGIN], attrs[ACCOUNT] = plugin, account
    return attrs


class SendTraces:
    """The span context of the processing span that queued each outbox row, until it is sent.

    In memory only and bounded (:attr:`limit` rows, the oldest forgotten first): the outbox
    table keeps no trace context, so a row sent after a restart, or queued outside any
    recorded span (an API reply), has a send span without a parent.  Keys are
    ``(interaction_id, idempotency key)`` as the caller gave them; the store may give the
    provider a derived key (``key~<hash>``, when another interaction used ``key`` first),
    which :meth:`get` also finds.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple[str | None, str], SpanContext] = OrderedDict()
        self._lock = threading.Lock()  # queued on the store's writer thread, taken on the loop

    def __len__(self) -> int:
        return len(self._items)

    def remember(self, interaction_id: str | None, key: str, context: SpanContext) -> None:
        with self._lock:
            self._items[(interaction_id, key)] = context
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def _key(self, interaction_id: str | None, key: str) -> tuple[str | None, str]:
        if (interaction_id, key) not in self._items and "~" in key:
            return interaction_id, key.rpartition("~")[0]
        return interaction_id, key

    def get(self, interaction_id: str | None, key: str) -> SpanContext | None:
        """The context remembered for this row (its provider key: see the class), or None; kept
        for the row's later attempts."""
        with self._lock:
            return self._items.get(self._key(interaction_id, key))

    def forget(self, interaction_id: str | None, key: str) -> None:
        """The row was sent or failed for good: no attempt will need its context again."""
        with self._lock:
            self._items.pop(self._key(interaction_id, key), None)


SEND_TRACES = SendTraces()
"""The process's :class:`SendTraces`: :func:`omnisdk.outbound.enqueue.enqueue_text` writes it,
the outbox worker reads it."""


def remember_send(interaction_id: str | None, key: str) -> None:
    """Remember the current span (if recording) as the parent of the send of this row."""
    span = trace.get_current_span()
    if span.is_recording():
        SEND_TRACES.remember(interaction_id, key, span.get_span_context())


__all__ = ["PROPAGATOR", "SEND_TRACES", "SendTraces", "Tracing", "event_attributes", "event_context",
           "headers_context", "remember_send", "trace_id_of", "traceparent_of"]
