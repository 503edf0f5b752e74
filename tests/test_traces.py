"""OpenTelemetry spans: ingest → processing → outbound send, linked through the CloudEvents
``traceparent``, exported in memory by the SDK (the provider is set for this module only)."""

from __future__ import annotations

import itertools

import httpx
import orjson
import pytest
import respx
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import ProxyTracerProvider, SpanKind, StatusCode
from opentelemetry.util._once import Once
from sample_wire import SECRET, make_settings, msg, sample_body, sample_signature

from omnisdk.gateway import create_app
from omnisdk.observability.tracing import SendTraces, Tracing

URL = "/webhooks/sample/acme"
INGEST, BATCH, PROCESS, SEND, HTTP = "POST /webhooks/{plugin}/{account}", "omnisdk.inbox.batch", "process inbox", \
    "send sample", "POST"
TEXT = "my card is 4111 1111 1111 1111"
TRACE_ID, PARENT_ID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture(scope="module", autouse=True)
def exporter():
    """An SDK provider as the global one while this module runs (the API allows one per
    process: the reset is what opentelemetry's own test utilities do)."""
    assert isinstance(trace.get_tracer_provider(), ProxyTracerProvider)
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    trace.set_tracer_provider(provider)
    yield memory
    provider.shutdown()
    trace._TRACER_PROVIDER = None  # back to the proxy: the rest of the suite records nothing
    trace._TRACER_PROVIDER_SET_ONCE = Once()


@pytest.fixture(autouse=True)
def spans(exporter):
    exporter.clear()
    yield exporter
    exporter.clear()


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, queues=[{"name": "support"}], agents=[{"id": "alice", "capacity": {"chat": 2}}],
                         acknowledgement="Thanks, we are on it")


@pytest.fixture
async def client(runtime):
    await runtime.outbox.stop()  # the tests send with run_once, not the background worker
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime, manage_runtime=False)),
                                 base_url="http://127.0.0.1") as c:
        yield c


@pytest.fixture
def provider():
    ids = itertools.count(1)
    with respx.mock(assert_all_called=False) as mock:
        yield mock.post("https://sample.test/messages").mock(
            side_effect=lambda request: httpx.Response(200, json={"id": f"out-{next(ids)}"}))


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {"x-sample-signature": sample_signature(body), "content-type": "application/json", **extra}


def by_name(spans) -> dict[str, list]:
    out: dict[str, list] = {}
    for span in spans.get_finished_spans():
        out.setdefault(span.name, []).append(span)
    return out


async def one_message_through(client, runtime, provider, **headers: str):
    body = sample_body([msg(1, text=TEXT)])
    assert (await client.post(URL, content=body, headers=signed(body, **headers))).status_code == 200
    await runtime.processor.drain()
    assert await runtime.outbox.run_once() == 1 and provider.call_count == 1  # the acknowledgement
    row = await runtime.store.transact(lambda tx: tx.c.execute("SELECT body FROM inbox").fetchone())
    return orjson.loads(row[0])


def hex_ids(span) -> tuple[str, str]:
    return f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"


async def test_ingest_processing_and_send_are_one_trace_of_parents_and_children(client, runtime, provider, spans):
    stored = await one_message_through(client, runtime, provider)
    named = by_name(spans)
    [ingest], [batch], [process], [send], [http] = (named[n] for n in (INGEST, BATCH, PROCESS, SEND, HTTP))
    trace_id, ingest_id = hex_ids(ingest)
    assert ingest.parent is None and ingest.kind is SpanKind.SERVER
    flags = f"{int(ingest.context.trace_flags):02x}"
    assert stored["traceparent"] == f"00-{trace_id}-{ingest_id}-{flags}"  # the ingest span's context, on the event
    assert process.parent.span_id == ingest.context.span_id and process.kind is SpanKind.CONSUMER
    assert [link.context.span_id for link in process.links] == [batch.context.span_id]
    assert send.parent.span_id == process.context.span_id and send.kind is SpanKind.PRODUCER
    assert http.parent.span_id == send.context.span_id and http.kind is SpanKind.CLIENT
    assert {s.context.trace_id for s in (ingest, process, send, http)} == {ingest.context.trace_id}
    [interaction] = await runtime.interactions()
    assert dict(ingest.attributes) == {
        "http.request.method": "POST", "http.route": "/webhooks/{plugin}/{account}", "url.scheme": "http",
        "omnisdk.plugin": "sample", "omnisdk.account": "acme", "messaging.batch.message_count": 1,
        "http.response.status_code": 200}
    assert batch.attributes["messaging.batch.message_count"] == 1
    assert process.attributes["messaging.system"] == "omnisdk" and process.attributes["messaging.message.id"] == "m-1"
    assert process.attributes["messaging.operation.type"] == "process"
    assert process.attributes["cloudevents.event_type"] == "io.omnisdk.message.received"
    assert process.attributes["cloudevents.event_source"] == "/sample/acme"
    assert process.attributes["omnisdk.interaction_id"] == interaction.id
    assert send.attributes["omnisdk.interaction_id"] == interaction.id and send.attributes["omnisdk.account"] == "acme"
    assert send.attributes["messaging.operation.type"] == "send"
    assert http.attributes["server.address"] == "sample.test" and http.attributes["http.response.status_code"] == 200
    assert "http.request.resend_count" not in http.attributes
    values = " ".join(str(v) for s in spans.get_finished_spans() for v in s.attributes.values())
    for never in (TEXT, SECRET, "sample-token", "/messages", "Thanks"):  # no secret, no text, no URL path
        assert never not in values


