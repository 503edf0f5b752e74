"""Email threading's index from RFC 5322 Message-ID to interaction, per account
(:class:`~omnisdk.store.protocols.EmailIndex`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from omnisdk.model.email import strip_msg_id
from omnisdk.store.rows import EmailLink
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


def _ids(message_ids: Sequence[str]) -> list[str]:
    return [m for m in dict.fromkeys(strip_msg_id(m) for m in message_ids) if m]


class SQLiteEmailIndex(SQLiteAtomic):
    """The email index part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def index_message_ids(self, source: str, interaction_id: str, conversation_key: str,
                          message_ids: Sequence[str], direction: str) -> int:
        rows = [(source, m, interaction_id, conversation_key, direction) for m in _ids(message_ids)]
        if not rows:
            return 0
        try:
            before = self.c.total_changes
            self.c.executemany(
                "INSERT OR IGNORE INTO email_thread_ids"
                " (source, message_id, interaction_id, conversation_key, direction) VALUES (?, ?, ?, ?, ?)", rows)
            return self.c.total_changes - before
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def interactions_for_message_ids(self, source: str, message_ids: Sequence[str]) -> list[EmailLink]:
        ids = _ids(message_ids)
        found: dict[str, EmailLink] = {}
        try:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for mid, iid, key, direction in self.c.execute(
                    "SELECT message_id, interaction_id, conversation_key, direction FROM email_thread_ids"
                    f" WHERE source = ? AND message_id IN ({','.join('?' * len(chunk))})", [source, *chunk]):
                    found[mid] = EmailLink(source, mid, iid, key, direction)
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [found[m] for m in ids if m in found]
