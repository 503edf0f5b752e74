"""API keys and the audit log (:class:`~omnisdk.store.protocols.AccessStore`)."""

from __future__ import annotations

import sqlite3

import orjson

from omnisdk.store.queries import check_limit, decode_cursor, encode_cursor
from omnisdk.store.row_columns import API_KEY_COLUMNS, api_key
from omnisdk.store.rows import ApiKeyRow, AuditRow, Page
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteAccess(SQLiteAtomic):
    """The access part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def save_api_key(self, row: ApiKeyRow) -> None:
        try:
            self.c.execute(
                f"INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.id, row.name, row.role, orjson.dumps(list(row.scopes)).decode(), row.secret_hash,
                 row.created_at, row.agent, orjson.dumps(list(row.queues)).decode() if row.queues is not None else None,
                 row.revoked_at))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def get_api_key(self, key_id: str) -> ApiKeyRow | None:
        try:
            row = self.c.execute(f"SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return api_key(row) if row else None

    def list_api_keys(self) -> list[ApiKeyRow]:
        try:
            rows = self.c.execute(f"SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, id").fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [api_key(r) for r in rows]

    def revoke_api_key(self, key_id: str, at: str) -> bool:
        try:
            return bool(self.c.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                                       (at, key_id)).rowcount)
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def append_audit(self, row: AuditRow) -> None:
        try:
            self.c.execute("INSERT INTO audit_log (at, subject, role, method, path, status, remote)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?)",
                           (row.at, row.subject, row.role, row.method, row.path, row.status, row.remote))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def page_audit(self, *, limit: int, cursor: str | None = None) -> Page[AuditRow]:
        check_limit(limit)
        where, args = "", []
        if cursor is not None:
            position = decode_cursor("audit", cursor)
            if not position.isdigit():
                raise ValueError("cursor is not one this API gave out")
            where, args = " WHERE seq < ?", [int(position)]
        try:
            rows = self.c.execute("SELECT seq, at, subject, role, method, path, status, remote FROM audit_log"
                                  + where + " ORDER BY seq DESC LIMIT ?", (*args, limit + 1)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        items = [AuditRow(seq=r[0], at=r[1], subject=r[2], role=r[3], method=r[4], path=r[5], status=r[6],
                          remote=r[7]) for r in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_cursor("audit", str(items[-1].seq)) if more else None)
