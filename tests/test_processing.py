"""Threading, routing v1, forward-only statuses and closing, through the runtime."""

from __future__ import annotations

import pytest
from sample_wire import ingest, message_event, status_event

from omnisdk.errors import StateError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.model import InteractionState


async def test_messages_of_one_conversation_thread_into_one_interaction(runtime):
    await ingest(runtime, message_event(1), message_event(2), message_event(3))
    items = await runtime.interactions()
    assert len(items) == 1
    assert items[0].message_count == 3
    assert items[0].conversation_key == "sample/acme:chat:biz:+15550100001"


async def test_other_customer_or_business_address_opens_another_interaction(runtime):
    await ingest(runtime, message_event(1), message_event(2, customer="+15550100002"),
                 message_event(3, business="biz2"))
    keys = sorted(i.conversation_key for i in await runtime.interactions())
    assert keys == ["sample/acme:chat:biz2:+15550100001", "sample/acme:chat:biz:+15550100001",
                    "sample/acme:chat:biz:+15550100002"]


async def test_most_free_capacity_wins_and_capacity_is_never_exceeded(runtime):
    # alice has 2 chat slots, bob 1: expect alice, then a tie (1 vs 1) won by bob (at that free level
    # first), then alice (bob is full), then the fourth is queued.
    await ingest(runtime, *(message_event(i, customer=f"+1555010000{i}") for i in range(4)))
    items = await runtime.interactions()
    agents = [i.agent for i in items]
    assert agents.count("alice") == 2 and agents.count("bob") == 1
    queued = [i for i in items if i.state is InteractionState.QUEUED]
    assert len(queued) == 1 and queued[0].agent is None and queued[0].queue == "support"


async def test_closing_frees_capacity_and_drains_the_backlog(runtime):
    await ingest(runtime, *(message_event(i, customer=f"+1555010000{i}") for i in range(4)))
    items = await runtime.interactions()
    bobs = [i for i in items if i.agent == "bob"][0]
    queued = [i for i in items if i.state is InteractionState.QUEUED][0]
    await runtime.close_interaction(bobs.id, "Issue resolved")
    after = {i.id: i for i in await runtime.interactions()}
    assert after[bobs.id].state is InteractionState.CLOSED
    assert after[bobs.id].wrap_up_code == "Issue resolved"
    assert after[queued.id].state is InteractionState.OFFERED and after[queued.id].agent == "bob"


async def test_a_message_after_close_opens_a_new_interaction(runtime):
    await ingest(runtime, message_event(1))
    first = (await runtime.interactions())[0]
    await runtime.close_interaction(first.id)
    await ingest(runtime, message_event(2))
    items = await runtime.interactions()
    assert len(items) == 2
    assert sum(1 for i in items if i.state.active) == 1


async def test_closing_twice_is_a_state_error(runtime):
    await ingest(runtime, message_event(1))
    first = (await runtime.interactions())[0]
    await runtime.close_interaction(first.id)
    with pytest.raises(StateError):
        await runtime.close_interaction(first.id)


async def test_redelivered_event_adds_nothing(runtime):
    await ingest(runtime, message_event(1))
    await ingest(runtime, message_event(1))
    items = await runtime.interactions()
    assert len(items) == 1 and items[0].message_count == 1
    stats = await runtime.stats()
    assert stats["events.accepted"] == 1 and stats["events.deduplicated"] == 1


@pytest.mark.parametrize(
    "order, final",
    [
        (["sent", "delivered", "read"], "read"),
        (["read", "delivered", "sent"], "read"),
        (["delivered", "failed", "read"], "failed"),
        (["sent", "read", "delivered"], "read"),
    ],
)
async def test_delivery_status_only_moves_forward(runtime, order, final):
    await ingest(runtime, *(status_event("out-1", s) for s in order))
    status = await runtime.store.transact(lambda tx: tx.message_status("/sample/acme", "out-1"))
    assert status == final


