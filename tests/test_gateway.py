"""The webhook gateway over ASGI: status codes, dedupe, durability before 2xx."""

from __future__ import annotations

import httpx
import pytest
import respx
from sample_wire import msg, sample_body, sample_signature

from omnisdk.gateway import create_app

URL = "/webhooks/sample/acme"


@pytest.fixture
async def client(runtime):
    app = create_app(runtime, manage_runtime=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
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


async def test_reply_and_close_through_the_api(client, runtime):
    body = sample_body([msg(1)])
    await client.post(URL, content=body, headers=signed(body))
    await runtime.processor.drain()
    iid = (await client.get("/v1/interactions")).json()[0]["id"]
    offered = await client.post(f"/v1/interactions/{iid}/reply", json={"text": "hello"})
    assert offered.status_code == 409, "an offer not yet accepted takes no reply"
    assert (await client.post(f"/v1/interactions/{iid}/accept")).status_code == 200
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
    assert (await client.post(f"/v1/interactions/{iid}/reply", content=b"nope")).status_code == 400
    resp = await client.post(f"/v1/interactions/{iid}/close", json={"wrap_up_code": "Task created"})
    assert resp.status_code == 200
    assert (await client.post(f"/v1/interactions/{iid}/close", json={})).status_code == 409
    item = (await client.get("/v1/interactions")).json()[0]
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
            started = app.state.runtime.processor._tasks != []
        gc.unfreeze()
        assert started
        assert (frozen > 0) is freeze, (freeze, frozen)
