"""Messages and their delivery statuses (:class:`~omnisdk.store.protocols.InteractionStore`, the message half).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from omnisdk.model.messages import DeliveryStatus
from omnisdk.store.rows import (
    MessageRow,
)
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteMessages(SQLiteAtomic):
    """The messages part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def insert_message_later(self, *, source: str, message_id: str, interaction_id: str | None, direction: str,
                             kind: str, body: dict[str, Any], at: str) -> None:
        # in process: nothing to gain by waiting
        self.insert_message(source=source, message_id=message_id, interaction_id=interaction_id,
                            direction=direction, kind=kind, body=body, at=at)

    def insert_message(
        self,
        *,
        source: str,
        message_id: str,
        interaction_id: str | None,
        direction: str,
        kind: str,
        body: dict[str, Any],
        at: str,
    ) -> bool:
        try:
            cur = self.c.execute(
                "INSERT INTO messages (source, message_id, interaction_id, direction, kind, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, message_id) DO UPDATE SET"
                " interaction_id = COALESCE(messages.interaction_id, excluded.interaction_id),"
                " kind = COALESCE(messages.kind, excluded.kind),"
                " body = COALESCE(messages.body, excluded.body)"
                " WHERE messages.body IS NULL",
                (source, message_id, interaction_id, direction, kind, orjson.dumps(body).decode(), at),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return cur.rowcount == 1

    def apply_status(
        self,
        *,
        source: str,
        message_id: str,
        status: str,
        provider_status: str,
        at: str,
        error: dict[str, Any] | None,
    ) -> str:
        new = DeliveryStatus(status)
        try:
            row = self.c.execute(
                "SELECT status, direction FROM messages WHERE source = ? AND message_id = ?", (source, message_id)
            ).fetchone()
            if row is None:  # the status came before the send was recorded: a placeholder row
                self.c.execute(
                    "INSERT OR IGNORE INTO messages (source, message_id, direction, created_at)"
                    " VALUES (?, ?, 'outbound', ?)",
                    (source, message_id, at),
                )
            elif row[1] == "inbound":  # a delivery status is about a message we sent, never one we got
                return "inbound"
            elif row[0] is not None and not new.advances(DeliveryStatus(row[0])):
                return "backwards"
            self.c.execute(
                "UPDATE messages SET status = ?, provider_status = ?, status_at = ?, error = ?"
                " WHERE source = ? AND message_id = ?",
                (
                    new.value,
                    provider_status,
                    at,
                    orjson.dumps(error).decode() if error else None,
                    source,
                    message_id,
                ),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return "applied"

    def message_status(self, source: str, message_id: str) -> str | None:
        try:
            row = self.c.execute(
                "SELECT status FROM messages WHERE source = ? AND message_id = ?", (source, message_id)
            ).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None

    def messages_of(self, interaction_id: str) -> list[MessageRow]:
        try:
            cur = self.c.execute(
                "SELECT message_id, direction, kind, body, created_at, status FROM messages"
                # by time, not by text: providers' times ("…:05Z") and ours ("…:05.123456Z") differ
                # in form, and "." sorts before "Z"
                " WHERE interaction_id = ? ORDER BY julianday(created_at), rowid", (interaction_id,))
            return [MessageRow(mid, direction, kind, orjson.loads(body) if body else None, at, status)
                    for mid, direction, kind, body, at, status in cur]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
