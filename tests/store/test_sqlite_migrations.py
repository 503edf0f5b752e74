"""The SQLite schema is versioned: a database made by the release before versioning (``data/v1.db``,
made by ``data/make_v1_db.py`` with that release through its real gateway and the WhatsApp
recordings) upgrades in place, reads back every row, and keeps working; a case document of the
release before typed case rows (``data/case_doc_v12.json``) loads into the model unchanged."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from documents import kept

from omnisdk.model import Case, CaseState, Interaction
from omnisdk.store import IdempotencyConflict, StoreError, open_store
from omnisdk.store.sqlite import migrations
from omnisdk.store.sqlite.migrations import LATEST, MIGRATIONS, migrate, schema_version

V1_DB = Path(__file__).parent / "data" / "v1.db"
SOURCE = "/whatsapp/acme"


@pytest.fixture
def old_db(tmp_path) -> Path:
    path = tmp_path / "omnisdk.db"
    shutil.copyfile(V1_DB, path)
    return path


def raw(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


async def opened(path: Path):
    store = open_store(f"sqlite:///{path}", synchronous="NORMAL")
    await store.open()
    return store


def test_the_committed_database_is_from_before_versioning():
    assert raw(V1_DB, "PRAGMA user_version") == [(0,)]
    assert [r[0] for r in raw(V1_DB, "SELECT conversation_key FROM interactions")][0].startswith("whatsapp:")
    assert "UNIQUE" in raw(V1_DB, "SELECT sql FROM sqlite_master WHERE name = 'outbox'")[0][0]


async def test_an_old_database_migrates_in_place_and_reads_back_every_row(old_db):
    before = {
        "interactions": raw(old_db, "SELECT id, conversation_key, doc FROM interactions ORDER BY id"),
        "history": raw(old_db, "SELECT interaction_id, at, from_state, to_state, agent, queue, note"
                               " FROM interaction_log ORDER BY seq"),
        "messages": raw(old_db, "SELECT interaction_id, message_id, direction, kind, body, created_at, status"
                                " FROM messages ORDER BY julianday(created_at), rowid"),
        "timers": raw(old_db, "SELECT key, kind, due_at, interaction_id, data FROM timers WHERE state = 'pending'"),
        "outbox": raw(old_db, "SELECT id, idempotency_key, interaction_id, payload FROM outbox"
                              " WHERE state = 'pending' ORDER BY id"),
        "cases": raw(old_db, "SELECT doc FROM cases ORDER BY number"),
        "counters": dict(raw(old_db, "SELECT name, value FROM counters")),
        "inbox": raw(old_db, "SELECT source, id, body FROM inbox ORDER BY seq"),
        "contacts": raw(old_db, "SELECT channel, value, contact_id FROM addresses"),
    }
    assert len(before["interactions"]) == 4 and len(before["outbox"]) == 2 and len(before["timers"]) == 1

    store = await opened(old_db)
    try:
        assert raw(old_db, "PRAGMA user_version") == [(LATEST,)]

        def read(tx):
            return {
                "interactions": [tx.get_interaction(iid) for iid, _, _ in before["interactions"]],
                "history": {iid: tx.interaction_history(iid) for iid, _, _ in before["interactions"]},
                "messages": {iid: tx.messages_of(iid) for iid, _, _ in before["interactions"]},
                "timers": tx.pending_timers(),
                "cases": list(reversed(tx.page_cases(limit=500).items)),
                "counters": tx.counters(),
                "backlog": tx.inbox_backlog(),
                "contacts": [tx.upsert_contact(ch, v, None, "2030-01-01T00:00:00Z") for ch, v, _ in before["contacts"]],
            }

        after = await store.transact(read)
        # interactions: the same documents, with the account in the conversation key
        for (_iid, key, doc), inter in zip(before["interactions"], after["interactions"], strict=True):
            old = Interaction.model_validate_json(doc)
            assert key.startswith("whatsapp:") and inter.conversation_key == f"whatsapp/acme:{key}"
            assert inter == old.model_copy(update={"conversation_key": f"whatsapp/acme:{key}"})
            assert await store.transact(lambda tx: tx.active_interaction(f"whatsapp/acme:{key}")) == (  # noqa: B023
                inter if inter.state.active else None)
            assert await store.transact(lambda tx: tx.active_interaction(key)) is None  # noqa: B023
        assert [tuple(h) for iid, _, _ in before["interactions"] for h in after["history"][iid]] == sorted(
            before["history"], key=lambda r: [i for i, _, _ in before["interactions"]].index(r[0]))
        got = [(iid, m.message_id, m.direction, m.kind, m.body, m.created_at, m.status)
               for iid, _, _ in before["interactions"] for m in after["messages"][iid]]
        want = [(iid, mid, d, k, orjson.loads(b) if b else None, at, st) for iid, mid, d, k, b, at, st in before["messages"]]
        assert sorted(got, key=str) == sorted(want, key=str)
        assert [(t.key, t.kind, t.due_at, t.interaction_id, t.data) for t in after["timers"]] == [
            (k, kind, due, iid, orjson.loads(data)) for k, kind, due, iid, data in before["timers"]]
        # cases: typed, with every field the old documents hold unchanged; what they lack is
        # the lifecycle's start (new, no history) and the interaction's newer defaults
        assert len(after["cases"]) == len(before["cases"]) == 1
        for case, (doc,) in zip(after["cases"], before["cases"], strict=True):
            old, now = orjson.loads(doc), case.model_dump(mode="json")
            assert isinstance(case, Case) and "state" not in old and "updates" not in old
            assert {k: now[k] for k in old if k != "context"} == {k: v for k, v in old.items() if k != "context"}
            assert now["context"].items() >= old["context"].items() and case.context.id == old["context"]["id"]
            assert (case.state, case.state_history, case.updates, case.survey) == (CaseState.NEW, [], None, None)
        # the summary columns (migration 16) hold what each document holds
        assert raw(old_db, "SELECT id, wrap_up_code, case_id FROM interactions ORDER BY id") == [
            (iid, orjson.loads(doc).get("wrap_up_code"), orjson.loads(doc).get("case_id"))
            for iid, _, doc in before["interactions"]]
        assert any(code for _, code, _ in raw(old_db, "SELECT id, wrap_up_code, case_id FROM interactions"))
        assert after["counters"] == before["counters"]
        assert after["backlog"] == 0  # the processor's cursor kept its place
        assert after["contacts"] == [c for _, _, c in before["contacts"]]
        # the inbox still dedupes what it holds
        from omnisdk.events import loads

        old_events = [loads(body) for _, _, body in before["inbox"]]
        assert (await store.append_inbox(old_events, "2030-01-01T00:00:00Z")).duplicates == len(old_events)
        # the pending sends go out with the keys they were made with
        rows = await store.transact(lambda tx: tx.claim_outbox(1e12, 10))
        assert [(r.id, r.idempotency_key, r.interaction_id, r.payload) for r in rows] == [
            (rid, key, iid, orjson.loads(p)) for rid, key, iid, p in before["outbox"]]
        # and their keys still guard them, now per interaction
        [(_, key, iid, payload)] = [r for r in before["outbox"] if r[1] == "r-1"]
        other = next(i for i, _, _ in before["interactions"] if i != iid)
        enqueue = lambda iid, payload: store.transact(lambda tx: tx.enqueue_outbox(  # noqa: E731
            idempotency_key="r-1", plugin="whatsapp", account="acme", interaction_id=iid,
            payload=payload, now=0.0))
        assert await enqueue(iid, orjson.loads(payload)) is False
        assert await enqueue(other, orjson.loads(payload)) is True
        with pytest.raises(IdempotencyConflict):
            await enqueue(other, {**orjson.loads(payload), "text": "another text"})
    finally:
        await store.close()


async def test_reopening_a_migrated_database_changes_nothing(old_db):
    store = await opened(old_db)
    await store.close()
    migrated = dump(old_db)
    conn = sqlite3.connect(old_db, isolation_level=None)
    try:
        assert migrate(conn) == []
    finally:
        conn.close()
    store = await opened(old_db)
    await store.close()
    assert dump(old_db) == migrated


async def test_a_new_database_gets_the_same_schema_as_a_migrated_one(old_db, tmp_path):
    await (await opened(old_db)).close()
    fresh = tmp_path / "fresh.db"
    await (await opened(fresh)).close()
    schema = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    assert raw(fresh, schema) == raw(old_db, schema)
    assert raw(fresh, "PRAGMA user_version") == [(LATEST,)]


def test_the_migrations_are_numbered_without_gaps():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


async def test_the_old_conversations_continue_after_the_upgrade(old_db, tmp_path):
    """The real gateway and WhatsApp plugin on the upgraded file: the customer of the
    interaction in work_in_progress writes again and the message joins it (its key was
    rewritten to the form threading now computes), the pending sends go out."""
    import httpx
    import respx

    from omnisdk.recordings import load
    from omnisdk.testkit import KitRuntime, ManualClock
    from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings

    recs = {r.name: r for r in load(WhatsAppAdapter.recordings)}
    kit = KitRuntime(lambda: WhatsAppAdapter("acme", WhatsAppSettings(**WhatsAppAdapter.example_settings())), tmp_path,
                     "https://cx.example.test/webhooks/whatsapp/acme", [{"name": "support"}],
                     agents=[{"id": "alice", "capacity": {"whatsapp": 1}}, {"id": "bob", "capacity": {"whatsapp": 3}}],
                     clock=ManualClock(datetime(2026, 11, 21, 10, 0, tzinfo=UTC)), loops=False)
    shutil.copyfile(old_db, kit.db)
    [(working,)] = raw(kit.db, "SELECT id FROM interactions WHERE state = 'work_in_progress'")
    async with kit:
        with respx.mock(base_url="https://graph.facebook.com", assert_all_called=False) as mock:
            route = mock.post("/v21.0/1122334455667/messages").mock(
                side_effect=lambda req: httpx.Response(200, json=WhatsAppAdapter.sandbox_reply(len(route.calls) + 10)))
            doc = orjson.loads(recs["message/text"].body)
            doc["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = "wamid.after-upgrade"
            resp = await kit.deliver_body(orjson.dumps(doc), "application/json")
            assert resp.status_code == 200, resp.text
            inter, _, messages = await kit.runtime.interaction(working)
            assert inter.message_count == 2 and "wamid.after-upgrade" in [m["message_id"] for m in messages]
            assert len([i for i in await kit.runtime.interactions(active_only=True)
                        if i.customer == "+972987654321"]) == 1
            assert await kit.flush_outbox() == 2  # the case notice and the r-1 reply made before
            assert sorted(c.request.headers["idempotency-key"].split(":")[0] for c in route.calls) == ["case", "r-1"]


async def test_a_database_from_a_newer_release_is_refused(old_db):
    await (await opened(old_db)).close()
    conn = sqlite3.connect(old_db)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    store = open_store(f"sqlite:///{old_db}")
    with pytest.raises(StoreError, match="newer than this release"):
        await store.open()


async def test_a_failing_migration_keeps_the_old_version_and_data(old_db, monkeypatch):
    def broken(conn):
        conn.execute("UPDATE interactions SET state = 'closed'")
        conn.execute("SELECT * FROM no_such_table")

    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, migrations.Migration(LATEST + 1, "broken", broken)))
    monkeypatch.setattr(migrations, "LATEST", LATEST + 1)
    before = dump(old_db)
    store = open_store(f"sqlite:///{old_db}")
    with pytest.raises(StoreError) as info:
        await store.open()
    assert isinstance(info.value.__cause__, sqlite3.Error)
    assert dump(old_db) == before and raw(old_db, "PRAGMA user_version") == [(0,)]


def test_schema_version_of_a_new_file_is_zero(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.db")
    try:
        assert schema_version(conn) == 0
    finally:
        conn.close()


def test_version_6_keeps_each_indexed_message_id_under_its_interactions_account(tmp_path):
    """Version 5 indexed Message-IDs store-wide; version 6 keys them by (source, message_id),
    each row taking the source of its interaction."""
    path = tmp_path / "v5.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for m in MIGRATIONS[:5]:
            conn.execute("BEGIN")
            m.apply(conn)
            conn.execute(f"PRAGMA user_version = {m.version}")
            conn.execute("COMMIT")
        doc = {"source": "email/acme", "id": "i-1"}
        conn.execute("INSERT INTO interactions (id, conversation_key, state, channel, created_at, doc)"
                     " VALUES ('i-1', 'k', 'closed', 'email', '2026-01-01T00:00:00Z', ?)", (orjson.dumps(doc).decode(),))
        conn.execute("INSERT INTO email_message_ids VALUES ('first@mail.example.test', 'i-1', 'k', 'inbound')")
        assert migrate(conn) == list(range(6, LATEST + 1))
        assert conn.execute("SELECT * FROM email_thread_ids").fetchall() == [
            ("email/acme", "first@mail.example.test", "i-1", "k", "inbound")]
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'email_message_ids'").fetchall() == []
    finally:
        conn.close()


CASE_DOC = Path(__file__).parent / "data" / "case_doc_v12.json"
"""A case as the release before typed case rows stored it, every field set (made by
``data/make_case_doc.py`` with that release: email to case, a dmarc=fail note, ACCEPT by mail,
closed, survey answered)."""


async def test_a_case_document_of_the_release_before_typed_rows_loads_and_saves_back_the_same(tmp_path):
    raw_doc = CASE_DOC.read_text().strip()
    old = orjson.loads(raw_doc)
    store = await opened(tmp_path / "cases.db")
    try:
        def put(tx):  # as that release wrote it: the document, by raw SQL
            tx.c.execute("INSERT INTO cases (id, number, created_at, doc) VALUES (?, ?, ?, ?)",
                         (old["id"], old["number"], old["created_at"], raw_doc))

        await store.transact(put)
        case = await store.transact(lambda tx: tx.get_case(old["number"]))
        assert isinstance(case, Case) and case.state is CaseState.CLOSED and case.product == "Printer X2"
        assert [(u.sender, u.counted) for u in case.updates] == [("ann@example.test", False), ("ann@example.test", True)]
        assert "dmarc=fail" in case.updates[0].reason and case.survey.score == 4
        assert [(h.to_state.value, h.by) for h in case.state_history] == [
            ("in_progress", "alice"), ("solution_proposed", "alice"), ("resolved", "customer"), ("closed", "alice")]
        assert case.context.id == case.interaction_ids[0] and case.history[0].body["text"] == "It jams."
        assert kept(old, case.model_dump(mode="json"))  # nothing lost, nothing renamed
        [summary] = await store.transact(lambda tx: tx.case_summaries([old["id"]]))
        assert (summary.number, summary.subject, summary.state) == (case.number, case.subject, case.state)
        assert (await store.transact(lambda tx: tx.page_cases(limit=5))).items == [case]
        await store.transact(lambda tx: tx.save_case(case))
        (doc,) = raw(tmp_path / "cases.db", "SELECT doc FROM cases")[0]
        assert kept(old, orjson.loads(doc))  # saved back by today's code: the same document
    finally:
        await store.close()
