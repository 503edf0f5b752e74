"""What the PostgreSQL store promises beyond the contract suite: several processes on one
schema (claims exactly once, the inbox cursor never skips a row), group commit, failures as
StoreError without secrets or row data, and the URL's options."""

from __future__ import annotations

import asyncio

import pytest
from postgres_schemas import POSTGRES_URL, fresh_schema, schema_url
from store_contract import SOURCE, event

from omnisdk.errors import ConfigError
from omnisdk.store import InboxResult, StoreError, StoreNotFound, open_store
from omnisdk.store.postgres.store import PostgresStore
from omnisdk.store.rows import ApiKeyRow, BusEventRow


@pytest.fixture
async def two_stores():
    """Two opened stores on one fresh schema: two processes sharing a database."""
    with fresh_schema() as schema:
        stores = [open_store(schema_url(schema), synchronous="NORMAL") for _ in range(2)]
        for s in stores:
            await s.open()
        try:
            yield stores
        finally:
            for s in stores:
                await s.close()


async def _claim_all(store, claim, batch: int = 7) -> list:
    got: list = []
    while rows := await store.transact(lambda tx: claim(tx, batch)):
        got += rows
    return got


async def test_two_stores_claim_each_due_timer_exactly_once(two_stores):
    a, b = two_stores
    await a.transact(lambda tx: [tx.schedule_timer(f"t-{n:03d}", "offer", float(n), None, {"n": n})
                                 for n in range(300)])
    claim = lambda tx, n: tx.claim_due_timers(1e9, n)  # noqa: E731
    got_a, got_b = await asyncio.gather(_claim_all(a, claim), _claim_all(b, claim))
    keys_a, keys_b = {t.key for t in got_a}, {t.key for t in got_b}
    assert not keys_a & keys_b
    assert keys_a | keys_b == {f"t-{n:03d}" for n in range(300)}
    assert len(got_a) + len(got_b) == 300


async def test_two_stores_claim_each_outbox_row_exactly_once(two_stores):
    a, b = two_stores

    def enqueue(tx):
        for n in range(200):
            tx.enqueue_outbox(idempotency_key=f"k-{n}", plugin="sample", account="acme", interaction_id=f"i-{n}",
                              payload={"text": str(n)}, now=1.0)

    await a.transact(enqueue)
    claim = lambda tx, n: tx.claim_outbox(10.0, n)  # noqa: E731
    got_a, got_b = await asyncio.gather(_claim_all(a, claim), _claim_all(b, claim))
    ids = [r.id for r in got_a + got_b]
    assert len(ids) == len(set(ids)) == 200
    assert all(r.attempts == 1 for r in got_a + got_b)


async def test_two_stores_claim_each_bus_event_exactly_once_in_order(two_stores):
    a, b = two_stores
    rows = [BusEventRow(msg_id=f"{n:064x}", event_type="io.omnisdk.interaction.created", payload=b"{}",
                        created_at=1.0) for n in range(200)]
    assert await a.transact(lambda tx: tx.enqueue_bus_events(rows)) == 200
    claim = lambda tx, n: tx.claim_bus_events(10.0, n, 30.0)  # noqa: E731
    got_a, got_b = await asyncio.gather(_claim_all(a, claim), _claim_all(b, claim))
    seqs = [r.seq for r in got_a + got_b]
    assert len(seqs) == len(set(seqs)) == 200
    assert all(r.attempts == 1 for r in got_a + got_b)
    for got in (got_a, got_b):  # each claimer sees commit order
        assert [r.seq for r in got] == sorted(r.seq for r in got)


async def test_inbox_appends_from_two_processes_are_each_taken_once_in_order(two_stores):
    ingress, core = two_stores
    taken: list = []
    done = asyncio.Event()

    async def process():
        while True:
            finished = done.is_set()

            def step(tx):
                rows = tx.claim_inbox(13)
                if rows:
                    tx.mark_processed_through(rows[-1].seq)
                return rows

            rows = await core.transact(step)
            taken.extend(rows)
            if not rows and finished:
                return
            await asyncio.sleep(0)

    async def append(store, first):
        for n in range(first, first + 150, 3):
            assert await store.append_inbox([event(n), event(n + 1), event(n + 2)], "2030-01-02T03:04:05Z") \
                == InboxResult(3, 0)

    processor = asyncio.create_task(process())
    await asyncio.gather(append(ingress, 0), append(core, 1000), append(ingress, 2000))
    done.set()
    await processor
    seqs = [i.seq for i in taken]
    assert seqs == sorted(seqs)
    assert sorted(i.event.id for i in taken) == sorted(f"m-{n}" for f in (0, 1000, 2000) for n in range(f, f + 150))
    assert await ingress.append_inbox([event(5)], "2030-01-02T03:04:06Z") == InboxResult(0, 1)  # deduped


