"""The webhook gateway over ASGI: status codes, dedupe, durability before 2xx."""

from __future__ import annotations

import api_access
import httpx
import pytest
import respx
import sample_plugin
from sample_wire import msg, sample_body, sample_signature

from omnisdk.errors import (
    WEBHOOK_REASONS,
    PayloadError,
    PayloadTooLargeError,
    SignatureError,
    UnknownTargetError,
    WebhookError,
)
from omnisdk.gateway import create_app
from omnisdk.outbound.enqueue import enqueue_text

URL = "/webhooks/sample/acme"


@pytest.fixture
async def client(runtime):
    app = create_app(runtime, manage_runtime=False)
    key = await api_access.api_key(runtime)  # an admin's, for the few API calls here
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=api_access.BASE_URL,
                                 headers={"x-api-key": key}) as c:
        yield c


def signed(body: bytes) -> dict[str, str]:
    return {"x-sample-signature": sample_signature(body), "content-type": "application/json"}


async def test_good_webhook_is_durable_before_the_2xx(client, runtime):
    body = sample_body([msg(1)])
    resp = await client.post(URL, content=body, headers=signed(body))
    assert resp.status_code == 200
    # the 2xx came back: the event must already be in the inbox (committed)
    rows = await runtime.store.transact(lambda tx: tx.c.execute("SELECT id, source FROM inbox").fetchall())
    assert rows == [("m-1", "/sample/acme")]


async def test_redelivery_is_acknowledged_and_deduplicated(client, runtime):
    body = sample_body([msg(1), msg(2)])
    for _ in range(3):
        assert (await client.post(URL, content=body, headers=signed(body))).status_code == 200
    await runtime.processor.drain()
    stats = await runtime.stats()
    assert stats["events.accepted"] == 2 and stats["events.deduplicated"] == 4
    assert (await runtime.interactions())[0].message_count == 2


@pytest.mark.parametrize(
    "headers, status, reason",
    [
        ({}, 401, "bad_signature"),
        ({"x-sample-signature": "00" * 32}, 401, "bad_signature"),
    ],
)
async def test_bad_signatures_are_401_and_store_nothing(client, runtime, headers, status, reason):
    body = sample_body([msg(1)])
    resp = await client.post(URL, content=body, headers=headers)
    assert resp.status_code == status
    assert resp.json()["error"] == reason
    assert await runtime.store.transact(lambda tx: tx.c.execute("SELECT COUNT(*) FROM inbox").fetchone()[0]) == 0


async def test_a_refusal_tells_the_sender_nothing_and_the_operator_why(client, runtime, caplog):
    body = sample_body([msg(1)])
    caplog.set_level("INFO", logger="omnisdk.gateway")
    replies = [await client.post(URL, content=body, headers=h)
               for h in ({}, {"x-sample-signature": "00" * 32}, signed(body + b" "))]
    assert [r.status_code for r in replies] == [401, 401, 401]
    assert len({r.json()["detail"] for r in replies}) == 1  # one answer, whatever failed
    assert replies[0].json()["detail"] == "the request's signature is missing or does not verify"
    logged = [r.getMessage() for r in caplog.records if r.name == "omnisdk.gateway"]
    assert len(logged) == 3 and all(m.startswith("webhook sample/acme refused (") for m in logged)
    assert len(set(logged)) > 1  # the log keeps the plugin's own reason


@pytest.mark.parametrize("error", [
    SignatureError("signature does not match", reason="expected_" + "ab12" * 16),
    PayloadError("bad body", reason="Traceback: KeyError('secret')"),
    SignatureError("signature does not match", reason=""),
])
async def test_a_plugin_reason_outside_the_vocabulary_is_never_echoed(client, runtime, caplog, monkeypatch,
                                                                      error):
    # a plugin may put anything in ``reason`` (here: what would have matched); the answer
    # carries only a code of the core's fixed vocabulary, the log keeps the plugin's text
    def refuse(self, request):
        raise error

    monkeypatch.setattr(sample_plugin.SampleAdapter, "verify", refuse)
    caplog.set_level("INFO", logger="omnisdk.gateway")
    body = sample_body([msg(1)])
    resp = await client.post(URL, content=body, headers=signed(body))
    generic = "bad_signature" if isinstance(error, SignatureError) else "malformed_payload"
    assert (resp.status_code, resp.json()["error"]) == (error.status, generic)
    assert generic in WEBHOOK_REASONS and (not error.reason or error.reason not in resp.text)
    counted = [k for k in await runtime.stats() if k.startswith("rejected.")]
    assert counted == [f"rejected.{generic}"]
    if isinstance(error, SignatureError) and error.reason:
        assert any(error.reason[:40] in r.getMessage() for r in caplog.records if r.name == "omnisdk.gateway")