async def test_invalid_event_data_is_kept_and_does_not_block_the_rest(runtime):
    bad = Event(id="bad-1", source="/sample/acme", type=TYPE_MESSAGE_RECEIVED, data={"nonsense": True})
    await ingest(runtime, bad, message_event(2))
    assert len(await runtime.interactions()) == 1
    error = await runtime.store.transact(lambda tx: tx.inbox_failure("/sample/acme", "bad-1"))
    assert "message_id" in error
    assert await runtime.store.transact(lambda tx: tx.inbox_backlog()) == 0
    assert (await runtime.stats())["events.failed"] == 1


async def test_unknown_interaction_reply_is_a_state_error(runtime):
    with pytest.raises(StateError):
        await runtime.reply("nope", "hello")


async def test_a_raising_decision_hook_fails_that_event_only_and_leaves_no_half_record(runtime):
    from omnisdk.hookspecs import hookimpl

    class Picky:
        @hookimpl
        def omnisdk_select_queue(self, interaction, queues):
            if interaction.customer == "+15550100666":
                raise RuntimeError("plugin bug")
            return None

    runtime.host.allow.add("picky")  # the fixture allows only the sample plugin
    assert runtime.host.register(Picky(), "picky")
    await ingest(runtime, message_event(1, customer="+15550100666"), message_event(2))
    items = await runtime.interactions()
    assert [i.customer for i in items] == ["+15550100001"]
    contacts = await runtime.store.transact(
        lambda tx: [r[0] for r in tx.c.execute("SELECT value FROM addresses")]
    )
    assert contacts == ["+15550100001"], "the failed event's contact write must be rolled back"
    error = await runtime.store.transact(lambda tx: tx.inbox_failure("/sample/acme", "m-1"))
    assert error == "RuntimeError in processing (see the log)"


async def test_a_batch_with_failures_before_and_after_writes_applies_each_good_event_once(runtime):
    """An inbox batch runs first without a savepoint per item: an event that fails before writing
    (invalid data) is undone in memory; one that fails after writing (the contact is stored, then
    a decision hook raises) makes the batch run again, guarded.  Either way each good event is
    applied exactly once: one interaction, one history row per step, one message row, one count."""
    from omnisdk.hookspecs import hookimpl

    asked: list[str] = []

    class Picky:
        @hookimpl
        def omnisdk_select_queue(self, interaction, queues):
            asked.append(interaction.customer)
            if interaction.customer == "+15550100666":
                raise RuntimeError("plugin bug")
            return None

    runtime.host.allow.add("picky")
    assert runtime.host.register(Picky(), "picky")
    bad = Event(id="bad-1", source="/sample/acme", type=TYPE_MESSAGE_RECEIVED, data={"nonsense": True})
    await ingest(runtime, message_event(1), bad, message_event(2, customer="+15550100666"),
                 message_event(3, customer="+15550100003"))
    items = sorted(await runtime.interactions(), key=lambda i: i.customer)
    assert [i.customer for i in items] == ["+15550100001", "+15550100003"]
    assert "+15550100666" in asked and asked.count("+15550100001") == 2, "the batch ran twice"

    def rows(tx):
        c = tx.c
        return (
            [r[0] for r in c.execute("SELECT value FROM addresses ORDER BY value")],
            c.execute("SELECT interaction_id, to_state, COUNT(*) FROM interaction_log"
                      " GROUP BY interaction_id, to_state HAVING COUNT(*) > 1").fetchall(),
            c.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
            sorted(r[0] for r in c.execute("SELECT id FROM inbox_failures")),
            tx.inbox_backlog(),
        )

    addresses, repeated_steps, messages, failures, backlog = await runtime.store.transact(rows)
    assert addresses == ["+15550100001", "+15550100003"]
    assert repeated_steps == []
    assert messages == 2
    assert failures == ["bad-1", "m-2"]
    assert backlog == 0
    stats = await runtime.stats()
    assert stats["events.failed"] == 2
    # the routing engine holds exactly what the store says is offered
    assert {iid: agent for iid, (agent, _) in runtime.engine.holder.items()} == {
        i.id: i.agent for i in items if i.state is InteractionState.OFFERED}
    assert sum(sum(per_channel.values()) for per_channel in runtime.engine.load.values()) == len(
        [i for i in items if i.state is InteractionState.OFFERED])


