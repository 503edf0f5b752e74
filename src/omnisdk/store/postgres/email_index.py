"""Email threading's index from RFC 5322 Message-ID to interaction, per account, on PostgreSQL
(:class:`~omnisdk.store.protocols.EmailIndex`)."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from omnisdk.model.email import strip_msg_id
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.rows import EmailLink


def _ids(message_ids: Sequence[str]) -> list[str]:
    return [m for m in dict.fromkeys(strip_msg_id(m) for m in message_ids) if m]


class PostgresEmailIndex(PostgresAtomic):
    """The email index part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def index_message_ids(self, source: str, interaction_id: str, conversation_key: str,
                          message_ids: Sequence[str], direction: str) -> int:
        ids = _ids(message_ids)
        if not ids:
            return 0
        try:
            return self.write(
                "INSERT INTO email_thread_ids (source, message_id, interaction_id, conversation_key, direction)"
                " SELECT %s, m, %s, %s, %s FROM unnest(%s::text[]) AS m ON CONFLICT DO NOTHING",
                (source, interaction_id, conversation_key, direction, ids)).rowcount
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def interactions_for_message_ids(self, source: str, message_ids: Sequence[str]) -> list[EmailLink]:
        ids = _ids(message_ids)
        if not ids:
            return []
        try:
            rows = self.run("SELECT message_id, interaction_id, conversation_key, direction FROM email_thread_ids"
                            " WHERE source = %s AND message_id = ANY(%s)", (source, ids)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        found = {mid: EmailLink(source, mid, iid, key, direction) for mid, iid, key, direction in rows}
        return [found[m] for m in ids if m in found]


__all__ = ["PostgresEmailIndex"]
