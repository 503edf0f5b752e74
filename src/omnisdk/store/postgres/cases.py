"""Cases on PostgreSQL (:class:`~omnisdk.store.protocols.CaseStore`)."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg

from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.queries import check_limit, decode_cursor, encode_cursor
from omnisdk.store.rows import Page


class PostgresCases(PostgresAtomic):
    """The cases part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def save_case(self, doc: dict[str, Any]) -> None:
        try:
            self.write("INSERT INTO cases (id, number, created_at, doc) VALUES (%s, %s, %s, %s)"
                       " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                       (doc["id"], doc["number"], str(doc["created_at"]), orjson.dumps(doc).decode()))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def get_case(self, case_id: str) -> dict[str, Any] | None:
        try:
            row = self.run("SELECT doc FROM cases WHERE id = %s OR number = %s", (case_id, case_id)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return orjson.loads(row[0]) if row else None

    def list_cases(self) -> list[dict[str, Any]]:
        try:
            return [orjson.loads(d) for (d,) in self.run("SELECT doc FROM cases ORDER BY number").fetchall()]
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def page_cases(self, *, limit: int, cursor: str | None = None) -> Page[dict[str, Any]]:
        check_limit(limit)
        sql, args = "SELECT number, doc FROM cases", [limit + 1]
        if cursor is not None:
            # the same order as below: (length, text), so a page goes on past CS9999999
            position = decode_cursor("case", cursor)
            sql += " WHERE (length(number), number) < (length(%s), %s)"
            args[:0] = [position, position]
        try:
            rows = self.run(sql + " ORDER BY length(number) DESC, number DESC LIMIT %s", args).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        items = [orjson.loads(doc) for _, doc in rows[:limit]]
        return Page(items, encode_cursor("case", rows[limit - 1][0]) if len(rows) > limit else None)


__all__ = ["PostgresCases"]
