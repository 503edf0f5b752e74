"""Messages and their delivery statuses on PostgreSQL (:class:`~omnisdk.store.protocols.InteractionStore`,
the message half).  ``seq`` (an identity column) is a message's position in insertion order,
as SQLite's ``rowid`` is."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import orjson
import psycopg

from omnisdk.model.messages import DeliveryStatus
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.rows import MessageRow


def _instant(at: str) -> float:
    """Epoch seconds of an RFC 3339 time; -inf for one that does not parse (it sorts first, as
    SQLite's NULL ``julianday`` does)."""
    try:
        return datetime.fromisoformat(at).timestamp()
    except (TypeError, ValueError):
        return -math.inf


class PostgresMessages(PostgresAtomic):
    """The messages part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    _INSERT = (
        "INSERT INTO messages (source, message_id, interaction_id, direction, kind, body, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (source, message_id) DO UPDATE SET"
        " interaction_id = COALESCE(messages.interaction_id, excluded.interaction_id),"
        " kind = COALESCE(messages.kind, excluded.kind),"
        " body = COALESCE(messages.body, excluded.body)"
        " WHERE messages.body IS NULL")

    def insert_message(self, *, source: str, message_id: str, interaction_id: str | None, direction: str,
                       kind: str, body: dict[str, Any], at: str) -> bool:
        try:
            cur = self.write(self._INSERT, (source, message_id, interaction_id, direction, kind,
                                            orjson.dumps(body).decode(), at))
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return cur.rowcount == 1

    def insert_message_later(self, *, source: str, message_id: str, interaction_id: str | None, direction: str,
                             kind: str, body: dict[str, Any], at: str) -> None:
        self.defer(self._INSERT, (source, message_id, interaction_id, direction, kind, orjson.dumps(body).decode(), at))

    def apply_status(self, *, source: str, message_id: str, status: str, provider_status: str, at: str,
                     error: dict[str, Any] | None) -> str:
        new = DeliveryStatus(status)
        try:
            row = self.run("SELECT status, direction FROM messages WHERE source = %s AND message_id = %s",
                           (source, message_id)).fetchone()
            if row is None:  # the status came before the send was recorded: a placeholder row
                self.write("INSERT INTO messages (source, message_id, direction, created_at)"
                           " VALUES (%s, %s, 'outbound', %s) ON CONFLICT DO NOTHING", (source, message_id, at))
            elif row[1] == "inbound":  # a delivery status is about a message we sent, never one we got
                return "inbound"
            elif row[0] is not None and not new.advances(DeliveryStatus(row[0])):
                return "backwards"
            self.write("UPDATE messages SET status = %s, provider_status = %s, status_at = %s, error = %s"
                       " WHERE source = %s AND message_id = %s",
                       (new.value, provider_status, at, orjson.dumps(error).decode() if error else None,
                        source, message_id))
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return "applied"

    def message_status(self, source: str, message_id: str) -> str | None:
        try:
            row = self.run("SELECT status FROM messages WHERE source = %s AND message_id = %s",
                           (source, message_id)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None

    def messages_of(self, interaction_id: str) -> list[MessageRow]:
        try:
            rows = self.run("SELECT message_id, direction, kind, body, created_at, status, seq FROM messages"
                            " WHERE interaction_id = %s ORDER BY seq", (interaction_id,)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        # by time, not by text: providers' times ("…:05Z") and ours ("…:05.123456Z") differ in form
        rows.sort(key=lambda r: (_instant(r[4]), r[6]))
        return [MessageRow(mid, direction, kind, orjson.loads(body) if body else None, at, status)
                for mid, direction, kind, body, at, status, _ in rows]


__all__ = ["PostgresMessages"]
