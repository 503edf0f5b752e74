"""The PostgreSQL schema's versions: numbered as SQLite's, applied once, never downgraded.

The first test needs no server: it holds the rule that a migration added to one store is
added to the other with the same number and name (``omnisdk.store.postgres.migrations``)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from postgres_schemas import POSTGRES_URL, fresh_schema, schema_url
from psycopg import sql

from omnisdk.store import StoreError, open_store
from omnisdk.store.postgres import migrations as pg
from omnisdk.store.sqlite import migrations as lite


def test_both_stores_walk_the_same_versions():
    assert [(m.version, m.name) for m in pg.MIGRATIONS] == [(m.version, m.name) for m in lite.MIGRATIONS]
    assert pg.LATEST == lite.LATEST
    assert [m.version for m in pg.MIGRATIONS] == list(range(1, pg.LATEST + 1))


def _versions(schema: str) -> list[int]:
    with psycopg.connect(POSTGRES_URL) as conn:
        return [v for (v,) in conn.execute(sql.SQL("SELECT version FROM {}.omnisdk_schema ORDER BY version").format(
            sql.Identifier(schema)))]


async def test_a_new_schema_is_migrated_once_to_the_latest_version():
    with fresh_schema() as schema:
        stores = [open_store(schema_url(schema)) for _ in range(3)]
        await asyncio.gather(*(s.open() for s in stores))  # three processes starting at once
        try:
            assert _versions(schema) == list(range(1, pg.LATEST + 1))  # each version once
            await stores[0].transact(lambda tx: tx.schedule_timer("t", "offer", 1.0, None, {}))
        finally:
            await asyncio.gather(*(s.close() for s in stores))
        again = open_store(schema_url(schema))
        await again.open()
        try:
            assert [t.key for t in await again.transact(lambda tx: tx.pending_timers())] == ["t"]
        finally:
            await again.close()
        assert _versions(schema) == list(range(1, pg.LATEST + 1))


async def test_a_schema_newer_than_this_release_is_refused():
    with fresh_schema() as schema:
        store = open_store(schema_url(schema))
        await store.open()
        await store.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("INSERT INTO {}.omnisdk_schema (version, name) VALUES (%s, 'from the future')").format(
                sql.Identifier(schema)), (pg.LATEST + 1,))
        with pytest.raises(StoreError, match="newer than this release"):
            await open_store(schema_url(schema)).open()


async def test_a_failing_migration_keeps_nothing(monkeypatch):
    broken = (*pg.MIGRATIONS[:-1], pg.Migration(pg.LATEST, pg.MIGRATIONS[-1].name,
                                                 "CREATE TABLE half_done (x int); SELECT no_such_function()"))
    monkeypatch.setattr(pg, "MIGRATIONS", broken)
    with fresh_schema() as schema:
        with pytest.raises(StoreError, match="could not migrate"):
            await open_store(schema_url(schema)).open()
        with psycopg.connect(POSTGRES_URL) as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)).fetchone()[0]
        assert tables == 0  # not even version 1: the pending versions are one transaction
