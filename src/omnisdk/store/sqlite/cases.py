"""Cases (:class:`~omnisdk.store.protocols.CaseStore`): one JSON document a row, validated into
:class:`~omnisdk.model.Case` on the way out.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import orjson

from omnisdk.model import Case, CaseSummary
from omnisdk.store.queries import check_limit, decode_cursor, encode_cursor
from omnisdk.store.rows import Page
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteCases(SQLiteAtomic):
    """The cases part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def save_case(self, case: Case) -> None:
        if not isinstance(case, Case):
            raise TypeError(f"save_case takes a Case, not {type(case).__name__}")
        doc = case.model_dump(mode="json")  # ``from`` of an update by its alias
        try:
            self.c.execute(
                "INSERT INTO cases (id, number, created_at, doc) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                (case.id, case.number, doc["created_at"], orjson.dumps(doc).decode()))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def get_case(self, case_id: str) -> Case | None:
        try:
            row = self.c.execute("SELECT doc FROM cases WHERE id = ? OR number = ?", (case_id, case_id)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return Case.model_validate_json(row[0]) if row else None

    def case_summaries(self, case_ids: Sequence[str]) -> list[CaseSummary]:
        if not case_ids:
            return []
        try:
            rows = self.c.execute(f"SELECT doc FROM cases WHERE id IN ({', '.join('?' * len(case_ids))})",
                                  tuple(case_ids)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [CaseSummary.model_validate_json(doc) for (doc,) in rows]

    def page_cases(self, *, limit: int, cursor: str | None = None) -> Page[Case]:
        check_limit(limit)
        sql, args = "SELECT number, doc FROM cases", [limit + 1]
        if cursor is not None:  # after the cursor in the order below (a row value compares both)
            sql += " WHERE (length(number), number) < (length(?1), ?1)"
            args.insert(0, decode_cursor("case", cursor))
        try:
            # numbers are CS + zero-padded digits: text order is number order while they keep
            # their width; length first keeps it past CS9999999
            rows = self.c.execute(sql + f" ORDER BY length(number) DESC, number DESC LIMIT ?{len(args)}",
                                  args).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        items = [Case.model_validate_json(doc) for _, doc in rows[:limit]]
        return Page(items, encode_cursor("case", rows[limit - 1][0]) if len(rows) > limit else None)