def test_every_core_refusal_reason_is_in_the_vocabulary():
    from omnisdk.inbox.commit import ForeignAddressError

    for cls in (WebhookError, SignatureError, PayloadError, UnknownTargetError, PayloadTooLargeError,
                ForeignAddressError):
        assert cls.reason in WEBHOOK_REASONS, cls
        assert cls("x").public_reason == cls.reason
    assert SignatureError("x", reason="missing_signature").public_reason == "missing_signature"


@pytest.mark.parametrize("body", [b'{"messages": [{"id": "x"}]}', b'{"messages": [', b"\xff\xfe", b"[1, 2]"])
async def test_malformed_bodies_are_400_with_a_json_error(client, body):
    resp = await client.post(URL, content=body, headers=signed(body))
    assert resp.status_code == 400
    assert resp.json()["error"] == "malformed_payload"


async def test_unknown_plugin_or_account_is_404(client):
    body = sample_body([msg(1)])
    assert (await client.post("/webhooks/sample/nobody", content=body, headers=signed(body))).status_code == 404
    assert (await client.post("/webhooks/nope/acme", content=body, headers=signed(body))).status_code == 404


async def test_oversize_body_is_413(client):
    body = b"x" * (64 * 1024 + 1)
    resp = await client.post(URL, content=body, headers=signed(body))
    assert resp.status_code == 413
    assert resp.json()["error"] == "payload_too_large"


async def test_get_without_handshake_is_405(client):
    assert (await client.get(URL)).status_code == 405


async def test_rejections_are_counted(client, runtime):
    body = sample_body([msg(1)])
    await client.post(URL, content=body, headers={})
    await client.post(URL, content=b"{", headers=signed(b"{"))
    await runtime.store.transact(lambda tx: None)  # flush counters queued before this job
    stats = await runtime.stats()
    assert stats["rejected.bad_signature"] == 1 and stats["rejected.malformed_payload"] == 1


async def test_plugin_crash_outside_its_contract_is_400_not_500(client, runtime, monkeypatch):
    adapter = runtime.adapter("sample", "acme")

    def boom(request):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(adapter, "parse", boom)
    body = sample_body([msg(1)])
    resp = await client.post(URL, content=body, headers=signed(body))
    assert resp.status_code == 400 and resp.json()["error"] == "plugin_error"


async def test_content_a_channel_cannot_send_is_refused_never_dropped(client, runtime):
    await runtime.outbox.stop()
    body = sample_body([msg(1)])
    await client.post(URL, content=body, headers=signed(body))
    await runtime.processor.drain()
    iid = (await client.get("/v1/interactions")).json()["items"][0]["id"]
    assert (await client.post(f"/v1/interactions/{iid}/accept", json={})).status_code == 200
    refused = await client.post(f"/v1/interactions/{iid}/reply", json={
        "text": "pick one", "content": {"buttons": [{"id": "a", "title": "A"}]}})
    assert refused.status_code == 400 and refused.json()["detail"] == "sample cannot send buttons"
    inter = (await runtime.interaction(iid))[0]
    await runtime.processor.operate(lambda ctx: enqueue_text(  # queued past the API's check
        ctx, inter, "where?", "direct-1", content={"location": {"latitude": 1.0, "longitude": 2.0}}))
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
        assert await runtime.outbox.run_once() == 1
    assert route.call_count == 0
    row = await runtime.store.transact(lambda tx: tx.c.execute("SELECT state, error FROM outbox").fetchone())
    assert row == ("failed", "ValueError: sample cannot send location")


