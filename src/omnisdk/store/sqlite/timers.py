"""Durable timers (:class:`~omnisdk.store.protocols.TimerStore`): a due timer is claimed exactly once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import orjson

from omnisdk.store.rows import (
    TimerRow,
)
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteTimers(SQLiteAtomic):
    """The timers part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def schedule_timer(self, key: str, kind: str, due_at: float, interaction_id: str | None,
                       data: dict[str, Any]) -> None:
        try:
            self.c.execute(
                "INSERT INTO timers (key, kind, due_at, interaction_id, data, state) VALUES (?, ?, ?, ?, ?, 'pending')"
                " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,"
                " interaction_id = excluded.interaction_id, data = excluded.data, state = 'pending'",
                (key, kind, due_at, interaction_id, orjson.dumps(data).decode()),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def cancel_timers(self, interaction_id: str, kinds: Sequence[str] | None = None) -> int:
        try:
            if kinds is None:
                return self.c.execute(
                    "UPDATE timers SET state = 'cancelled' WHERE interaction_id = ? AND state = 'pending'",
                    (interaction_id,)).rowcount
            marks = ",".join("?" * len(kinds))
            return self.c.execute(
                f"UPDATE timers SET state = 'cancelled' WHERE interaction_id = ? AND state = 'pending'"
                f" AND kind IN ({marks})", (interaction_id, *kinds)).rowcount
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def claim_due_timers(self, now: float, limit: int) -> list[TimerRow]:
        try:
            rows = self.c.execute(
                "SELECT key, kind, due_at, interaction_id, data FROM timers"
                " WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, key LIMIT ?", (now, limit)).fetchall()
            for row in rows:
                self.c.execute("UPDATE timers SET state = 'fired' WHERE key = ?", (row[0],))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [TimerRow(k, kind, due, iid, orjson.loads(data)) for k, kind, due, iid, data in rows]

    def pending_timers(self, interaction_id: str | None = None) -> list[TimerRow]:
        sql = "SELECT key, kind, due_at, interaction_id, data FROM timers WHERE state = 'pending'"
        args: tuple[Any, ...] = ()
        if interaction_id is not None:
            sql += " AND interaction_id = ?"
            args = (interaction_id,)
        try:
            return [TimerRow(k, kind, due, iid, orjson.loads(data))
                    for k, kind, due, iid, data in self.c.execute(sql + " ORDER BY due_at", args)]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
