"""Read receipts through the core: when an agent accepts a Messenger conversation, the person
sees "Seen" (the ``mark_seen`` sender action, sent by the outbox), and not again until they
write.  Real input: the recorded text message (Meta's documented Page webhook), delivered
signed to the gateway at a manual clock; the Graph API is played by respx."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import respx

from omnisdk.recordings import load
from omnisdk.testkit import KitRuntime, ManualClock
from omnisdk_messenger import MessengerAdapter

PATH = "/v21.0/105000000000001/messages"


@pytest.fixture
async def kit(tmp_path):
    k = KitRuntime(lambda: MessengerAdapter("acme", MessengerAdapter.example_settings()), tmp_path,
                   "https://cx.example.test/webhooks/messenger/acme", [{"name": "support"}],
                   agents=[{"id": "alice", "capacity": {"messenger": 2}}],
                   clock=ManualClock(datetime.now(UTC)), loops=False)  # Messenger checks its window on the wall clock
    async with k:
        with respx.mock(base_url="https://graph.facebook.com", assert_all_called=False) as mock:
            k.graph = mock.post(PATH).mock(side_effect=lambda req: httpx.Response(
                200, json={"recipient_id": json.loads(req.content)["recipient"]["id"], "message_id": "m_sent"}))
            yield k


async def test_accepting_a_conversation_marks_it_seen_once(kit):
    rec = {r.name: r for r in load(MessengerAdapter.recordings)}["message/text"]
    assert (await kit.deliver_body(rec.body, "application/json")).status_code == 200
    await kit.runtime.processor.drain()
    [inter] = await kit.runtime.interactions(active_only=True)
    await kit.runtime.accept(inter.id, "alice")
    await kit.flush_outbox()
    bodies = [json.loads(c.request.content) for c in kit.graph.calls]
    assert bodies == [{"recipient": {"id": inter.customer}, "sender_action": "mark_seen"}]
    await kit.runtime.reply(inter.id, "Hi! How can I help?")  # nothing new to mark: only the reply goes
    await kit.flush_outbox()
    bodies = [json.loads(c.request.content) for c in kit.graph.calls]
    assert [b.get("sender_action") for b in bodies] == ["mark_seen", None]
    assert bodies[1]["message"] == {"text": "Hi! How can I help?"}
    assert (await kit.runtime.stats())["outbound.read_receipts"] == 1