async def test_reply_and_close_through_the_api(client, runtime):
    await runtime.outbox.stop()  # this test sends with run_once: the background worker would race it
    body = sample_body([msg(1)])
    await client.post(URL, content=body, headers=signed(body))
    await runtime.processor.drain()
    iid = (await client.get("/v1/interactions")).json()["items"][0]["id"]
    offered = await client.post(f"/v1/interactions/{iid}/reply", json={"text": "hello"})
    assert offered.status_code == 409, "an offer not yet accepted takes no reply"
    assert (await client.post(f"/v1/interactions/{iid}/accept", json={})).status_code == 200
    with respx.mock(assert_all_called=True) as mock:
        route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
        resp = await client.post(f"/v1/interactions/{iid}/reply", json={"text": "hello"},
                                 headers={"idempotency-key": "k-1"})
        assert resp.status_code == 202 and resp.json() == {"idempotency_key": "k-1"}
        await runtime.outbox.run_once()
        assert route.call_count == 1
        assert route.calls[0].request.headers["idempotency-key"] == "k-1"
    # the same key again is not a second send
    resp = await client.post(f"/v1/interactions/{iid}/reply", json={"text": "hello"}, headers={"idempotency-key": "k-1"})
    assert resp.status_code == 202
    assert await runtime.outbox.run_once() == 0
    assert (await client.post(f"/v1/interactions/{iid}/reply", content=b"nope")).status_code == 415  # not JSON
    assert (await client.post(f"/v1/interactions/{iid}/reply", content=b"nope",
                              headers={"content-type": "application/json"})).status_code == 400
    resp = await client.post(f"/v1/interactions/{iid}/close", json={"wrap_up_code": "Task created"})
    assert resp.status_code == 200
    assert (await client.post(f"/v1/interactions/{iid}/close", json={})).status_code == 409
    item = (await client.get("/v1/interactions")).json()["items"][0]
    assert item["state"] == "closed" and item["wrap_up_code"] == "Task created"


async def test_head_is_not_treated_as_a_webhook(client, runtime):
    resp = await client.head(URL)
    assert resp.status_code == 405
    await runtime.store.transact(lambda tx: None)
    assert "rejected.bad_signature" not in await runtime.stats()


async def test_acknowledge_failure_still_answers_2xx_for_durable_events(client, runtime, monkeypatch):
    adapter = runtime.adapter("sample", "acme")

    def boom(events):
        raise RuntimeError("bug")

    monkeypatch.setattr(adapter, "acknowledge", boom)
    body = sample_body([msg(1)])
    assert (await client.post(URL, content=body, headers=signed(body))).status_code == 200


async def test_unserializable_event_data_is_a_4xx_not_a_503(client, runtime, monkeypatch):
    adapter = runtime.adapter("sample", "acme")
    original = adapter.parse

    def bad(request):
        return [e.with_(data={"x": object()}) for e in original(request)]

    monkeypatch.setattr(adapter, "parse", bad)
    body = sample_body([msg(1)])
    resp = await client.post(URL, content=body, headers=signed(body))
    assert resp.status_code == 400 and resp.json()["error"] == "plugin_error"