@pytest.mark.parametrize("role", ["all", "core"])
async def test_a_runtime_stopped_right_after_it_started_stops(settings, role):
    """The background loops start awake (rows left by an earlier run); a cancel that arrives as
    that wake-up is consumed must still stop them (``asyncio.wait_for`` on 3.11 loses it)."""
    import asyncio

    from omnisdk.runtime import Runtime

    for _ in range(3):
        rt = Runtime(settings, role=role)
        await rt.start()
        stopping = asyncio.create_task(rt.stop())
        done, _ = await asyncio.wait([stopping], timeout=10)
        assert done, "stop waits for a loop that lost its cancel"
        stopping.result()


async def test_the_acknowledgement_goes_through_the_public_outbound_operation(tmp_path, monkeypatch):
    """Issue 8, item A2: the processor queues the acknowledgement of a new interaction with the
    public ``omnisdk.outbound.enqueue.enqueue_text`` (it called the private ``Lifecycle._send``),
    once, on a recorded WhatsApp Cloud API text; a redelivery queues nothing more; the outbox
    worker sends it to the customer through the Graph API."""
    import httpx
    import orjson
    import respx

    from omnisdk.adapters import WebhookRequest
    from omnisdk.config import Settings
    from omnisdk.inbox import processor
    from omnisdk.recordings import load
    from omnisdk.runtime import Runtime
    from omnisdk_whatsapp import WhatsAppAdapter

    recorded = {r.name: r for r in load(WhatsAppAdapter.recordings)}["message/text"]
    settings = Settings(
        store={"url": f"sqlite:///{tmp_path / 'omni.db'}", "synchronous": "NORMAL"},
        routing={"queues": [{"name": "support"}], "agents": [{"id": "alice", "capacity": {"whatsapp": 1}}],
                 "acknowledgement": "We got your message"},
        accounts={"whatsapp": {"acme": WhatsAppAdapter.example_settings()}},
    )
    queued: list[tuple[str, str, str, bool]] = []

    def spy(ctx, interaction, text, key, *, automatic=False, notice=None):
        assert automatic  # an acknowledgement is the core's own mail, never a person's
        assert notice == "acknowledgement"  # on whatsapp, customers see it (on sms it stays internal)
        added = real(ctx, interaction, text, key, automatic=automatic, notice=notice)
        queued.append((interaction.id, text, key, added))
        return added

    real = processor.enqueue_text
    monkeypatch.setattr(processor, "enqueue_text", spy)
    rt = Runtime(settings)
    await rt.store.open()
    try:
        await rt.processor.restore()
        assert not hasattr(rt.lifecycle, "_send")
        adapter = rt.adapter("whatsapp", "acme")
        request = WebhookRequest(method="POST", url="https://cx.example.test/webhooks/whatsapp/acme",
                                 headers={"content-type": recorded.content_type}, body=recorded.body,
                                 query={}, received_at="2026-11-21T09:00:00Z")
        for _ in range(2):  # the provider redelivers the same body
            await rt.store.append_inbox(adapter.parse(request), "2026-11-21T09:00:00Z")
            await rt.processor.drain()
        [inter] = await rt.interactions()
        assert inter.customer == "+972987654321" and inter.business == "1122334455667"
        assert queued == [(inter.id, "We got your message", f"ack:{inter.id}", True)]
        with respx.mock(base_url="https://graph.facebook.com", assert_all_called=False) as mock:
            graph = mock.post("/v21.0/1122334455667/messages").mock(
                return_value=httpx.Response(200, json=WhatsAppAdapter.sandbox_reply(0)))
            assert await rt.outbox.run_once() == 1
        [sent] = [orjson.loads(c.request.content) for c in graph.calls]
        assert sent["to"] == "972987654321"  # the WhatsApp "to" is the wa_id, without the "+"
        assert sent["text"]["body"] == "We got your message"
    finally:
        for a in rt.adapters.values():
            await a.aclose()
        await rt.store.close()
