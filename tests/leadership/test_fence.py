"""The outbox's fence (``OutboxWorker.fence``, the runtime's ``Leadership.valid``): a process
that no longer leads claims nothing, and one whose lease closes between the claim and the send
sends nothing and records nothing (the row stays ``sending`` for the next leader)."""

from __future__ import annotations

import respx
from sample_wire import ingest, message_event


async def accepted(rt):
    await ingest(rt, message_event(1))
    return await rt.accept((await rt.interactions())[0].id)


def outbox_state(rt):
    return rt.store.transact(lambda tx: tx.c.execute("SELECT state, attempts FROM outbox").fetchone())


async def test_a_closed_fence_claims_nothing(runtime):
    await runtime.outbox.stop()  # the test drives the worker
    inter = await accepted(runtime)
    runtime.outbox.fence = lambda: False
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
        await runtime.reply(inter.id, "hello")
        assert await runtime.outbox.run_once() == 0
    assert not route.calls
    assert tuple(await outbox_state(runtime)) == ("pending", 0)


async def test_a_fence_closing_after_the_claim_sends_and_records_nothing(runtime):
    await runtime.outbox.stop()
    inter = await accepted(runtime)
    checks = iter([True])  # open for the claim, closed from then on
    runtime.outbox.fence = lambda: next(checks, False)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
        await runtime.reply(inter.id, "hello")
        assert await runtime.outbox.run_once() == 0
    assert not route.calls
    assert tuple(await outbox_state(runtime)) == ("sending", 1)  # the next leader puts it back


async def test_on_sqlite_nothing_is_fenced(runtime):
    # one process per file: the local lease is always held, the outbox runs as it always did
    assert runtime.outbox.fence is None and runtime.webhooks.fence is None
    assert not runtime.leadership.shared and runtime.leadership.valid()