async def test_a_client_that_hangs_up_mid_body_is_not_a_plugin_error(runtime):
    app = create_app(runtime, manage_runtime=False)
    sent: list[dict] = []
    messages = [
        {"type": "http.request", "body": b'{"messages": [', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive():
        return messages.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": URL, "raw_path": URL.encode(), "query_string": b"",
             "headers": [(b"host", b"gw"), (b"x-sample-signature", b"00")], "scheme": "http",
             "server": ("gw", 80), "client": ("127.0.0.1", 1), "root_path": "", "http_version": "1.1"}
    await app(scope, receive, send)
    assert sent[0]["status"] == 400
    await runtime.store.transact(lambda tx: None)
    stats = await runtime.stats()
    assert stats.get("rejected.client_disconnected") == 1 and "rejected.plugin_error" not in stats


async def test_serve_freezes_the_start_up_heap_once_the_runtime_has_started(settings):
    """``freeze_heap`` (what ``omnisdk serve`` sets): after the lifespan started the runtime, the
    objects allocated so far are out of the collector's reach; an embedded app leaves gc alone."""
    import gc

    from omnisdk.runtime import Runtime

    for freeze in (False, True):
        app = create_app(Runtime(settings), freeze_heap=freeze)
        gc.unfreeze()
        async with app.router.lifespan_context(app.app):
            frozen = gc.get_freeze_count()
            started = app.state.runtime.processor.running
        gc.unfreeze()
        assert started
        assert (frozen > 0) is freeze, (freeze, frozen)


# --- account ownership of business addresses (issue 8, B2) -----------------------------------

BETA_SECRET = "beta-secret"


@pytest.fixture
async def two_accounts(settings):
    """``sample/acme`` owns ``biz`` and ``biz2``; ``sample/beta`` (its own secret) owns ``beta-biz``."""
    from omnisdk.runtime import Runtime

    accounts = {"sample": {
        "acme": {"secret": "sample-secret", "api_base_url": "https://sample.test"},
        "beta": {"secret": BETA_SECRET, "businesses": ["beta-biz"], "api_base_url": "https://sample.test"},
    }}
    rt = Runtime(settings.model_copy(update={"accounts": accounts}))
    await rt.start()
    app = create_app(rt, manage_runtime=False)
    key = await api_access.api_key(rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=api_access.BASE_URL,
                                 headers={"x-api-key": key}) as c:
        yield rt, c
    await rt.stop()


def _inbox_rows(rt):
    return rt.store.transact(lambda tx: tx.c.execute("SELECT COUNT(*) FROM inbox").fetchone()[0])


async def test_a_body_signed_by_one_account_may_not_name_anothers_business_address(two_accounts):
    rt, client = two_accounts
    body = sample_body([msg(1)])  # to "biz": acme's address
    assert (await client.post(URL, content=body, headers=signed(body))).status_code == 200
    await rt.processor.drain()
    [inter] = await rt.interactions()

    forged = sample_body([msg(2, text="injected")])  # also to "biz", but signed with beta's secret
    resp = await client.post("/webhooks/sample/beta", content=forged,
                             headers={"x-sample-signature": sample_signature(forged, BETA_SECRET),
                                      "content-type": "application/json"})
    assert resp.status_code == 403
    assert resp.json()["error"] == "foreign_business_address"
    assert "m-2" in resp.json()["detail"] and BETA_SECRET not in resp.text
    await rt.processor.drain()
    assert await _inbox_rows(rt) == 1, "nothing of the refused webhook is stored"
    [after] = await rt.interactions()
    assert after.id == inter.id and after.message_count == 1, "acme's interaction got no message"
    await rt.store.transact(lambda tx: None)  # flush late counters
    assert (await rt.stats())["rejected.foreign_business_address"] == 1


async def test_one_foreign_event_refuses_the_whole_webhook(two_accounts):
    rt, client = two_accounts
    body = sample_body([msg(1, to="beta-biz"), msg(2, to="biz")])
    resp = await client.post("/webhooks/sample/beta", content=body,
                             headers={"x-sample-signature": sample_signature(body, BETA_SECRET)})
    assert resp.status_code == 403 and resp.json()["error"] == "foreign_business_address"
    assert await _inbox_rows(rt) == 0


async def test_the_same_customer_on_two_accounts_gets_two_interactions(two_accounts):
    rt, client = two_accounts
    a = sample_body([msg(1)])
    b = sample_body([msg(2, to="beta-biz")])
    assert (await client.post(URL, content=a, headers=signed(a))).status_code == 200
    assert (await client.post("/webhooks/sample/beta", content=b,
                              headers={"x-sample-signature": sample_signature(b, BETA_SECRET)})).status_code == 200
    await rt.processor.drain()
    keys = sorted(i.conversation_key for i in await rt.interactions())
    assert keys == ["sample/acme:chat:biz:+15550100001", "sample/beta:chat:beta-biz:+15550100001"]


async def test_start_outbound_sends_only_from_an_address_the_account_owns(two_accounts):
    rt, client = two_accounts
    start = {"agent": "bob", "plugin": "sample", "account": "beta", "customer": "+15550109999", "text": "hi"}
    foreign = await client.post("/v1/interactions", json={**start, "business": "biz"})  # acme's
    assert foreign.status_code == 400 and foreign.json()["error"] == "bad_request"
    assert "does not own" in foreign.json()["detail"]
    assert await rt.interactions() == []
    with pytest.raises(ValueError, match="no default sender"):  # the sample adapter has none
        await rt.start_outbound(agent="bob", plugin="sample", account="beta", customer="+15550109999", text="hi")
    out = await client.post("/v1/interactions", json={**start, "business": "beta-biz"})
    assert out.status_code == 201
    [inter] = await rt.interactions()
    assert (inter.business, inter.conversation_key) == ("beta-biz", "sample/beta:chat:beta-biz:+15550109999")


# --- trace context (issue 8, B12), GET webhooks (B9), body deadline and read bound (B6) ----------

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"  # W3C trace-context example
TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"


@pytest.fixture
async def observed(settings):
    """A started runtime with an ``omnisdk_event`` observer, and a client on its gateway."""
    from omnisdk.hookspecs import hookimpl
    from omnisdk.runtime import Runtime

    seen: list = []

    class Observer:
        @hookimpl
        def omnisdk_event(self, event):
            seen.append(event)

    rt = Runtime(settings)
    rt.host.attach(Observer(), "test-observer")  # not subject to the allow list
    await rt.start()
    app = create_app(rt, manage_runtime=False)
    key = await api_access.api_key(rt)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=api_access.BASE_URL,
                                 headers={"x-api-key": key}) as c:
        yield rt, c, seen
    await rt.stop()


