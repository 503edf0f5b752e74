"""Durable timers on PostgreSQL (:class:`~omnisdk.store.protocols.TimerStore`): a due timer is
claimed exactly once, by one ``UPDATE … WHERE key IN (SELECT … FOR UPDATE SKIP LOCKED)``: a
second claimer running at the same time skips the rows the first holds instead of waiting for
them, and its own claim sees them fired once the first commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import psycopg

from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.rows import TimerRow


class PostgresTimers(PostgresAtomic):
    """The timers part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def schedule_timer(self, key: str, kind: str, due_at: float, interaction_id: str | None,
                       data: dict[str, Any]) -> None:
        self.defer(  # no answer: sent with the next statement inside a savepoint block (.atomic)
            "INSERT INTO timers (key, kind, due_at, interaction_id, data, state)"
            " VALUES (%s, %s, %s, %s, %s, 'pending')"
            " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,"
            " interaction_id = excluded.interaction_id, data = excluded.data, state = 'pending'",
            (key, kind, due_at, interaction_id, orjson.dumps(data).decode()))

    def cancel_timers(self, interaction_id: str, kinds: Sequence[str] | None = None) -> int:
        sql = "UPDATE timers SET state = 'cancelled' WHERE interaction_id = %s AND state = 'pending'"
        args: tuple[Any, ...] = (interaction_id,)
        if kinds is not None:
            sql += " AND kind = ANY(%s)"
            args = (interaction_id, list(kinds))
        try:
            return self.write(sql, args).rowcount
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def claim_due_timers(self, now: float, limit: int) -> list[TimerRow]:
        try:
            rows = self.write(
                "UPDATE timers SET state = 'fired' WHERE key IN (SELECT key FROM timers"
                " WHERE state = 'pending' AND due_at <= %s ORDER BY due_at, key LIMIT %s FOR UPDATE SKIP LOCKED)"
                " RETURNING key, kind, due_at, interaction_id, data", (now, limit)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        rows.sort(key=lambda r: (r[2], r[0]))  # RETURNING has no order; keys are COLLATE "C" (code points)
        return [TimerRow(k, kind, due, iid, orjson.loads(data)) for k, kind, due, iid, data in rows]

    def pending_timers(self, interaction_id: str | None = None) -> list[TimerRow]:
        sql = "SELECT key, kind, due_at, interaction_id, data FROM timers WHERE state = 'pending'"
        args: tuple[Any, ...] = ()
        if interaction_id is not None:
            sql += " AND interaction_id = %s"
            args = (interaction_id,)
        try:
            rows = self.run(sql + " ORDER BY due_at", args).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [TimerRow(k, kind, due, iid, orjson.loads(data)) for k, kind, due, iid, data in rows]


__all__ = ["PostgresTimers"]
