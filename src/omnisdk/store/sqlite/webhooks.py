"""Outgoing-webhook subscriptions and deliveries (:class:`~omnisdk.store.protocols.WebhookStore`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from omnisdk.store.row_columns import DELIVERY_COLUMNS, SUBSCRIPTION_COLUMNS, delivery, subscription
from omnisdk.store.rows import DELIVERY_LEASE_SECONDS, DeliveryRow, SubscriptionRow
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteWebhooks(SQLiteAtomic):
    """The outgoing-webhooks part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def save_subscription(self, row: SubscriptionRow) -> None:
        try:
            self.c.execute(
                f"INSERT INTO webhook_subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET url = excluded.url, event_types = excluded.event_types,"
                " description = excluded.description, state = excluded.state,"
                " disabled_reason = excluded.disabled_reason, failures = excluded.failures",
                (row.id, row.url, orjson.dumps(list(row.event_types)).decode(), row.secret, row.created_at,
                 row.description, row.state, row.disabled_reason, row.failures))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def get_subscription(self, subscription_id: str) -> SubscriptionRow | None:
        try:
            r = self.c.execute(f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = ?", (subscription_id,)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return subscription(r) if r else None

    def list_subscriptions(self) -> list[SubscriptionRow]:
        try:
            rows = self.c.execute(f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions ORDER BY created_at, id").fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [subscription(r) for r in rows]

    def delete_subscription(self, subscription_id: str) -> bool:
        try:
            self.c.execute("DELETE FROM webhook_deliveries WHERE subscription_id = ?", (subscription_id,))
            return bool(self.c.execute("DELETE FROM webhook_subscriptions WHERE id = ?", (subscription_id,)).rowcount)
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def enqueue_deliveries(self, rows: Sequence[DeliveryRow]) -> None:
        try:
            self.c.executemany(
                f"INSERT OR IGNORE INTO webhook_deliveries ({DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.id, r.subscription_id, r.event_id, r.event_type, r.payload, r.created_at, r.state, r.attempts,
                  r.next_attempt_at, r.last_status, r.last_error, r.delivered_at) for r in rows])
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def claim_deliveries(self, now: float, limit: int) -> list[DeliveryRow]:
        try:
            rows = self.c.execute(
                f"SELECT {', '.join('d.' + c.strip() for c in DELIVERY_COLUMNS.split(','))} FROM webhook_deliveries d"
                " JOIN webhook_subscriptions s ON s.id = d.subscription_id"
                " WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND s.state = 'active'"
                " ORDER BY d.next_attempt_at, d.created_at LIMIT ?", (now, limit)).fetchall()
            self.c.executemany("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?",
                               [(now + DELIVERY_LEASE_SECONDS, r[0]) for r in rows])
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [delivery(r) for r in rows]

    def finish_delivery(self, row: DeliveryRow) -> None:
        try:
            self.c.execute(
                "UPDATE webhook_deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_status = ?,"
                " last_error = ?, delivered_at = ? WHERE id = ?",
                (row.state, row.attempts, row.next_attempt_at, row.last_status, row.last_error, row.delivered_at,
                 row.id))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_deliveries(self, subscription_id: str, *, state: str | None = None,
                        limit: int = 50) -> list[DeliveryRow]:
        where, args = "subscription_id = ?", [subscription_id]
        if state is not None:
            where += " AND state = ?"
            args.append(state)
        try:
            rows = self.c.execute(f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {where}"
                                  " ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [delivery(r) for r in rows]

    def requeue_deliveries(self, subscription_id: str, delivery_id: str | None = None) -> int:
        sql = ("UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0"
               " WHERE subscription_id = ? AND state = 'failed'")
        args: list[str] = [subscription_id]
        if delivery_id is not None:
            sql += " AND id = ?"
            args.append(delivery_id)
        try:
            return self.c.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
