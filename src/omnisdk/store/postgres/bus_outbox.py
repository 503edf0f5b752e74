"""The bus outbox on PostgreSQL (:class:`~omnisdk.store.protocols.BusOutboxStore`): core events
waiting for NATS JetStream, in commit order (``seq``, an identity column), due rows claimed
once (``FOR UPDATE SKIP LOCKED``, as :mod:`~omnisdk.store.postgres.outbox` does): two claimers
at once never wait on each other and never take the same row.

``seq`` follows commit order because one writer thread commits every transaction of a core
process (and only the leader core writes core events).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.row_columns import BUS_BACKLOG as _BACKLOG
from omnisdk.store.row_columns import BUS_EVENT_COLUMNS, bus_event
from omnisdk.store.rows import BusEventRow


class PostgresBusOutbox(PostgresAtomic):
    """The bus-outbox part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def enqueue_bus_events(self, rows: Sequence[BusEventRow]) -> int:
        if not rows:
            return 0
        try:
            return self.write_many(
                "INSERT INTO bus_outbox (msg_id, event_type, payload, created_at, next_attempt_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (msg_id) DO NOTHING",
                [(r.msg_id, r.event_type, r.payload, r.created_at, r.created_at) for r in rows])
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def claim_bus_events(self, now: float, limit: int, lease: float) -> list[BusEventRow]:
        try:
            rows = self.write(
                "UPDATE bus_outbox SET next_attempt_at = %s, attempts = attempts + 1 WHERE seq IN (SELECT seq"
                " FROM bus_outbox WHERE state = 'pending' AND next_attempt_at <= %s ORDER BY seq LIMIT %s"
                f" FOR UPDATE SKIP LOCKED) RETURNING {BUS_EVENT_COLUMNS}",
                (now + lease, now, limit)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        rows.sort(key=lambda r: r[0])  # RETURNING has no order
        return [bus_event(r) for r in rows]

    def finish_bus_events(self, seqs: Sequence[int]) -> int:
        if not seqs:
            return 0
        try:
            return self.write("DELETE FROM bus_outbox WHERE seq = ANY(%s)", (list(seqs),)).rowcount
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def retry_bus_events(self, seqs: Sequence[int], *, at: float, error: str) -> None:
        if not seqs:
            return
        try:
            self.write("UPDATE bus_outbox SET next_attempt_at = %s, last_error = %s WHERE seq = ANY(%s)"
                       " AND state = 'pending'", (at, error, list(seqs)))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def fail_bus_events(self, seqs: Sequence[int], *, error: str) -> int:
        if not seqs:
            return 0
        try:
            return self.write("UPDATE bus_outbox SET state = 'failed', last_error = %s WHERE seq = ANY(%s)"
                              " AND state = 'pending'", (error, list(seqs))).rowcount
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def bus_events(self, *, state: str | None = None, limit: int = 100) -> list[BusEventRow]:
        where, args = ("WHERE state = %s", [state]) if state is not None else ("", [])
        try:
            rows = self.run(f"SELECT {BUS_EVENT_COLUMNS} FROM bus_outbox {where} ORDER BY seq LIMIT %s",
                            [*args, limit]).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [bus_event(r) for r in rows]

    def bus_backlog(self) -> tuple[int, float | None]:
        try:
            count, oldest = self.run(_BACKLOG).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return count, oldest


__all__ = ["PostgresBusOutbox"]