async def test_concurrent_calls_share_a_commit_and_a_failing_job_rolls_back_alone(monkeypatch):
    with fresh_schema() as schema:
        store = open_store(schema_url(schema), synchronous="NORMAL")
        await store.open()
        try:
            batches: list[int] = []
            real = PostgresStore._in_transaction

            def counted(self, conn, jobs):
                batches.append(len(jobs))
                return real(self, conn, jobs)

            monkeypatch.setattr(PostgresStore, "_in_transaction", counted)

            def broken(tx):
                tx.schedule_timer("bad", "offer", 1.0, None, {})
                tx.run("SELECT no_such_column FROM timers")  # aborts the transaction until its savepoint

            calls = [store.append_inbox([event(n)], "2030-01-02T03:04:05Z") for n in range(100)]
            calls.insert(50, store.transact(broken))
            calls.append(store.transact(lambda tx: tx.schedule_timer("good", "offer", 1.0, None, {})))
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert isinstance(results[50], StoreError) and "no_such_column" in str(results[50])
            assert [r for r in results if isinstance(r, InboxResult)] == [InboxResult(1, 0)] * 100
            assert len(batches) < 102 / 4  # group commit: many calls per commit
            assert [t.key for t in await store.transact(lambda tx: tx.pending_timers())] == ["good"]
            assert await store.transact(lambda tx: tx.inbox_backlog()) == 100
        finally:
            await store.close()


async def test_errors_hold_neither_the_password_nor_row_data():
    store = open_store("postgresql://omnisdk:s3cret-pw@127.0.0.1:1/test", connect_timeout=2)
    assert "s3cret-pw" not in store.location
    with pytest.raises(StoreError) as info:
        await store.open()
    assert "s3cret-pw" not in str(info.value) and "127.0.0.1" in str(info.value)
    with fresh_schema() as schema:
        store = open_store(schema_url(schema))
        await store.open()
        try:
            key = ApiKeyRow(id="key-id-4711", name="n", role="agent", scopes=(), secret_hash="h-secret",
                            created_at="2030-01-02T03:04:05Z")
            await store.transact(lambda tx: tx.save_api_key(key))
            with pytest.raises(StoreError) as info:
                await store.transact(lambda tx: tx.save_api_key(key))
            assert "UniqueViolation" in str(info.value)
            assert "key-id-4711" not in str(info.value) and "h-secret" not in str(info.value)
        finally:
            await store.close()


async def test_read_never_creates_a_store_and_reads_a_running_one():
    with fresh_schema() as schema:
        with pytest.raises(StoreNotFound):
            await open_store(schema_url(schema)).read(lambda tx: tx.counters())
        store = open_store(schema_url(schema))
        await store.open()
        try:
            await store.append_inbox([event(1)], "2030-01-02T03:04:05Z")
            reader = open_store(schema_url(schema))
            assert (await reader.read(lambda tx: tx.counters()))["events.accepted"] == 1
        finally:
            await store.close()


@pytest.mark.parametrize(("url", "options", "says"), [
    (f"{POSTGRES_URL}?schema=1bad", {}, "identifier"),
    (f"{POSTGRES_URL}?schema=a&schema=b", {}, "more than once"),
    (POSTGRES_URL, {"inbox_url": "sqlite:///inbox.db"}, "inbox_url"),
    (POSTGRES_URL, {"cache_kib": 1}, "cache_kib"),
    (POSTGRES_URL, {"synchronous": "OFF"}, "synchronous"),
    ("postgresql://u:pw@h/db?no_such_libpq_option=1", {}, "libpq can parse"),
    ("postgresql:/nohost", {}, "postgresql://"),
])
def test_bad_urls_and_options_are_config_errors(url, options, says):
    with pytest.raises(ConfigError, match=says) as info:
        open_store(url, **options)
    assert "pw" not in str(info.value)


async def test_a_known_address_keeps_its_contact_and_takes_a_new_name_only():
    with fresh_schema() as schema:
        store = open_store(schema_url(schema))
        await store.open()
        try:
            def upsert(name):
                def work(tx):
                    before = tx.writes()
                    cid = tx.upsert_contact("chat", "+15550100001", name, "2030-01-02T03:04:05Z")
                    return cid, tx.writes() - before, tx.get_contact(cid).display_name

                return store.transact(work)

            cid, wrote, name = await upsert("Ann")
            assert (wrote, name) == (2, "Ann")  # the address and the contact
            assert await upsert("Ann") == (cid, 0, "Ann")  # nothing changed, nothing written
            assert await upsert(None) == (cid, 0, "Ann")  # no name given: the old one stays
            assert await upsert("Ann B") == (cid, 1, "Ann B")
        finally:
            await store.close()


async def test_a_value_postgresql_cannot_hold_is_bad_data_not_a_failed_store():
    from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event

    odd = Event(id="m-\x00-1", source="/sample/acme", type=TYPE_MESSAGE_RECEIVED, data={"text": "x"},
                partitionkey="k\x00")
    with fresh_schema() as schema:
        store = open_store(schema_url(schema))
        await store.open()
        try:  # the inbox takes what SQLite takes, deduplicated the same way, the event intact
            assert await store.append_inbox([odd], "2030-01-02T03:04:05Z") == InboxResult(1, 0)
            assert await store.append_inbox([odd], "2030-01-02T03:04:05Z") == InboxResult(0, 1)
            [item] = await store.transact(lambda tx: tx.claim_inbox(10))
            assert item.event.id == "m-\x00-1" and item.event.partitionkey == "k\x00"

            def work(tx):
                with pytest.raises(ValueError, match="NUL") as info, tx.savepoint():
                    tx.insert_message(source=SOURCE, message_id="m-\x00", interaction_id=None, direction="inbound",
                                      kind="text", body={}, at="2030-01-02T03:04:05Z")
                assert not isinstance(info.value, StoreError)  # the processor fails that event, not the batch
                tx.schedule_timer("t", "offer", 1.0, None, {})  # the transaction goes on

            await store.transact(work)
            assert [t.key for t in await store.transact(lambda tx: tx.pending_timers())] == ["t"]
        finally:
            await store.close()
