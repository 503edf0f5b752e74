"""The inbox on PostgreSQL (:class:`~omnisdk.store.protocols.InboxStore`): an append-only log
whose ``seq`` comes from an identity column; the processor's position in it is the cursor.

A cursor over a sequence is only safe when rows commit in ``seq`` order: appends therefore
take a transaction-scoped advisory lock (:data:`INBOX_APPEND_LOCK` and the schema's name
hashed: :meth:`PostgresInbox.lock_inbox`), so two processes appending to one schema at once
commit one after the other, and a reader that sees seq *n* has seen every committed seq below
it.  Stores on other schemas of the database take other locks (two names whose hashes collide
only wait for each other).

The body keeps the event as it came (``bytea``); its text columns (id, type, partitionkey) hold
any NUL character as U+FFFD, which PostgreSQL text cannot hold and SQLite can: an event SQLite
accepts is accepted here too, and deduplicated the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from omnisdk.events import loads
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.rows import InboxItem

INBOX_APPEND_LOCK = 0x6F6D0001
"""The first key of ``pg_advisory_xact_lock(key, hashtext(current_schema()))``, held by every
inbox append until its commit."""
LOCK_SQL = "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))"
"""Take a transaction-scoped advisory lock of this schema (parameter: the first key)."""

CURSOR = "processor"


class PostgresInbox(PostgresAtomic):
    """The inbox part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    inbox_locked = False
    """This transaction holds :data:`INBOX_APPEND_LOCK` (taken once, at its start)."""

    def lock_inbox(self) -> None:
        """Take :data:`INBOX_APPEND_LOCK` until the transaction ends (the store does it at the
        start of a batch with appends, outside any savepoint)."""
        try:
            self.run(LOCK_SQL, (INBOX_APPEND_LOCK,))
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        self.inbox_locked = True

    def append(self, rows: Sequence[tuple[str, str, str, str | None, str, bytes]]) -> int:
        """Insert ``(source, id, type, partitionkey, received_at, body)`` rows, skipping those
        whose (source, id) is stored already; returns how many were new.  Holds
        :data:`INBOX_APPEND_LOCK` until the transaction ends."""
        if not self.inbox_locked:
            self.lock_inbox()
        if any("\x00" in value for row in rows for value in row[:5] if value):
            rows = [tuple(v.replace("\x00", "\ufffd") if isinstance(v, str) else v for v in row)  # type: ignore[misc]
                    for row in rows]
        try:
            cur = self.write(
                "INSERT INTO inbox (source, id, type, partitionkey, received_at, body)"
                " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::bytea[])"
                " ON CONFLICT (source, id) DO NOTHING",
                [list(column) for column in zip(*rows, strict=True)])
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return max(cur.rowcount, 0)

    def inbox_cursor(self) -> int:
        """The seq of the last inbox row the processor has taken (0 before the first)."""
        try:
            row = self.run("SELECT seq FROM inbox_cursor WHERE name = %s", (CURSOR,)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else 0

    def claim_inbox(self, limit: int) -> list[InboxItem]:
        try:
            rows = self.run(
                "SELECT seq, body FROM inbox WHERE seq > COALESCE((SELECT seq FROM inbox_cursor WHERE name = %s), 0)"
                " ORDER BY seq LIMIT %s", (CURSOR, limit)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [InboxItem(seq, loads(body)) for seq, body in rows]

    def mark_processed(self, seq: int, error: str | None = None) -> None:
        try:
            if error is not None:
                self.write(
                    "INSERT INTO inbox_failures (seq, source, id, error)"
                    " SELECT seq, source, id, %s FROM inbox WHERE seq = %s"
                    " ON CONFLICT (seq) DO UPDATE SET error = excluded.error", (error, seq))
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        self.mark_processed_through(seq)

    def mark_processed_through(self, seq: int) -> None:
        self.defer("INSERT INTO inbox_cursor (name, seq) VALUES (%s, %s)"
                   " ON CONFLICT (name) DO UPDATE SET seq = GREATEST(inbox_cursor.seq, excluded.seq)", (CURSOR, seq))

    def inbox_failure(self, source: str, event_id: str) -> str | None:
        try:
            row = self.run("SELECT error FROM inbox_failures WHERE source = %s AND id = %s",
                           (source, event_id)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None

    def inbox_backlog(self, up_to: int | None = None) -> int:
        """Inbox rows the processor has not taken yet (at most ``up_to`` counted)."""
        after = "seq > COALESCE((SELECT seq FROM inbox_cursor WHERE name = %s), 0)"
        try:
            if up_to is not None:
                return self.run(f"SELECT COUNT(*) FROM (SELECT 1 FROM inbox WHERE {after} ORDER BY seq LIMIT %s) AS b",
                                (CURSOR, max(up_to, 0))).fetchone()[0]
            return self.run(f"SELECT COUNT(*) FROM inbox WHERE {after}", (CURSOR,)).fetchone()[0]
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def oldest_unprocessed_at(self) -> str | None:
        try:
            row = self.run(
                "SELECT received_at FROM inbox WHERE seq > COALESCE((SELECT seq FROM inbox_cursor WHERE name = %s), 0)"
                " ORDER BY seq LIMIT 1", (CURSOR,)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None


__all__ = ["INBOX_APPEND_LOCK", "LOCK_SQL", "PostgresInbox"]