async def _inbox_events(rt):
    from omnisdk.events import loads

    rows = await rt.store.transact(lambda tx: tx.c.execute("SELECT body FROM inbox ORDER BY rowid").fetchall())
    return [loads(doc) for (doc,) in rows]


async def test_the_requests_trace_context_reaches_the_inbox_and_the_core_events(observed):
    rt, client, seen = observed
    body = sample_body([msg(1)], [{"id": "out-9", "status": "delivered", "to": "+15550100001"}])
    headers = {**signed(body), "traceparent": TRACEPARENT, "tracestate": " rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE"}
    assert (await client.post(URL, content=body, headers=headers)).status_code == 200
    stored = await _inbox_events(rt)
    assert len(stored) == 2
    assert {(e.traceparent, e.tracestate) for e in stored} == {(TRACEPARENT, TRACESTATE)}
    await rt.processor.drain()
    created = [e for e in seen if e.type == "io.omnisdk.interaction.created"]
    assert created and created[0].causationid == "m-1"
    assert (created[0].traceparent, created[0].tracestate) == (TRACEPARENT, TRACESTATE)
    assert created[0].to_dict()["traceparent"] == TRACEPARENT  # a CloudEvents extension attribute


@pytest.mark.parametrize("traceparent", [
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 has 4 fields
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  # upper-case hex
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # the forbidden version
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # short trace id
    "garbage",
])
async def test_an_invalid_traceparent_is_dropped_not_an_error(observed, traceparent):
    rt, client, _ = observed
    body = sample_body([msg(1)])
    headers = {**signed(body), "traceparent": traceparent, "tracestate": TRACESTATE}
    assert (await client.post(URL, content=body, headers=headers)).status_code == 200
    [event] = await _inbox_events(rt)
    assert (event.traceparent, event.tracestate) == (None, None)  # tracestate goes with it


@pytest.mark.parametrize("tracestate", ["ROJO=1", "rojo=1,rojo=2", ",".join(f"k{i}=v" for i in range(33)),
                                        "rojo=a=b", "rojo=" + "x" * 600])
async def test_an_invalid_tracestate_is_dropped_and_the_traceparent_kept(observed, tracestate):
    rt, client, _ = observed
    body = sample_body([msg(1)])
    headers = {**signed(body), "traceparent": TRACEPARENT, "tracestate": tracestate}
    assert (await client.post(URL, content=body, headers=headers)).status_code == 200
    [event] = await _inbox_events(rt)
    assert (event.traceparent, event.tracestate) == (TRACEPARENT, None)


