"""Drafts: outbound interactions agents write before anyone sends, consolidated per customer
(ownership to the last drafter) or one per agent, and sent by whoever sends."""

from __future__ import annotations

import api_access
import orjson
import pytest
from sample_wire import ingest, make_settings, message_event

from omnisdk.errors import StateError
from omnisdk.gateway import create_app
from omnisdk.model import InteractionState as S
from omnisdk.runtime import Runtime

CUSTOMER = "+15550100009"


async def _queued(rt):
    rows = await rt.store.transact(lambda tx: tx.c.execute("SELECT idempotency_key, payload FROM outbox").fetchall())
    return {k: orjson.loads(p) for k, p in rows}


async def test_two_agents_drafts_to_one_customer_share_one_interaction_owned_by_the_last(runtime):
    first, d1 = await runtime.save_draft(agent="alice", plugin="sample", account="acme", customer=CUSTOMER,
                                         text="Your order shipped.", business="biz")
    second, d2 = await runtime.save_draft(agent="bob", plugin="sample", account="acme", customer=CUSTOMER,
                                          text="Tracking number: 42.", business="biz")
    assert first.id == second.id and second.agent == "bob"
    assert (second.state, second.direction.value) == (S.NEW, "outbound")
    assert [(d.agent, d.text) for d in second.drafts] == [("alice", "Your order shipped."), ("bob", "Tracking number: 42.")]
    assert await _queued(runtime) == {}  # a draft sends nothing
    again, same = await runtime.save_draft(agent="alice", plugin="sample", account="acme", customer=CUSTOMER,
                                           text="Your order shipped today.", business="biz", draft_id=d1)
    assert same == d1 and again.agent == "alice" and again.drafts[0].text == "Your order shipped today."
    with pytest.raises(StateError, match="is alice's"):
        await runtime.save_draft(agent="bob", plugin="sample", account="acme", customer=CUSTOMER, text="x",
                                 business="biz", draft_id=d1)


async def test_the_interaction_goes_to_whoever_sends_and_the_customers_reply_joins_it(runtime):
    inter, d1 = await runtime.save_draft(agent="alice", plugin="sample", account="acme", customer=CUSTOMER,
                                         text="Your order shipped.", business="biz")
    await runtime.save_draft(agent="bob", plugin="sample", account="acme", customer=CUSTOMER, text="PS", business="biz")
    sent = await runtime.send_draft(inter.id, d1, agent="alice")
    assert (sent.state, sent.agent) == (S.WORK_IN_PROGRESS, "alice")
    assert [d.agent for d in sent.drafts] == ["bob"]  # bob's draft stays, to send as a reply
    assert (await _queued(runtime))[f"draft:{d1}"]["text"] == "Your order shipped."
    with pytest.raises(StateError, match="not a draft: reply to it instead"):
        await runtime.send_draft(inter.id, sent.drafts[0].id, agent="bob")
    history = [h["to_state"] for h in (await runtime.interaction(inter.id))[1]]
    assert history == ["new", "offered", "work_in_progress"]


async def test_without_consolidation_each_agent_has_their_own_interaction(tmp_path):
    base = make_settings(tmp_path)
    rt = Runtime(base.model_copy(update={"lifecycle": base.lifecycle.model_copy(update={"draft_consolidation": False})}))
    await rt.start()
    try:
        a, _ = await rt.save_draft(agent="alice", plugin="sample", account="acme", customer=CUSTOMER, text="1",
                                   business="biz")
        b, _ = await rt.save_draft(agent="bob", plugin="sample", account="acme", customer=CUSTOMER, text="2",
                                   business="biz")
        a2, _ = await rt.save_draft(agent="alice", plugin="sample", account="acme", customer=CUSTOMER, text="3",
                                    business="biz")
        assert a.id != b.id and a2.id == a.id and len(a2.drafts) == 2
    finally:
        await rt.stop()


async def test_drafts_over_the_api(runtime):
    await ingest(runtime, message_event(1))  # an inbound conversation of another customer: untouched
    async with api_access.client(create_app(runtime), await api_access.api_key(runtime)) as client:
        saved = await client.post("/v1/interactions/drafts", json={
            "agent": "alice", "plugin": "sample", "account": "acme", "customer": CUSTOMER, "text": "Hello",
            "business": "biz"})
        assert saved.status_code == 201, saved.text
        inter, draft = saved.json()["interaction"], saved.json()["draft_id"]
        assert inter["state"] == "new" and inter["drafts"][0]["id"] == draft
        assert (await client.post("/v1/interactions/drafts", json={
            "agent": "nobody", "plugin": "sample", "account": "acme", "customer": CUSTOMER, "text": "x"})).status_code == 404
        sent = await client.post(f"/v1/interactions/{inter['id']}/drafts/{draft}/send", json={"agent": "alice"})
        assert sent.status_code == 200 and sent.json()["state"] == "work_in_progress"
        again = await client.post(f"/v1/interactions/{inter['id']}/drafts/{draft}/send", json={"agent": "alice"})
        assert again.status_code == 409
