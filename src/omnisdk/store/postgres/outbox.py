"""The outbox on PostgreSQL (:class:`~omnisdk.store.protocols.OutboxStore`): idempotency keys
scoped to the interaction and the caller, the same key with another body refused, due rows
claimed once (``FOR UPDATE SKIP LOCKED``, as :mod:`~omnisdk.store.postgres.timers` does)."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg

from omnisdk.store.errors import IdempotencyConflict
from omnisdk.store.idempotency import outbox_scope, request_fingerprint, scoped_send_key
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.rows import OutboxRow


class PostgresOutbox(PostgresAtomic):
    """The outbox part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def enqueue_outbox(self, *, idempotency_key: str, plugin: str, account: str, interaction_id: str | None,
                       payload: dict[str, Any], now: float, caller: str | None = None,
                       request: dict[str, Any] | None = None) -> bool:
        scope = outbox_scope(interaction_id, caller)
        fingerprint = request_fingerprint(payload if request is None else request)
        # the provider gets the key itself, unless another scope gave it the same key first
        derived = scoped_send_key(idempotency_key, scope)
        try:
            cur = self.write(
                "INSERT INTO outbox (idempotency_key, scope, send_key, fingerprint, plugin, account,"
                " interaction_id, payload, next_attempt_at) VALUES (%(key)s, %(scope)s,"
                " CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE send_key = %(key)s) THEN %(derived)s ELSE %(key)s END,"
                " %(fp)s, %(plugin)s, %(account)s, %(iid)s, %(payload)s, %(now)s) ON CONFLICT DO NOTHING",
                {"key": idempotency_key, "scope": scope, "derived": derived, "fp": fingerprint, "plugin": plugin,
                 "account": account, "iid": interaction_id, "payload": orjson.dumps(payload).decode(), "now": now})
            if cur.rowcount == 1:
                return True
            row = self.run("SELECT fingerprint FROM outbox WHERE scope = %s AND idempotency_key = %s",
                           (scope, idempotency_key)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        if row is not None and row[0] is not None and row[0] != fingerprint:
            raise IdempotencyConflict("this idempotency key was already used for a different request"
                                      " on this interaction")
        return False

    def claim_outbox(self, now: float, limit: int) -> list[OutboxRow]:
        try:
            rows = self.write(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox"
                " WHERE state = 'pending' AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s"
                " FOR UPDATE SKIP LOCKED)"
                " RETURNING id, send_key, plugin, account, interaction_id, payload, attempts, next_attempt_at",
                (now, limit)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        rows.sort(key=lambda r: (r[7], r[0]))  # RETURNING has no order
        return [OutboxRow(rid, key, plugin, account, iid, orjson.loads(payload), attempts)
                for rid, key, plugin, account, iid, payload, attempts, _ in rows]

    def finish_outbox(self, row_id: int, *, state: str, provider_message_id: str | None = None,
                      error: str | None = None, next_attempt_at: float | None = None) -> None:
        try:
            self.write(
                "UPDATE outbox SET state = %s, provider_message_id = COALESCE(%s, provider_message_id),"
                " error = %s, next_attempt_at = COALESCE(%s, next_attempt_at) WHERE id = %s",
                (state, provider_message_id, error, next_attempt_at, row_id))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def outbox_pending(self) -> int:
        try:
            return self.run("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def requeue_stale_sending(self) -> int:
        """Rows left ``sending`` by a crash go back to ``pending`` (same idempotency key)."""
        try:
            return self.write("UPDATE outbox SET state = 'pending' WHERE state = 'sending'").rowcount
        except psycopg.Error as exc:
            raise _failed(exc) from exc


__all__ = ["PostgresOutbox"]
