"""The SQLite store's own promises: its errors are StoreError, it is found by URL scheme, and
an interaction is found by part of its id among 100,000 through an index."""

from __future__ import annotations

import ast
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from store_contract import interaction

import omnisdk.store as store_package
import omnisdk.store.sqlite as sqlite_store
import omnisdk.store.sqlite.errors as sqlite_errors
from omnisdk.errors import ConfigError
from omnisdk.model import InteractionState
from omnisdk.store import (
    InteractionQuery,
    Store,
    StoreError,
    StoreNotFound,
    open_store,
    register_store,
    registry,
)

STORE_SRC = Path(store_package.__file__).parent


async def test_a_driver_error_inside_a_transaction_is_a_chained_store_error(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}", synchronous="NORMAL")
    await store.open()
    try:
        def broken(tx):
            tx.c.execute("DROP TABLE timers")
            return tx.pending_timers()

        with pytest.raises(StoreError) as info:
            await store.transact(broken)
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        # a job that uses the connection itself: translated when handed back
        with pytest.raises(StoreError) as info:
            await store.transact(lambda tx: tx.c.execute("SELECT * FROM no_such_table"))
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        assert await store.transact(lambda tx: tx.counters()) == {}  # the store still works
    finally:
        await store.close()


@pytest.mark.parametrize("make", ["directory", "not sqlite", "unwritable folder"])
async def test_a_store_that_cannot_be_opened_raises_store_error(tmp_path, make):
    if make == "directory":
        path = tmp_path / "adir"
        path.mkdir()
    elif make == "not sqlite":
        path = tmp_path / "notes.db"
        path.write_bytes(b"this is not a database, just text " * 200)
    else:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        path = blocker / "sub" / "omni.db"  # a folder under a file cannot be made
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoreError):
        await store.open()


async def test_the_processor_retries_a_store_failure_instead_of_failing_the_event(runtime, monkeypatch):
    from sample_wire import message_event

    calls = []

    def failing_insert(self, **kw):
        calls.append(kw["message_id"])
        raise sqlite_errors.failed(sqlite3.OperationalError("disk I/O error"))

    await runtime.processor.stop()
    monkeypatch.setattr(sqlite_store.SQLiteTransaction, "insert_message", failing_insert)
    await runtime.store.append_inbox([message_event(1)], "2030-01-02T03:04:05Z")
    with pytest.raises(StoreError):
        await runtime.processor.run_once()
    assert calls
    # nothing was marked failed or consumed: the event waits for the store to recover
    assert await runtime.store.transact(lambda tx: tx.inbox_failure("/sample/acme", "m-1")) is None
    assert await runtime.store.transact(lambda tx: tx.inbox_backlog()) == 1
    monkeypatch.undo()
    assert await runtime.processor.run_once() == 1
    assert len(await runtime.interactions()) == 1