def test_a_later_traceparent_version_is_carried_as_version_00():
    from omnisdk.events import parse_traceparent

    later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
    assert parse_traceparent(later) == TRACEPARENT
    assert parse_traceparent(later.replace("-what", "what")) is None


async def test_a_get_reaches_verify_when_the_adapter_declares_get_webhooks(client, runtime, monkeypatch):
    adapter = runtime.adapter("sample", "acme")
    assert (await client.get(URL)).status_code == 405
    monkeypatch.setattr(type(adapter), "webhook_methods", frozenset({"POST", "GET"}))
    resp = await client.get(URL + "?a=1")
    assert resp.status_code == 401 and resp.json()["error"] == "bad_signature"  # verified, not 405
    assert (await client.head(URL)).status_code == 405


def _scope(headers):
    return {"type": "http", "method": "POST", "path": URL, "raw_path": URL.encode(), "query_string": b"",
            "headers": headers, "scheme": "http", "server": ("gw", 80), "client": ("127.0.0.1", 1),
            "root_path": "", "http_version": "1.1"}


async def test_a_stalled_body_is_408_with_connection_close_within_the_deadline(settings):
    import asyncio
    import time

    from omnisdk.runtime import Runtime

    rt = Runtime(settings.model_copy(update={"gateway": settings.gateway.model_copy(update={"body_timeout": 0.3})}))
    await rt.start()
    try:
        app = create_app(rt, manage_runtime=False)
        first = [{"type": "http.request", "body": b'{"messages": [', "more_body": True}]

        async def receive():
            if first:
                return first.pop()
            await asyncio.sleep(3600)  # the rest never comes

        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        started = time.monotonic()
        await asyncio.wait_for(app(_scope([(b"host", b"gw")]), receive, send), 5)
        assert 0.3 <= time.monotonic() - started < 2
        assert sent[0]["status"] == 408 and (b"connection", b"close") in sent[0]["headers"]
        assert b"request_timeout" in sent[1]["body"]
        await rt.store.transact(lambda tx: None)
        assert (await rt.stats()).get("rejected.request_timeout") == 1
    finally:
        await rt.stop()


async def test_bodies_beyond_the_read_bound_are_503_with_retry_after(settings):
    import asyncio

    from omnisdk.runtime import Runtime

    gw = settings.gateway.model_copy(update={"max_concurrent_bodies": 2, "body_timeout": 5})
    rt = Runtime(settings.model_copy(update={"gateway": gw}))
    await rt.start()
    try:
        app = create_app(rt, manage_runtime=False)
        body = sample_body([msg(1)])
        release = asyncio.Event()

        def trickling():
            parts = [{"type": "http.request", "body": body[:5], "more_body": True},
                     {"type": "http.request", "body": body[5:], "more_body": False}]

            async def receive():
                if len(parts) == 1:
                    await release.wait()
                return parts.pop(0)
            return receive

        answers: list[list[dict]] = []

        async def one(receive):
            sent: list[dict] = []

            async def send(m):
                sent.append(m)
            answers.append(sent)
            await app(_scope([(b"host", b"gw"), (b"x-sample-signature", sample_signature(body).encode())]),
                      receive, send)

        slow = [asyncio.create_task(one(trickling())) for _ in range(2)]
        await asyncio.sleep(0.05)  # both are now waiting for the rest of their bodies
        await one(trickling())  # a third arriving body: refused at once
        third = answers[-1]
        assert third[0]["status"] == 503 and (b"retry-after", b"1") in third[0]["headers"]
        assert b"too_many_bodies" in third[1]["body"]

        async def whole():
            return {"type": "http.request", "body": body, "more_body": False}
        await one(whole)  # a body that arrived whole needs no read slot: still served
        assert answers[-1][0]["status"] == 200
        release.set()
        await asyncio.gather(*slow)
        assert [a[0]["status"] for a in answers[:2]] == [200, 200]  # m-1 twice: the second deduplicated
        await one(whole)  # the slots are free again
        assert answers[-1][0]["status"] == 200
    finally:
        await rt.stop()
