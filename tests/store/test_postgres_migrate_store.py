"""``omnisdk migrate-store``: a SQLite store copied into an empty PostgreSQL store reads the
same through the store protocols, goes on where it stopped (positions, numbers, the inbox
cursor), and a copy into a store that holds data copies nothing."""

from __future__ import annotations

import pytest
from postgres_schemas import fresh_schema, schema_url
from store_contract import SOURCE, event, interaction
from typer.testing import CliRunner

from omnisdk.cli import app
from omnisdk.routing.model import Agent, Queue
from omnisdk.store import InboxResult, StoreError, open_store
from omnisdk.store.postgres.from_sqlite import Progress, copy_sqlite_to_postgres
from omnisdk.store.rows import BusEventRow


def _bus_event(n: int) -> BusEventRow:
    return BusEventRow(msg_id=f"{n:064x}", event_type="io.omnisdk.interaction.created", payload=b'{"n": %d}' % n,
                       created_at=10.0 + n)


async def _fill(url: str, inbox_url: str | None) -> None:
    store = open_store(url, synchronous="NORMAL", inbox_url=inbox_url)
    await store.open()
    try:
        await store.append_inbox([event(n) for n in range(1, 6)], "2030-01-02T03:04:05Z")

        def work(tx):
            for n in range(1, 4):
                tx.save_interaction(interaction(n, state="closed" if n == 3 else "queued"))
                tx.log_transition(f"{n:032x}", "2030-01-02T03:04:05Z", None, "new", None, None)
                tx.insert_message(source=SOURCE, message_id=f"m-{n}", interaction_id=f"{n:032x}", direction="inbound",
                                  kind="text", body={"text": f"hi {n}"}, at=f"2030-01-02T03:04:0{n}Z")
            tx.mark_processed_through(tx.claim_inbox(3)[-1].seq)
            tx.schedule_timer("offer:x", "offer", 100.0, f"{1:032x}", {"seq": 1})
            tx.enqueue_outbox(idempotency_key="r-1", plugin="sample", account="acme", interaction_id=f"{1:032x}",
                              payload={"text": "hello"}, now=10.0)
            tx.save_queue(Queue(name="vip"))
            tx.save_queue(Queue(name="b"))
            tx.save_agent(Agent(id="alice", capacity={"chat": 2}))
            tx.upsert_contact("chat", "+15550100001", "Ann", "2030-01-02T03:04:05Z")
            tx.set_opt_out("sms", "+15550100001", True, "2030-01-02T03:04:05Z")
            tx.next_number("case")
            tx.count("x", 7)
            tx.enqueue_bus_events([_bus_event(n) for n in range(1, 4)])
            tx.fail_bus_events([tx.bus_events()[-1].seq], error="MaxPayloadError")

        await store.transact(work)
    finally:
        await store.close()


def _reads(tx):
    return {
        "interactions": [i.model_dump() for i in tx.list_interactions()],
        "history": [tx.interaction_history(f"{n:032x}") for n in range(1, 4)],
        "messages": [tx.messages_of(f"{n:032x}") for n in range(1, 4)],
        "inbox": [(i.seq, i.event.id) for i in tx.claim_inbox(100)],
        "timers": tx.pending_timers(),
        "queues": [q.name for q in tx.list_queues()],
        "agents": tx.list_agents(),
        "contact": tx.get_contact(tx.contact_of("chat", "+15550100001")).addresses,
        "opted_out": (tx.opted_out("sms", "+15550100001"), tx.opted_out("chat", "+15550100001")),
        "counters": {k: v for k, v in tx.counters().items() if k != "seq.case"},
        "feed": tx.feed_head(),
        "outbox": tx.outbox_pending(),
        "bus_outbox": tx.bus_events(),
    }


@pytest.mark.parametrize("split", [False, True], ids=["one-file", "split-inbox"])
async def test_a_copied_store_reads_the_same_and_goes_on(tmp_path, split):
    url = f"sqlite:///{tmp_path / 'core.db'}"
    inbox_url = f"sqlite:///{tmp_path / 'inbox.db'}" if split else None
    await _fill(url, inbox_url)
    before = await open_store(url, inbox_url=inbox_url).read(_reads)
    assert before["inbox"] and before["timers"] and before["opted_out"] == (True, False)  # something to copy
    with fresh_schema() as schema:
        steps: list[Progress] = []
        copied = copy_sqlite_to_postgres(open_store(url, inbox_url=inbox_url), open_store(schema_url(schema)),
                                         steps.append)
        assert copied["interactions"] == 3 and copied["inbox"] == 5 and copied["messages"] == 3
        assert {s.table for s in steps if s.done} == set(copied)
        pg = open_store(schema_url(schema))
        assert await pg.read(_reads) == before
        await pg.open()
        try:  # it goes on: new positions after the copied ones, numbers after the copied ones
            assert await pg.append_inbox([event(6)], "2030-01-02T03:04:06Z") == InboxResult(1, 0)
            assert await pg.append_inbox([event(1)], "2030-01-02T03:04:06Z") == InboxResult(0, 1)
            items = await pg.transact(lambda tx: tx.claim_inbox(10))
            assert [i.event.id for i in items] == ["m-4", "m-5", "m-6"] and items[-1].seq == 6
            assert await pg.transact(lambda tx: tx.next_number("case")) == 2
            await pg.transact(lambda tx: tx.log_transition("i-9", "2030-01-02T03:04:09Z", None, "new", None, None))
            assert (await pg.transact(lambda tx: tx.feed_head()))[0] == before["feed"][0] + 1
            [row] = await pg.transact(lambda tx: tx.claim_outbox(10.0, 10))
            assert row.idempotency_key == "r-1"
            await pg.transact(lambda tx: tx.enqueue_bus_events([_bus_event(9)]))
            pending = await pg.transact(lambda tx: tx.claim_bus_events(100.0, 10, 30.0))
            assert [r.payload for r in pending] == [b'{"n": 1}', b'{"n": 2}', b'{"n": 9}']  # after the copied ones
        finally:
            await pg.close()


async def test_a_store_that_holds_data_gets_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'core.db'}"
    await _fill(url, None)
    with fresh_schema() as schema:
        copy_sqlite_to_postgres(open_store(url), open_store(schema_url(schema)))
        with pytest.raises(StoreError, match="not empty"):
            copy_sqlite_to_postgres(open_store(url), open_store(schema_url(schema)))
        counts = await open_store(schema_url(schema)).read(lambda tx: tx.inbox_backlog())
        assert counts == 2  # the first copy, once


async def test_the_command_copies_and_says_what_to_set(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'core.db'}"
    await _fill(url, None)
    monkeypatch.setenv("OMNISDK_STORE__URL", url)
    with fresh_schema() as schema:
        target = schema_url(schema)
        result = CliRunner().invoke(app, ["migrate-store", "--to", target])
        assert result.exit_code == 0, result.output
        assert "interactions: 3 rows" in result.output and f'url = "{target}"' in result.output
        again = CliRunner().invoke(app, ["migrate-store", "--to", target])
        assert again.exit_code == 1 and "not empty" in again.output
    bad = CliRunner().invoke(app, ["migrate-store", "--to", "sqlite:///elsewhere.db"])
    assert bad.exit_code == 4 and "postgresql://" in bad.output