async def test_a_request_traceparent_is_kept_end_to_end(client, runtime, provider, spans):
    stored = await one_message_through(client, runtime, provider, traceparent=TRACEPARENT,
                                       tracestate="vendor=abc")
    named = by_name(spans)
    [ingest], [process], [send], [http] = (named[n] for n in (INGEST, PROCESS, SEND, HTTP))
    assert stored["traceparent"] == TRACEPARENT and stored["tracestate"] == "vendor=abc"  # unchanged
    assert f"{ingest.parent.span_id:016x}" == PARENT_ID and ingest.parent.is_remote
    assert f"{process.parent.span_id:016x}" == PARENT_ID  # a child of the event's traceparent
    assert process.context.trace_state.get("vendor") == "abc"
    assert send.parent.span_id == process.context.span_id and http.parent.span_id == send.context.span_id
    assert {f"{s.context.trace_id:032x}" for s in (ingest, process, send, http)} == {TRACE_ID}


async def test_a_refused_webhook_is_one_ingest_span_with_its_reason(client, runtime, spans):
    body = sample_body([msg(1)])
    assert (await client.post(URL, content=body, headers={"x-sample-signature": "00"})).status_code == 401
    [ingest] = spans.get_finished_spans()
    assert ingest.attributes["http.response.status_code"] == 401
    assert ingest.attributes["error.type"] == "bad_signature"
    assert ingest.status.status_code is StatusCode.UNSET  # a 4xx is the client's error, not the server's


async def test_an_event_that_fails_has_an_error_span(runtime, spans):
    from sample_wire import message_event

    await runtime.store.append_inbox([message_event(9).with_(data={"channel": "chat"})], "2026-01-01T00:00:00Z")
    await runtime.processor.drain()
    [process] = by_name(spans)[PROCESS]
    assert process.status.status_code is StatusCode.ERROR and process.attributes["error.type"] == "ValidationError"
    assert process.parent is None  # the event carried no traceparent


async def test_a_retried_send_keeps_its_parent_and_counts_resends(client, runtime, spans):
    with respx.mock() as mock:
        mock.post("https://sample.test/messages").mock(side_effect=[httpx.Response(503), httpx.Response(200, json={"id": "o"})])
        body = sample_body([msg(1)])
        assert (await client.post(URL, content=body, headers=signed(body))).status_code == 200
        await runtime.processor.drain()
        assert await runtime.outbox.run_once() == 1
    named = by_name(spans)
    [process], [send], https = named[PROCESS], named[SEND], named[HTTP]
    assert send.parent.span_id == process.context.span_id
    assert [h.attributes.get("http.request.resend_count") for h in https] == [None, 1]
    assert [h.attributes["http.response.status_code"] for h in https] == [503, 200]
    assert https[0].status.status_code is StatusCode.ERROR and https[0].attributes["error.type"] == "503"
    assert all(h.parent.span_id == send.context.span_id for h in https)


def test_without_an_sdk_provider_there_is_no_tracer(monkeypatch):
    assert Tracing().tracer is not None  # this module's SDK provider
    monkeypatch.setattr(trace, "get_tracer_provider", ProxyTracerProvider)
    assert Tracing().tracer is None  # what the hot paths test, and then skip every span call


def test_send_traces_are_bounded_found_by_a_derived_key_and_forgotten():
    traces = SendTraces(limit=2)
    contexts = [trace.SpanContext(trace_id=1, span_id=i, is_remote=False) for i in (1, 2, 3)]
    traces.remember("i-1", "k", contexts[0])
    traces.remember("i-2", "k", contexts[1])
    assert traces.get("i-1", "k~0123456789abcdef") is contexts[0]  # the store's derived provider key
    traces.remember("i-3", "k", contexts[2])
    assert len(traces) == 2 and traces.get("i-1", "k") is None  # the oldest went
    traces.forget("i-2", "k")
    assert traces.get("i-2", "k") is None and traces.get("i-3", "k") is contexts[2]
