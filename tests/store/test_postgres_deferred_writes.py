"""The PostgreSQL store's deferred writes and remembered active interactions
(:mod:`omnisdk.store.postgres.atomic`, :mod:`omnisdk.store.postgres.interactions`): fewer round
trips, the same answers and the same errors, inside the block that made them."""

from __future__ import annotations

import pytest
from postgres_schemas import fresh_schema, schema_url
from store_contract import SOURCE, interaction

from omnisdk.errors import StateError
from omnisdk.model import InteractionState
from omnisdk.store import open_store


@pytest.fixture
async def store():
    with fresh_schema() as schema:
        s = open_store(schema_url(schema), synchronous="NORMAL")
        await s.open()
        try:
            yield s
        finally:
            await s.close()


def _message(tx, n: int, text: str = "hi") -> None:
    tx.insert_message_later(source=SOURCE, message_id=f"m-{n}", interaction_id=f"{n:032x}", direction="inbound",
                            kind="text", body={"text": text}, at="2030-01-02T03:04:05Z")


async def test_a_blocks_writes_take_one_round_trip_and_a_read_after_them_sees_them(store):
    def work(tx):
        before = tx.round_trips
        with tx.savepoint():
            for n in range(5):
                tx.upsert_contact_later("chat", f"+1555{n:07d}", f"C{n}", "2030-01-02T03:04:05Z")
                _message(tx, n)
                tx.schedule_timer(f"offer:{n}", "offer", 10.0 + n, f"{n:032x}", {"n": n})
                tx.save_interaction(interaction(n))
            queued = tx.round_trips - before
            timers = tx.pending_timers()  # the queue and this read: one round trip
            read = tx.round_trips - before
        return queued, read, [t.key for t in timers], tx.contact_of("chat", "+15550000003") is not None

    queued, read, keys, contact = await store.transact(work)
    assert (queued, read) == (0, 1)
    assert keys == [f"offer:{n}" for n in range(5)] and contact
    assert [m.message_id for m in await store.transact(lambda tx: tx.messages_of(f"{3:032x}"))] == ["m-3"]
    assert len(await store.transact(lambda tx: tx.list_interactions())) == 5


async def test_a_deferred_save_that_breaks_one_active_per_key_fails_inside_its_block(store):
    key = "sample/acme:chat:biz:+15550000001"
    await store.transact(lambda tx: tx.save_interaction(interaction(1, key=key)))

    def work(tx):
        with pytest.raises(StateError, match=r"\+15550000001.*already has an active"), tx.savepoint():
            tx.schedule_timer("gone", "offer", 1.0, None, {})
            tx.save_interaction(interaction(2, key=key))  # queued: raises when the block ends
            _message(tx, 2)
        with tx.savepoint():  # the transaction goes on; the failed block left nothing
            tx.schedule_timer("kept", "offer", 2.0, None, {})
        return [t.key for t in tx.pending_timers()], tx.active_interaction(key).id

    keys, active = await store.transact(work)
    assert keys == ["kept"] and active == f"{1:032x}"
    assert await store.transact(lambda tx: tx.message_status(SOURCE, "m-2")) is None
    assert await store.transact(lambda tx: tx.get_interaction(f"{2:032x}")) is None


async def test_outside_a_block_a_save_still_fails_at_once(store):
    key = "sample/acme:chat:biz:+15550000009"

    reached = []

    def work(tx):
        tx.save_interaction(interaction(1, key=key))
        tx.save_interaction(interaction(2, key=key))  # sent now: raises here, not at the job's end
        reached.append(True)

    with pytest.raises(StateError):  # the job failed; nothing of it was committed
        await store.transact(work)
    assert reached == []
    assert await store.transact(lambda tx: tx.list_interactions()) == []


async def test_a_block_rolled_back_before_it_sent_anything_costs_no_round_trip(store):
    def work(tx):
        before = tx.round_trips
        with pytest.raises(RuntimeError), tx.savepoint():
            tx.schedule_timer("never", "offer", 1.0, None, {})
            raise RuntimeError("the item failed")
        spent = tx.round_trips - before
        return spent, tx.pending_timers()

    spent, timers = await store.transact(work)
    assert spent == 0 and timers == []


async def test_prefetched_active_interactions_answer_as_the_table_does(store):
    keys = [f"sample/acme:chat:biz:+1555{n:07d}" for n in range(4)]
    await store.transact(lambda tx: [tx.save_interaction(interaction(n, key=keys[n])) for n in range(2)])

    def work(tx):
        tx.prefetch_active([*keys, keys[0]])
        before = tx.round_trips
        answers = [tx.active_interaction(k) for k in keys]
        assert tx.round_trips == before  # answered from the prefetch
        with tx.savepoint():
            closed = answers[0].model_copy(update={"state": InteractionState.CLOSED})
            tx.save_interaction(closed)
            tx.save_interaction(interaction(10, key=keys[0]))  # a new one after the closed one
            tx.save_interaction(interaction(12, key=keys[2]))
            remembered = [tx.active_interaction(k) for k in keys]
        assert tx.round_trips == before + 1  # only the block's flush
        with pytest.raises(StateError), tx.savepoint():  # a failed block forgets what it saved
            tx.save_interaction(interaction(13, key=keys[3]))
            tx.save_interaction(interaction(14, key=keys[3]))
        after_failure = tx.active_interaction(keys[3])
        tx.forget_cached()
        table = [tx.active_interaction(k) for k in keys]
        return answers, remembered, after_failure, table

    answers, remembered, after_failure, table = await store.transact(work)
    assert [a.id if a else None for a in answers] == [f"{0:032x}", f"{1:032x}", None, None]
    assert [a.id if a else None for a in remembered] == [f"{10:032x}", f"{1:032x}", f"{12:032x}", None]
    assert after_failure is None
    assert [a.model_dump() if a else None for a in remembered] == [a.model_dump() if a else None for a in table]