def test_the_processor_no_longer_knows_sqlite():
    import omnisdk.inbox.processor as processor

    tree = ast.parse(Path(processor.__file__).read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "sqlite3" not in names and processor.STORE_ERRORS == (StoreError,)


def test_the_store_interface_does_not_import_the_sqlite_store():
    for module in ("base.py", "protocols.py", "registry.py", "rows.py", "queries.py", "errors.py"):
        tree = ast.parse((STORE_SRC / module).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m and ("sqlite" in m)}, module


def test_stores_are_found_by_url_scheme(tmp_path, monkeypatch):
    assert isinstance(open_store(f"sqlite:///{tmp_path / 'a.db'}"), sqlite_store.SQLiteStore)
    with pytest.raises(ConfigError, match="sqlite://"):
        open_store("mongodb://db.example.test/omni")
    with pytest.raises(ConfigError):
        open_store("sqlite://relative-without-third-slash.db")
    with pytest.raises(ConfigError):
        open_store(f"sqlite:///{tmp_path / 'a.db'}", inbox_url="postgresql://x/y")

    made = []

    class Fake(Store):
        async def open(self): ...
        async def close(self): ...
        async def append_inbox(self, events, received_at): ...
        async def transact(self, fn): ...

    def factory(url, **options):
        made.append((url, options))
        return Fake()

    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    register_store("memtest", factory)
    assert isinstance(open_store("memtest://x", synchronous="FULL"), Fake)
    assert made == [("memtest://x", {"synchronous": "FULL"})]


def test_third_party_stores_come_from_the_entry_point_group(monkeypatch):
    class EP:
        name, value = "cockroachdb", "omnisdk_cockroach:open_store"  # postgresql:// is built in

        def load(self):
            return lambda url, **options: ("a store for", url)

    seen = []

    def entry_points(group):
        seen.append(group)
        return [EP()]

    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    monkeypatch.setattr(registry, "entry_points", entry_points)
    assert open_store("cockroachdb://db/omni") == ("a store for", "cockroachdb://db/omni")
    assert seen == ["omnisdk.stores"]

    class Broken(EP):
        name = "broken"

        def load(self):
            raise ImportError("no module named psycopg")

    monkeypatch.setattr(registry, "entry_points", lambda group: [Broken()])
    with pytest.raises(ConfigError, match="failed to load"):
        open_store("broken://x")


# --- a busy day: 100,000 interactions ----------------------------------------------------------

T0 = datetime(2030, 1, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def busy_db(tmp_path_factory):
    """100,000 interactions written through the store (one transaction), most closed."""
    import asyncio

    path = tmp_path_factory.mktemp("busy") / "omnisdk.db"

    async def fill():
        store = open_store(f"sqlite:///{path}", synchronous="NORMAL")
        await store.open()
        base = interaction(0)

        def write(tx):
            for n in range(1, 100_001):
                inter = base.model_copy(update={
                    "id": f"{0x0662000000000000 + n:014x}{n * 7919 % 16**18:018x}",
                    "conversation_key": f"sample/acme:chat:biz:+1555{n:07d}", "customer": f"+1555{n:07d}",
                    "state": InteractionState.QUEUED if n % 1000 == 0 else InteractionState.CLOSED,
                    "created_at": T0 + timedelta(seconds=n), "updated_at": T0 + timedelta(seconds=n)})
                tx.save_interaction(inter)

        await store.transact(write)
        await store.close()

    asyncio.run(fill())
    return path


async def test_an_id_fragment_is_found_among_100k_through_an_index(busy_db):
    store = open_store(f"sqlite:///{busy_db}")
    await store.open()
    try:
        target = f"{0x0662000000000000 + 54321:014x}{54321 * 7919 % 16**18:018x}"
        # the prefix is a range of the primary key's index, the suffix a scan of that index
        # alone (32-byte keys), never of the table and its documents
        plans = await store.transact(lambda tx: [r[-1] for r in tx.c.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM interactions WHERE id >= ?1 AND id < ?1 || ?2"
            " UNION SELECT id FROM interactions WHERE substr(id, -length(?1)) = ?1", ("abc", "\U0010ffff"))])
        assert any(p.startswith("SEARCH interactions USING COVERING INDEX") for p in plans), plans
        assert any(p.startswith("SCAN interactions USING COVERING INDEX") for p in plans), plans
        assert not any(p == "SCAN interactions" for p in plans), plans
        started = time.perf_counter()
        assert await store.transact(lambda tx: tx.find_interactions(target[-12:])) == [target]
        assert await store.transact(lambda tx: tx.find_interactions(target[:20])) == [target]
        assert len(await store.transact(lambda tx: tx.find_interactions(target[:4]))) == 2  # ambiguous
        assert time.perf_counter() - started < 0.5  # a scan of 100k ids takes seconds in Python terms
        page = await store.transact(lambda tx: tx.page_interactions(InteractionQuery(states=("queued",)), limit=50))
        assert len(page.items) == 50 and page.items[0].id.startswith(f"{0x0662000000000000 + 100_000:014x}")
        assert page.next_cursor is not None
    finally:
        await store.close()


def test_the_cli_finds_an_interaction_by_its_suffix_among_100k(busy_db, tmp_path):
    from typer.testing import CliRunner

    from omnisdk.cli import app

    config = tmp_path / "omnisdk.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{busy_db}"\n')
    target = f"{0x0662000000000000 + 77777:014x}{77777 * 7919 % 16**18:018x}"
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["interaction", target[-12:], "--config", str(config), "--json"])
    assert result.exit_code == 0, result.output
    assert '"id": "' + target + '"' in result.stdout
    result = CliRunner().invoke(app, ["interactions", "--config", str(config), "--state", "queued", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "more: --cursor" in result.stdout
    assert time.perf_counter() - started < 5


def test_the_cli_pages_cases_newest_first_with_limit_and_cursor(tmp_path):
    import asyncio
    import json
    import re

    from typer.testing import CliRunner

    from omnisdk.cli import app
    from omnisdk.model import Case

    db = tmp_path / "cases.db"

    async def make():
        store = open_store(f"sqlite:///{db}", synchronous="NORMAL")
        await store.open()
        try:
            at = datetime(2030, 1, 2, tzinfo=UTC)
            await store.transact(lambda tx: [tx.save_case(Case(
                id=f"c-{n}", number=f"CS{n:07d}", subject=f"subject {n}", customer="+15550100001",
                interaction_ids=[f"{n:032x}"], created_at=at + timedelta(minutes=n))) for n in range(1, 8)])
        finally:
            await store.close()

    asyncio.run(make())
    config = tmp_path / "omnisdk.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{db}"\n')
    first = CliRunner().invoke(app, ["cases", "--config", str(config), "--limit", "3"])
    assert first.exit_code == 0, first.output
    assert re.findall(r"CS\d{7}", first.stdout) == ["CS0000007", "CS0000006", "CS0000005"]
    (cursor,) = re.findall(r"more: --cursor (\S+)", first.stdout)
    rest = CliRunner().invoke(app, ["cases", "--config", str(config), "--limit", "5", "--cursor", cursor, "--json"])
    assert rest.exit_code == 0, rest.output
    docs = json.loads(rest.stdout)
    assert [d["number"] for d in docs] == ["CS0000004", "CS0000003", "CS0000002", "CS0000001"]
    assert docs[0] == {"id": "c-4", "number": "CS0000004", "subject": "subject 4", "customer": "+15550100001",
                       "interaction_ids": [f"{4:032x}"], "created_at": "2030-01-02T00:04:00Z", "state": "new",
                       "product": None, "state_history": []}
    bad = CliRunner().invoke(app, ["cases", "--config", str(config), "--cursor", "not-a-cursor"])
    assert bad.exit_code == 2 and "cursor" in bad.output


# --- Store.read: the CLI's inspection path --------------------------------------------------------

async def test_read_on_a_missing_file_is_store_not_found_and_creates_nothing(tmp_path):
    path = tmp_path / "sub" / "never.db"
    store = open_store(f"sqlite:///{path}")
    with pytest.raises(StoreNotFound, match="no database at"):
        await store.read(lambda tx: tx.counters())
    assert not path.exists() and not path.parent.exists()


@pytest.mark.parametrize("make", ["directory", "not sqlite"])
async def test_read_on_a_store_that_cannot_be_opened_is_store_error(tmp_path, make):
    path = tmp_path / "x.db"
    if make == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(StoreError) as info:
        await open_store(f"sqlite:///{path}").read(lambda tx: tx.counters())
    assert not isinstance(info.value, StoreNotFound)


async def test_read_sees_what_a_running_store_committed_without_stopping_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    server = open_store(url, synchronous="NORMAL")
    await server.open()
    try:
        await server.transact(lambda tx: tx.save_interaction(interaction(1)))
        reader = open_store(url)
        got = await reader.read(lambda tx: (tx.get_interaction(f"{1:032x}"), tx.find_interactions(f"{1:032x}"[-8:])))
        assert got[0] is not None and got[0].id == f"{1:032x}" and got[1] == [f"{1:032x}"]
        # the server keeps writing after the read, and a second read sees that too
        await server.transact(lambda tx: tx.save_interaction(interaction(2)))
        assert await reader.read(lambda tx: tx.get_interaction(f"{2:032x}")) is not None
    finally:
        await server.close()


async def test_a_read_cannot_write(tmp_path):
    url = f"sqlite:///{tmp_path / 'ro.db'}"
    store = open_store(url)
    await store.open()
    await store.close()
    await store.read(lambda tx: tx.save_interaction(interaction(3)))
    assert await store.read(lambda tx: tx.get_interaction(f"{3:032x}")) is None


async def test_the_default_read_of_the_store_interface_opens_transacts_and_closes(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'd.db'}")
    await store.open()
    await store.transact(lambda tx: tx.save_interaction(interaction(4)))
    await store.close()
    found = await Store.read(store, lambda tx: tx.get_interaction(f"{4:032x}"))  # not SQLite's override
    assert found is not None and found.id == f"{4:032x}"
    assert store._thread is None  # closed again
