"""The store's cheap aggregate reads for monitoring (``/metrics``, ``/readyz``): what they count,
and that SQLite answers them from an index (their cost follows the rows they count, not the
table: closed interactions and sent mail never get read)."""

from __future__ import annotations

from store_contract import event, interaction

from omnisdk.store import open_store

ACTIVE = ["new", "queued", "offered", "work_in_progress", "on_hold", "wrap_up"]


async def _store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'g.db'}", synchronous="NORMAL")
    await store.open()
    return store


async def test_interactions_are_counted_per_state_and_closed_ones_only_when_asked(tmp_path):
    store = await _store(tmp_path)
    try:
        def fill(tx):
            for n, state in enumerate(["queued", "queued", "work_in_progress", "closed", "closed", "closed"]):
                tx.save_interaction(interaction(n, state=state, agent="alice" if state != "queued" else None))

        await store.transact(fill)
        assert await store.transact(lambda tx: tx.count_interactions_in(ACTIVE)) == {
            "queued": 2, "work_in_progress": 1}
        assert await store.transact(lambda tx: tx.count_interactions_in(["closed"])) == {"closed": 3}
        plan = await store.transact(lambda tx: tx.c.execute(
            "EXPLAIN QUERY PLAN SELECT state, COUNT(*) FROM interactions WHERE state IN (?, ?) GROUP BY state",
            ("queued", "offered")).fetchall())
        assert any("interactions_by_state" in row[-1] for row in plan), plan
    finally:
        await store.close()


async def test_the_oldest_unprocessed_inbox_row_is_the_first_after_the_cursor(tmp_path):
    store = await _store(tmp_path)
    try:
        assert await store.transact(lambda tx: tx.oldest_unprocessed_at()) is None
        await store.append_inbox([event(1)], "2026-01-01T00:00:01Z")
        await store.append_inbox([event(2)], "2026-01-01T00:00:02Z")
        assert await store.transact(lambda tx: tx.oldest_unprocessed_at()) == "2026-01-01T00:00:01Z"
        first = (await store.transact(lambda tx: tx.claim_inbox(1)))[0]
        await store.transact(lambda tx: tx.mark_processed_through(first.seq))
        assert await store.transact(lambda tx: tx.oldest_unprocessed_at()) == "2026-01-01T00:00:02Z"
        assert await store.transact(lambda tx: tx.inbox_backlog()) == 1
    finally:
        await store.close()


async def test_pending_sends_are_counted_from_the_partial_index(tmp_path):
    store = await _store(tmp_path)
    try:
        for n in range(3):
            await store.transact(lambda tx, n=n: tx.enqueue_outbox(
                idempotency_key=f"k{n}", plugin="sample", account="acme", interaction_id=None,
                payload={"text": str(n)}, now=0.0))
        claimed = await store.transact(lambda tx: tx.claim_outbox(10.0, 1))
        await store.transact(lambda tx: tx.finish_outbox(claimed[0].id, state="sent"))
        assert await store.transact(lambda tx: tx.outbox_pending()) == 2
        plan = await store.transact(lambda tx: tx.c.execute(
            "EXPLAIN QUERY PLAN SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchall())
        assert any("outbox_due" in row[-1] for row in plan), plan
    finally:
        await store.close()
