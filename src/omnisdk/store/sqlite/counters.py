"""Counters and numbering (:class:`~omnisdk.store.protocols.CounterStore`): increments are kept per batch
and written once before its commit.
"""

from __future__ import annotations

import sqlite3

from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteCounters(SQLiteAtomic):
    """The counters part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def count(self, name: str, n: int = 1) -> None:
        self._counted += 1
        self.pending_counts[name] = self.pending_counts.get(name, 0) + n

    def flush_counts(self) -> None:
        """Write the batch's counter increments (one statement per counter name)."""
        if self.pending_counts:
            try:
                self.c.executemany(
                    "INSERT INTO counters (name, value) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                    list(self.pending_counts.items()),
                )
            except sqlite3.Error as exc:
                raise _failed(exc) from exc
            self.pending_counts.clear()

    def counters(self) -> dict[str, int]:
        self.flush_counts()
        try:
            if self.split:  # the gateway's counters live in the inbox file
                return dict(self.c.execute(
                    "SELECT name, SUM(value) FROM (SELECT name, value FROM main.counters"
                    " UNION ALL SELECT name, value FROM inbox_db.counters) GROUP BY name").fetchall())
            return dict(self.c.execute("SELECT name, value FROM counters").fetchall())
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def next_number(self, name: str) -> int:
        try:
            return self.c.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1)"
                " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                (f"seq.{name}",),
            ).fetchone()[0]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
