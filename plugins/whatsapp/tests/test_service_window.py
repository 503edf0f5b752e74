"""The WhatsApp customer-service window through the core: a text only within 24 hours of the
customer's last message (as we received it), a template at any time, refused before any I/O
and answered 409 ``window_closed`` by the agent API, which shows when the window closes.

Real input: the plugin's recorded text message (Meta's sample webhook), delivered signed to the
gateway at a manual clock; the Graph API is played by respx.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest
import respx

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Role
from omnisdk.errors import WindowClosedError
from omnisdk.recordings import load
from omnisdk.testkit import KitRuntime, ManualClock
from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
HOUR = 3600.0
SEND = "/v21.0/1122334455667/messages"


@pytest.fixture
async def kit(tmp_path):
    clock = ManualClock(T0)
    k = KitRuntime(lambda: WhatsAppAdapter("acme", WhatsAppSettings(**WhatsAppAdapter.example_settings())),
                   tmp_path, "https://cx.example.test/webhooks/whatsapp/acme", [{"name": "support"}],
                   agents=[{"id": "alice", "capacity": {"whatsapp": 3}}], clock=clock, loops=False)
    async with k:
        with respx.mock(base_url="https://graph.facebook.com", assert_all_called=False) as mock:
            # read receipts (an accept marks the customer's message read) apart from messages:
            # Meta answers a mark-as-read with {"success": true}
            k.receipts = mock.post(SEND, json__status="read").respond(200, json={"success": True})
            k.graph = mock.post(SEND).mock(side_effect=lambda req: httpx.Response(
                200, json=WhatsAppAdapter.sandbox_reply(len(k.graph.calls))))
            yield k


async def customer_writes(kit) -> str:
    """The recorded text message arrives: the id of its interaction (accepted by alice)."""
    rec = {r.name: r for r in load(WhatsAppAdapter.recordings)}["message/text"]
    doc = orjson.loads(rec.body)
    doc["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = f"wamid.at-{kit.clock.timestamp()}"
    resp = await kit.deliver_body(orjson.dumps(doc), "application/json")
    assert resp.status_code == 200, resp.text
    await kit.runtime.processor.drain()
    [inter] = await kit.runtime.interactions(active_only=True)
    if inter.state.value == "offered":
        await kit.runtime.accept(inter.id, "alice")
        assert await kit.flush_outbox() == 1 and kit.receipts.call_count == 1  # the read receipt
    return inter.id


async def admin(kit) -> httpx.AsyncClient:
    key, row = new_api_key(name="t", role=Role.ADMIN, created_at="2026-11-21T10:00:00Z")
    await kit.runtime.store.transact(lambda tx: tx.save_api_key(row))
    return httpx.AsyncClient(transport=kit.client._transport, base_url="http://127.0.0.1",
                             headers={"x-api-key": key, "content-type": "application/json"})


async def test_a_reply_inside_the_window_goes_and_one_after_it_is_409_with_no_io(kit):
    iid = await customer_writes(kit)
    async with await admin(kit) as api:
        detail = (await api.get(f"/v1/interactions/{iid}")).json()
        assert detail["window_open"] is True
        assert detail["window_closes_at"].startswith("2026-11-22T10:00:00")
        kit.clock.advance(23 * HOUR)
        assert (await api.post(f"/v1/interactions/{iid}/reply", json={"text": "on it"})).status_code == 202
        assert await kit.flush_outbox() == 1 and len(kit.graph.calls) == 1

        kit.clock.advance(2 * HOUR)  # 25 hours after the customer's message
        refused = await api.post(f"/v1/interactions/{iid}/reply", json={"text": "still there?"})
        assert refused.status_code == 409 and refused.json()["error"] == "window_closed"
        assert "only a template" in refused.json()["detail"]
        assert await kit.flush_outbox() == 0 and len(kit.graph.calls) == 1
        assert (await api.get(f"/v1/interactions/{iid}")).json()["window_open"] is False

        await customer_writes(kit)  # the customer writes again: the window opens again
        assert (await api.post(f"/v1/interactions/{iid}/reply", json={"text": "welcome back"})).status_code == 202


async def test_a_reply_queued_in_the_window_but_due_after_it_is_refused_before_any_io(kit):
    iid = await customer_writes(kit)
    kit.clock.advance(23.5 * HOUR)
    await kit.runtime.reply(iid, "queued in time")
    kit.clock.advance(HOUR)  # the outbox gets to it only after the window closed
    assert await kit.flush_outbox() == 1
    assert kit.graph.calls.call_count == 0
    row = await kit.runtime.store.transact(lambda tx: tx.c.execute("SELECT state, error FROM outbox ORDER BY id DESC").fetchone())  # the reply, after the receipt
    assert row[0] == "failed" and row[1].startswith("WindowClosedError")


async def test_only_a_template_opens_a_conversation_with_a_customer_who_never_wrote(kit):
    start = {"agent": "alice", "plugin": "whatsapp", "account": "acme", "customer": "+15550109999"}
    async with await admin(kit) as api:
        refused = await api.post("/v1/interactions", json={**start, "text": "hello"})
        assert refused.status_code == 409 and refused.json()["error"] == "window_closed"
        assert await kit.runtime.interactions() == []
        both = await api.post("/v1/interactions", json={**start, "text": "hi", "template": {"name": "x", "language": "en"}})
        assert both.status_code == 422
        made = await api.post("/v1/interactions", json={**start, "template": {
            "name": "order_update", "language": "en_US",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "42"}]}]}})
        assert made.status_code == 201, made.text
        assert (await api.get(f"/v1/interactions/{made.json()['id']}")).json()["window_closes_at"] is None
    assert await kit.flush_outbox() == 1
    sent = orjson.loads(kit.graph.calls[0].request.content)
    assert sent["type"] == "template" and sent["template"]["name"] == "order_update"
    assert sent["template"]["language"] == {"code": "en_US"} and sent["to"] == "15550109999"
    with pytest.raises(WindowClosedError) as info:  # and a text after it still waits for the customer
        await kit.runtime.reply(made.json()["id"], "did you get it?")
    assert info.value.closes_at is None


async def test_automatic_texts_outside_the_window_are_dropped_and_counted(kit):
    iid = await customer_writes(kit)
    kit.clock.advance(30 * HOUR)
    await kit.runtime.create_case(iid, "Router", agent="alice")  # its notice to the customer is automatic
    assert await kit.flush_outbox() == 0
    counters = await kit.runtime.store.transact(lambda tx: tx.counters())
    assert counters["outbound.suppressed.window_closed"] == 1
