"""Cases (:class:`~omnisdk.store.protocols.CaseStore`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from omnisdk.store.queries import check_limit, decode_cursor, encode_cursor
from omnisdk.store.rows import (
    Page,
)
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteCases(SQLiteAtomic):
    """The cases part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def save_case(self, doc: dict[str, Any]) -> None:
        try:
            self.c.execute(
                "INSERT INTO cases (id, number, created_at, doc) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (doc["id"], doc["number"], str(doc["created_at"]), orjson.dumps(doc).decode()))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def get_case(self, case_id: str) -> dict[str, Any] | None:
        try:
            row = self.c.execute("SELECT doc FROM cases WHERE id = ? OR number = ?", (case_id, case_id)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return orjson.loads(row[0]) if row else None

    def list_cases(self) -> list[dict[str, Any]]:
        try:
            return [orjson.loads(d) for (d,) in self.c.execute("SELECT doc FROM cases ORDER BY number")]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def page_cases(self, *, limit: int, cursor: str | None = None) -> Page[dict[str, Any]]:
        check_limit(limit)
        sql, args = "SELECT number, doc FROM cases", [limit + 1]
        if cursor is not None:
            sql += " WHERE number < ?"
            args.insert(0, decode_cursor("case", cursor))
        try:
            # numbers are CS + zero-padded digits: text order is number order while they keep
            # their width; length first keeps it past CS9999999
            rows = self.c.execute(sql + " ORDER BY length(number) DESC, number DESC LIMIT ?", args).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        items = [orjson.loads(doc) for _, doc in rows[:limit]]
        return Page(items, encode_cursor("case", rows[limit - 1][0]) if len(rows) > limit else None)
