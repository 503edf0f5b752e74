"""API keys and the audit log on PostgreSQL (:class:`~omnisdk.store.protocols.AccessStore`)."""

from __future__ import annotations

import orjson
import psycopg

from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.queries import check_limit, decode_cursor, encode_cursor
from omnisdk.store.row_columns import API_KEY_COLUMNS, api_key
from omnisdk.store.rows import ApiKeyRow, AuditRow, Page


class PostgresAccess(PostgresAtomic):
    """The access part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def save_api_key(self, row: ApiKeyRow) -> None:
        try:
            self.write(f"INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                       (row.id, row.name, row.role, orjson.dumps(list(row.scopes)).decode(), row.secret_hash,
                        row.created_at, row.agent,
                        orjson.dumps(list(row.queues)).decode() if row.queues is not None else None, row.revoked_at))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def get_api_key(self, key_id: str) -> ApiKeyRow | None:
        try:
            row = self.run(f"SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = %s", (key_id,)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return api_key(row) if row else None

    def list_api_keys(self) -> list[ApiKeyRow]:
        try:
            rows = self.run(f"SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id").fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str, at: str) -> bool:
        try:
            return bool(self.write("UPDATE api_keys SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                                   (at, key_id)).rowcount)
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def append_audit(self, row: AuditRow) -> None:
        try:
            self.write("INSERT INTO audit_log (at, subject, role, method, path, status, remote)"
                       " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                       (row.at, row.subject, row.role, row.method, row.path, row.status, row.remote))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def page_audit(self, *, limit: int, cursor: str | None = None) -> Page[AuditRow]:
        check_limit(limit)
        where, args = "", []
        if cursor is not None:
            position = decode_cursor("audit", cursor)
            if not position.isdigit():
                raise ValueError("cursor is not one this API gave out")
            where, args = " WHERE seq < %s", [int(position)]
        try:
            rows = self.run("SELECT seq, at, subject, role, method, path, status, remote FROM audit_log"
                            + where + " ORDER BY seq DESC LIMIT %s", (*args, limit + 1)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        items = [AuditRow(seq=r[0], at=r[1], subject=r[2], role=r[3], method=r[4], path=r[5], status=r[6],
                          remote=r[7]) for r in rows[:limit]]
        return Page(items, encode_cursor("audit", str(items[-1].seq)) if len(rows) > limit else None)


__all__ = ["PostgresAccess"]
