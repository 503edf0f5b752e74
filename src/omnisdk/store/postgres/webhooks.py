"""Outgoing-webhook subscriptions and deliveries on PostgreSQL (:class:`~omnisdk.store.protocols.WebhookStore`).
Due deliveries are taken ``FOR UPDATE SKIP LOCKED`` and pushed back by a lease in the same
transaction, so two passes never take the same delivery."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import psycopg

from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.row_columns import DELIVERY_COLUMNS, SUBSCRIPTION_COLUMNS, delivery, subscription
from omnisdk.store.rows import DELIVERY_LEASE_SECONDS, DeliveryRow, SubscriptionRow


class PostgresWebhooks(PostgresAtomic):
    """The outgoing-webhooks part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def save_subscription(self, row: SubscriptionRow) -> None:
        try:
            self.write(
                f"INSERT INTO webhook_subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET url = excluded.url, event_types = excluded.event_types,"
                " description = excluded.description, state = excluded.state,"
                " disabled_reason = excluded.disabled_reason, failures = excluded.failures",
                (row.id, row.url, orjson.dumps(list(row.event_types)).decode(), row.secret, row.created_at,
                 row.description, row.state, row.disabled_reason, row.failures))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def get_subscription(self, subscription_id: str) -> SubscriptionRow | None:
        try:
            r = self.run(f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = %s", (subscription_id,)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return subscription(r) if r else None

    def list_subscriptions(self) -> list[SubscriptionRow]:
        try:
            rows = self.run(f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions ORDER BY created_at, id").fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [subscription(r) for r in rows]

    def delete_subscription(self, subscription_id: str) -> bool:
        try:
            self.write("DELETE FROM webhook_deliveries WHERE subscription_id = %s", (subscription_id,))
            return bool(self.write("DELETE FROM webhook_subscriptions WHERE id = %s", (subscription_id,)).rowcount)
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def enqueue_deliveries(self, rows: Sequence[DeliveryRow]) -> None:
        try:
            self.write_many(
                f"INSERT INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                [(r.id, r.subscription_id, r.event_id, r.event_type, r.payload, r.created_at, r.state, r.attempts,
                  r.next_attempt_at, r.last_status, r.last_error, r.delivered_at) for r in rows])
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def claim_deliveries(self, now: float, limit: int) -> list[DeliveryRow]:
        try:
            rows = self.run(
                f"SELECT {', '.join('d.' + c.strip() for c in DELIVERY_COLUMNS.split(','))} FROM webhook_deliveries d"
                " JOIN webhook_subscriptions s ON s.id = d.subscription_id"
                " WHERE d.state = 'pending' AND d.next_attempt_at <= %s AND s.state = 'active'"
                " ORDER BY d.next_attempt_at, d.created_at LIMIT %s FOR UPDATE OF d SKIP LOCKED",
                (now, limit)).fetchall()
            if rows:
                self.write("UPDATE webhook_deliveries SET next_attempt_at = %s WHERE id = ANY(%s)",
                           (now + DELIVERY_LEASE_SECONDS, [r[0] for r in rows]))
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [delivery(r) for r in rows]

    def finish_delivery(self, row: DeliveryRow) -> None:
        try:
            self.write(
                "UPDATE webhook_deliveries SET state = %s, attempts = %s, next_attempt_at = %s, last_status = %s,"
                " last_error = %s, delivered_at = %s WHERE id = %s",
                (row.state, row.attempts, row.next_attempt_at, row.last_status, row.last_error, row.delivered_at,
                 row.id))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def list_deliveries(self, subscription_id: str, *, state: str | None = None,
                        limit: int = 50) -> list[DeliveryRow]:
        where, args = "subscription_id = %s", [subscription_id]
        if state is not None:
            where += " AND state = %s"
            args.append(state)
        try:
            rows = self.run(f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {where}"
                            " ORDER BY created_at DESC, id DESC LIMIT %s", (*args, limit)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [delivery(r) for r in rows]

    def requeue_deliveries(self, subscription_id: str, delivery_id: str | None = None) -> int:
        sql = ("UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0"
               " WHERE subscription_id = %s AND state = 'failed'")
        args: list[str] = [subscription_id]
        if delivery_id is not None:
            sql += " AND id = %s"
            args.append(delivery_id)
        try:
            return self.write(sql, args).rowcount
        except psycopg.Error as exc:
            raise _failed(exc) from exc


__all__ = ["PostgresWebhooks"]
