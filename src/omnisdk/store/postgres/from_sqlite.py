"""``omnisdk migrate-store``: copy a SQLite store into an empty PostgreSQL store.

Both schemas are brought to this release's version first (the two stores walk the same
version numbers: :mod:`omnisdk.store.postgres.migrations`), so each PostgreSQL table has the
columns of its SQLite table, and the copy is generic: every table of the PostgreSQL schema,
every column both have, in one PostgreSQL transaction (``COPY … FROM STDIN``): the target ends
with all of the data or none of it.  What differs is mapped here and nowhere else:

- positions SQLite keeps in its ``rowid`` (``messages.seq``, ``queues.seq``) are copied from it;
- ``consent.opted_out`` and ``messaging_profiles.active`` (0/1 in SQLite) become booleans;
- with a separate inbox file (``serve --split``), the inbox and its counters come from that
  file, and the processor's cursor of that file becomes the one cursor;
- the identity sequences are moved past the copied positions.

The target must be empty (no row in any table but the schema versions): a copy never merges.
Progress is reported per table and every :data:`PROGRESS_EVERY` rows.  The source is only
read; stop the server on it first (rows written during the copy would not be copied).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from omnisdk.store.errors import StoreError
from omnisdk.store.postgres.errors import describe
from omnisdk.store.postgres.store import PostgresStore
from omnisdk.store.sqlite.store import SQLiteStore

PROGRESS_EVERY = 10_000
_ROWID = {("messages", "seq"), ("queues", "seq")}
_BOOLEAN = {("consent", "opted_out"), ("messaging_profiles", "active")}
_INBOX_FILE_TABLES = {"inbox"}  # with a separate inbox file, read from it (counters: summed)


@dataclass(frozen=True, slots=True)
class Progress:
    """One step of the copy: ``table`` and the rows copied of it so far (``done`` once the
    table is complete, with ``rows`` its total)."""

    table: str
    rows: int
    done: bool


def _pg_tables(conn: psycopg.Connection) -> list[tuple[str, list[str], list[str]]]:
    """(table, columns, identity columns) of the store's schema, in name order."""
    rows = conn.execute(
        "SELECT table_name, column_name, is_identity FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name <> 'omnisdk_schema'"
        " ORDER BY table_name, ordinal_position").fetchall()
    out: dict[str, tuple[list[str], list[str]]] = {}
    for table, column, identity in rows:
        columns, identities = out.setdefault(table, ([], []))
        columns.append(column)
        if identity == "YES":
            identities.append(column)
    return [(t, c, i) for t, (c, i) in out.items()]


def _sqlite_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    schema, _, name = table.rpartition(".")
    return {r[1] for r in conn.execute(f"PRAGMA {schema or 'main'}.table_info({name})")}


def _source_query(lite: SQLiteStore, conn: sqlite3.Connection, table: str,
                  columns: list[str]) -> tuple[str, list[str]] | None:
    """The SELECT reading ``table`` from SQLite and the PostgreSQL columns it fills; None when
    SQLite has no such table (nothing to copy)."""
    name = f"inbox_db.{table}" if lite.split and table in _INBOX_FILE_TABLES else f"main.{table}"
    have = _sqlite_columns(conn, name)
    if not have:
        return None
    picked, exprs = [], []
    for column in columns:
        if (table, column) in _ROWID:
            picked.append(column)
            exprs.append("rowid")
        elif column in have:
            picked.append(column)
            exprs.append(f'"{column}"')
    if table == "counters" and lite.split:  # the gateway's counters live in the inbox file
        return ("SELECT name, SUM(value) FROM (SELECT name, value FROM main.counters"
                " UNION ALL SELECT name, value FROM inbox_db.counters) GROUP BY name", ["name", "value"])
    if table == "inbox_cursor":  # one cursor: the one of the inbox file the processor reads
        cursor = "processor:inbox_db" if lite.split else "processor"
        return (f"SELECT 'processor', seq FROM main.inbox_cursor WHERE name = '{cursor}'", ["name", "seq"])
    return f"SELECT {', '.join(exprs)} FROM {name}", picked


def copy_sqlite_to_postgres(lite: SQLiteStore, pg: PostgresStore,
                            progress: Callable[[Progress], None] = lambda p: None) -> dict[str, int]:
    """Copy every row of ``lite`` into ``pg`` (both unopened; each schema is migrated to this
    release's version first).  Returns ``{table: rows copied}``.

    Raises:
        StoreError: either store cannot be opened or migrated, the target holds data already,
            or the copy failed (then nothing of it is kept in the target).
    """
    if not lite.path.exists():
        raise StoreError(f"no SQLite store at {lite.path}")
    try:
        source = lite.connect()
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open the SQLite store at {lite.path}: {type(exc).__name__}: {exc}") from exc
    try:
        lite.create_schema(source)
        pg._open_sync()  # the pool, the schema created and migrated; no writer thread
        try:
            with pg._pool.connection() as conn:  # type: ignore[union-attr]
                return _copy(lite, source, conn, progress)
        finally:
            pg._pool.close()  # type: ignore[union-attr]
            pg._pool = None
    except sqlite3.Error as exc:
        raise StoreError(f"could not read the SQLite store: {type(exc).__name__}: {exc}") from exc
    except psycopg.Error as exc:
        raise StoreError(f"could not copy into the PostgreSQL store: {describe(exc)}") from exc
    finally:
        source.close()


def _copy(lite: SQLiteStore, source: sqlite3.Connection, conn: psycopg.Connection,
          progress: Callable[[Progress], None]) -> dict[str, int]:
    tables = _pg_tables(conn)
    copied: dict[str, int] = {}
    source.execute("BEGIN")  # one snapshot of the source
    with conn.transaction():
        for table, _, _ in tables:
            if conn.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))).fetchone()[0]:
                raise StoreError(f"the PostgreSQL store is not empty (table {table} has rows): "
                                 "migrate-store copies into an empty store only")
        for table, columns, identities in tables:
            query = _source_query(lite, source, table, columns)
            if query is None:
                continue
            select, picked = query
            booleans = [i for i, c in enumerate(picked) if (table, c) in _BOOLEAN]
            n = 0
            target = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, picked)))
            with conn.cursor().copy(target) as copy:
                for row in source.execute(select):
                    if booleans:
                        row = tuple(bool(v) if i in booleans and v is not None else v for i, v in enumerate(row))
                    copy.write_row(row)
                    n += 1
                    if n % PROGRESS_EVERY == 0:
                        progress(Progress(table, n, False))
            for column in identities:  # the next position comes after the copied ones
                conn.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, {}), COALESCE(MAX({}), 0) + 1, false)"
                                     " FROM {}").format(sql.Literal(table), sql.Literal(column),
                                                        sql.Identifier(column), sql.Identifier(table)))
            copied[table] = n
            progress(Progress(table, n, True))
    source.execute("ROLLBACK")
    return copied


__all__ = ["PROGRESS_EVERY", "Progress", "copy_sqlite_to_postgres"]
