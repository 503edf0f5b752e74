"""The hot reads of the SQLite store are answered from an index, never by sorting a table:
checked on SQLite's own query plan (``EXPLAIN QUERY PLAN``) of a migrated file."""

from __future__ import annotations

import sqlite3

from omnisdk.store.row_columns import INTERACTION_SUMMARY_COLUMNS
from omnisdk.store.sqlite.migrations import migrate


def _plan(conn: sqlite3.Connection, sql: str, args: tuple) -> str:
    return " | ".join(row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args))


def test_a_callers_recent_interactions_come_newest_first_off_the_index(tmp_path):
    conn = sqlite3.connect(tmp_path / "plans.db", isolation_level=None)
    migrate(conn)
    plan = _plan(conn, f"SELECT {INTERACTION_SUMMARY_COLUMNS} FROM interactions WHERE customer = ? AND channel = ?"
                       " ORDER BY id DESC LIMIT ?", ("+15550100", "voice", 20))
    assert "interactions_recent_by_customer" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort of every past interaction of the caller
