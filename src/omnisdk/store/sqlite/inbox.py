"""The inbox (:class:`~omnisdk.store.protocols.InboxStore`): an append-only log; the processor's position in it
is the cursor.
"""

from __future__ import annotations

import sqlite3

from omnisdk.events import loads
from omnisdk.store.rows import (
    InboxItem,
)
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteInbox(SQLiteAtomic):
    """The inbox part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def inbox_cursor(self) -> int:
        """The seq of the last inbox row the processor has taken (0 before the first)."""
        try:
            row = self.c.execute("SELECT seq FROM inbox_cursor WHERE name = ?", (self.cursor_name,)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else 0

    def claim_inbox(self, limit: int) -> list[InboxItem]:
        try:
            rows = self.c.execute(
                f"SELECT seq, body FROM {self.inbox} WHERE seq > ? ORDER BY seq LIMIT ?", (self.inbox_cursor(), limit)
            ).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [InboxItem(seq, loads(body)) for seq, body in rows]

    def mark_processed(self, seq: int, error: str | None = None) -> None:
        try:
            if error is not None:
                self.c.execute(
                    "INSERT OR REPLACE INTO inbox_failures (seq, source, id, error)"
                    f" SELECT seq, source, id, ? FROM {self.inbox} WHERE seq = ?", (error, seq))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        self.mark_processed_through(seq)

    def mark_processed_through(self, seq: int) -> None:
        """Move the cursor past ``seq`` (it never moves back)."""
        try:
            self.c.execute(
                "INSERT INTO inbox_cursor (name, seq) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)", (self.cursor_name, seq))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def inbox_failure(self, source: str, event_id: str) -> str | None:
        """Why an inbox event could not be applied, or None."""
        try:
            row = self.c.execute(
                "SELECT error FROM inbox_failures WHERE source = ? AND id = ?", (source, event_id)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None

    def inbox_backlog(self, up_to: int | None = None) -> int:
        """Inbox rows the processor has not taken yet (at most ``up_to`` counted)."""
        try:
            if up_to is not None:
                return self.c.execute(
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM {self.inbox} WHERE seq > ? ORDER BY seq LIMIT ?)",
                    (self.inbox_cursor(), max(up_to, 0))).fetchone()[0]
            return self.c.execute(
                f"SELECT COUNT(*) FROM {self.inbox} WHERE seq > ?", (self.inbox_cursor(),)).fetchone()[0]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def oldest_unprocessed_at(self) -> str | None:
        """``received_at`` (RFC 3339 UTC) of the oldest inbox row after the cursor, or None."""
        try:
            row = self.c.execute(
                f"SELECT received_at FROM {self.inbox} WHERE seq > ? ORDER BY seq LIMIT 1",
                (self.inbox_cursor(),)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None
