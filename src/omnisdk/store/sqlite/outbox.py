"""The outbox (:class:`~omnisdk.store.protocols.OutboxStore`): idempotency keys scoped to the interaction and
the caller, the same key with another body refused.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from omnisdk.store.errors import IdempotencyConflict
from omnisdk.store.idempotency import outbox_scope, request_fingerprint, scoped_send_key
from omnisdk.store.rows import (
    OutboxRow,
)
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteOutbox(SQLiteAtomic):
    """The outbox part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def enqueue_outbox(
        self,
        *,
        idempotency_key: str,
        plugin: str,
        account: str,
        interaction_id: str | None,
        payload: dict[str, Any],
        now: float,
        caller: str | None = None,
        request: dict[str, Any] | None = None,
    ) -> bool:
        scope = outbox_scope(interaction_id, caller)
        fingerprint = request_fingerprint(payload if request is None else request)
        # the provider gets the key itself, unless another scope gave it the same key first
        derived = scoped_send_key(idempotency_key, scope)
        try:
            cur = self.c.execute(
                "INSERT OR IGNORE INTO outbox (idempotency_key, scope, send_key, fingerprint, plugin, account,"
                " interaction_id, payload, next_attempt_at) VALUES (?1, ?2,"
                " CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE send_key = ?1) THEN ?3 ELSE ?1 END,"
                " ?4, ?5, ?6, ?7, ?8, ?9)",
                (idempotency_key, scope, derived, fingerprint, plugin, account, interaction_id,
                 orjson.dumps(payload).decode(), now),
            )
            if cur.rowcount == 1:
                return True
            row = self.c.execute("SELECT fingerprint FROM outbox WHERE scope = ? AND idempotency_key = ?",
                                 (scope, idempotency_key)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        if row is not None and row[0] is not None and row[0] != fingerprint:
            raise IdempotencyConflict("this idempotency key was already used for a different request"
                                      " on this interaction")
        return False

    def claim_outbox(self, now: float, limit: int) -> list[OutboxRow]:
        try:
            rows = self.c.execute(
                "SELECT id, send_key, plugin, account, interaction_id, payload, attempts"
                " FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
            out = []
            for rid, key, plugin, account, iid, payload, attempts in rows:
                self.c.execute(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?", (rid,)
                )
                out.append(OutboxRow(rid, key, plugin, account, iid, orjson.loads(payload), attempts + 1))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return out

    def finish_outbox(
        self,
        row_id: int,
        *,
        state: str,
        provider_message_id: str | None = None,
        error: str | None = None,
        next_attempt_at: float | None = None,
    ) -> None:
        try:
            self.c.execute(
                "UPDATE outbox SET state = ?, provider_message_id = COALESCE(?, provider_message_id),"
                " error = ?, next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
                (state, provider_message_id, error, next_attempt_at, row_id),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def outbox_pending(self) -> int:
        # outbox_due is partial (WHERE state = 'pending'): counted from that index alone
        try:
            return self.c.execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def requeue_stale_sending(self) -> int:
        """Rows left ``sending`` by a crash go back to ``pending`` (same idempotency key)."""
        try:
            return self.c.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'").rowcount
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
