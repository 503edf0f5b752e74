"""The bus outbox (:class:`~omnisdk.store.protocols.BusOutboxStore`): core events waiting for
NATS JetStream, in commit order (``seq``, the table's rowid).

SQLite has one writer at a time, so a claim (select, then push back by the lease) inside one
transaction is taken exactly once without any row lock.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from omnisdk.store.row_columns import BUS_BACKLOG as _BACKLOG
from omnisdk.store.row_columns import BUS_EVENT_COLUMNS, bus_event
from omnisdk.store.rows import BusEventRow
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteBusOutbox(SQLiteAtomic):
    """The bus-outbox part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def enqueue_bus_events(self, rows: Sequence[BusEventRow]) -> int:
        if not rows:
            return 0
        try:
            before = self.c.total_changes
            self.c.executemany(
                "INSERT OR IGNORE INTO bus_outbox (msg_id, event_type, payload, created_at, next_attempt_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [(r.msg_id, r.event_type, r.payload, r.created_at, r.created_at) for r in rows])
            return self.c.total_changes - before
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def claim_bus_events(self, now: float, limit: int, lease: float) -> list[BusEventRow]:
        try:
            rows = self.c.execute(
                f"SELECT {BUS_EVENT_COLUMNS} FROM bus_outbox WHERE state = 'pending' AND next_attempt_at <= ?"
                " ORDER BY seq LIMIT ?", (now, limit)).fetchall()
            if rows:
                self.c.executemany("UPDATE bus_outbox SET next_attempt_at = ?, attempts = attempts + 1 WHERE seq = ?",
                                   [(now + lease, r[0]) for r in rows])
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [bus_event((*r[:5], r[5] + 1, now + lease, *r[7:])) for r in rows]

    def finish_bus_events(self, seqs: Sequence[int]) -> int:
        if not seqs:
            return 0
        try:
            before = self.c.total_changes
            self.c.executemany("DELETE FROM bus_outbox WHERE seq = ?", [(s,) for s in seqs])
            return self.c.total_changes - before
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def retry_bus_events(self, seqs: Sequence[int], *, at: float, error: str) -> None:
        try:
            self.c.executemany("UPDATE bus_outbox SET next_attempt_at = ?, last_error = ? WHERE seq = ?"
                               " AND state = 'pending'", [(at, error, s) for s in seqs])
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def fail_bus_events(self, seqs: Sequence[int], *, error: str) -> int:
        if not seqs:
            return 0
        try:
            before = self.c.total_changes
            self.c.executemany("UPDATE bus_outbox SET state = 'failed', last_error = ? WHERE seq = ?"
                               " AND state = 'pending'", [(error, s) for s in seqs])
            return self.c.total_changes - before
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def bus_events(self, *, state: str | None = None, limit: int = 100) -> list[BusEventRow]:
        where, args = ("WHERE state = ?", [state]) if state is not None else ("", [])
        try:
            rows = self.c.execute(f"SELECT {BUS_EVENT_COLUMNS} FROM bus_outbox {where} ORDER BY seq LIMIT ?",
                                  [*args, limit]).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [bus_event(r) for r in rows]

    def bus_backlog(self) -> tuple[int, float | None]:
        try:
            count, oldest = self.c.execute(_BACKLOG).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return count, oldest


__all__ = ["SQLiteBusOutbox"]
