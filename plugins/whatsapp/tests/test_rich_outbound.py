"""WhatsApp rich outbound: reply buttons, lists, locations, reactions, contact cards, link
previews and read receipts, as the Cloud API reference documents their bodies; refused before
any I/O when malformed; sent end to end from the agent API's reply.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest
import respx
from pydantic import ValidationError

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Role
from omnisdk.adapters import OutboundMessage
from omnisdk.recordings import load
from omnisdk.testkit import KitRuntime, ManualClock
from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings
from omnisdk_whatsapp.outbound import build_body

TO = "+15550100001"
HEAD = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "15550100001"}


def body_of(**fields):
    return build_body(OutboundMessage(customer=TO, **fields))


def test_reply_buttons():  # /docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages
    assert body_of(text="Did that fix it?", buttons=[{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]) == {
        **HEAD, "type": "interactive", "interactive": {
            "type": "button", "body": {"text": "Did that fix it?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                                   {"type": "reply", "reply": {"id": "no", "title": "No"}}]}}}


def test_a_list_menu():  # /docs/whatsapp/cloud-api/messages/interactive-list-messages
    menu = {"button": "Choose", "sections": [
        {"title": "Orders", "rows": [{"id": "track", "title": "Track an order", "description": "Where is it?"}]},
        {"title": "Account", "rows": [{"id": "pw", "title": "Reset password"}]}]}
    assert body_of(text="How can we help?", list_menu=menu)["interactive"] == {
        "type": "list", "body": {"text": "How can we help?"},
        "action": {"button": "Choose", "sections": [
            {"title": "Orders", "rows": [{"id": "track", "title": "Track an order", "description": "Where is it?"}]},
            {"title": "Account", "rows": [{"id": "pw", "title": "Reset password"}]}]}}


def test_location_reaction_contacts_and_a_link_preview():
    assert body_of(location={"latitude": 52.52, "longitude": 13.405, "name": "Store", "address": "Alexanderplatz 1"}) == {
        **HEAD, "type": "location",
        "location": {"latitude": 52.52, "longitude": 13.405, "name": "Store", "address": "Alexanderplatz 1"}}
    assert body_of(reaction={"message_id": "wamid.HBgL", "emoji": "👍"}) == {
        **HEAD, "type": "reaction", "reaction": {"message_id": "wamid.HBgL", "emoji": "👍"}}
    assert body_of(contacts=[{"name": "Ada Lovelace", "phones": ["+441234567890"], "emails": ["ada@example.com"]}]) == {
        **HEAD, "type": "contacts", "contacts": [{
            "name": {"formatted_name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace"},
            "phones": [{"phone": "+441234567890", "type": "CELL"}],
            "emails": [{"email": "ada@example.com", "type": "WORK"}]}]}
    assert body_of(text="See https://example.com/status", preview_url=True)["text"] == {
        "body": "See https://example.com/status", "preview_url": True}


@pytest.mark.parametrize("fields, why", [
    ({"buttons": [{"id": "a", "title": "A"}]}, "need text"),
    ({"text": "x", "buttons": [{"id": str(i), "title": str(i)} for i in range(4)]}, "at most 3"),
    ({"text": "x", "buttons": [{"id": "a", "title": "A"}], "location": {"latitude": 1, "longitude": 2}},
     "one kind of content"),
    ({"text": "here", "location": {"latitude": 1, "longitude": 2}}, "carries no text"),
    ({"text": "x", "list_menu": {"button": "b", "sections": [
        {"title": "s", "rows": [{"id": str(i), "title": str(i)} for i in range(6)]},
        {"title": "t", "rows": [{"id": f"t{i}", "title": str(i)} for i in range(5)]}]}}, "10 rows"),
    ({"location": {"latitude": 1, "longitude": 2}, "preview_url": True}, "preview_url"),
    ({"reaction": {"message_id": "wamid.A", "emoji": "👍"}, "reply_to": "wamid.B"}, "no reply_to"),
])
def test_malformed_rich_content_is_refused_before_any_io(fields, why):
    with pytest.raises(ValueError, match=why):
        body_of(**fields)


def test_the_core_model_refuses_what_the_provider_would():
    with pytest.raises(ValidationError):
        OutboundMessage(customer=TO, text="x", buttons=[{"id": "a", "title": "x" * 21}])  # titles ≤ 20
    with pytest.raises(ValidationError):
        OutboundMessage(customer=TO, location={"latitude": 91, "longitude": 0})
    with pytest.raises(ValidationError, match="extra"):
        OutboundMessage(customer=TO, text="x", buttons=[{"id": "a", "title": "A", "color": "red"}])


async def test_mark_read_sends_the_read_status():  # /docs/whatsapp/cloud-api/guides/mark-message-as-read
    adapter = WhatsAppAdapter("acme", WhatsAppSettings(**WhatsAppAdapter.example_settings()))
    with respx.mock(base_url="https://graph.facebook.com") as mock:
        route = mock.post("/v21.0/1122334455667/messages").respond(200, json={"success": True})
        await adapter.mark_read("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=")
    assert orjson.loads(route.calls[0].request.content) == {
        "messaging_product": "whatsapp", "status": "read",
        "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="}
    with pytest.raises(ValueError):
        await adapter.mark_read("")
    await adapter.aclose()


async def test_a_reply_with_buttons_goes_from_the_api_to_the_graph_api(tmp_path):
    kit = KitRuntime(lambda: WhatsAppAdapter("acme", WhatsAppSettings(**WhatsAppAdapter.example_settings())),
                     tmp_path, "https://cx.example.test/webhooks/whatsapp/acme", [{"name": "support"}],
                     agents=[{"id": "alice", "capacity": {"whatsapp": 3}}],
                     clock=ManualClock(datetime(2026, 11, 21, 10, 0, tzinfo=UTC)), loops=False)
    async with kit:
        rec = {r.name: r for r in load(WhatsAppAdapter.recordings)}["message/text"]
        assert (await kit.deliver_body(rec.body, "application/json")).status_code == 200
        await kit.runtime.processor.drain()
        [inter] = await kit.runtime.interactions()
        await kit.runtime.accept(inter.id, "alice")
        key, row = new_api_key(name="t", role=Role.AGENT, agent="alice", created_at="2026-11-21T10:00:00Z")
        await kit.runtime.store.transact(lambda tx: tx.save_api_key(row))
        async with httpx.AsyncClient(transport=kit.client._transport, base_url="http://127.0.0.1",
                                     headers={"x-api-key": key, "content-type": "application/json"}) as api:
            resp = await api.post(f"/v1/interactions/{inter.id}/reply", json={
                "text": "Did the restart help?", "content": {"buttons": [{"id": "yes", "title": "Yes"},
                                                                         {"id": "no", "title": "No"}]}})
            assert resp.status_code == 202, resp.text
            bad = await api.post(f"/v1/interactions/{inter.id}/reply", json={
                "content": {"buttons": [{"id": "yes", "title": "Yes"}], "colour": "red"}})
            assert bad.status_code == 422
        with respx.mock(base_url="https://graph.facebook.com") as mock:
            receipt = mock.post("/v21.0/1122334455667/messages", json__status="read").respond(200, json={"success": True})
            route = mock.post("/v21.0/1122334455667/messages").respond(200, json=WhatsAppAdapter.sandbox_reply(1))
            assert await kit.flush_outbox() == 2 and receipt.call_count == 1  # accept marked the message read
        sent = orjson.loads(route.calls[0].request.content)
        assert sent["type"] == "interactive" and sent["interactive"]["action"]["buttons"][1]["reply"]["id"] == "no"
