"""Cases on PostgreSQL (:class:`~omnisdk.store.protocols.CaseStore`): one JSON document a row,
validated into :class:`~omnisdk.model.Case` on the way out."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
import psycopg

from omnisdk.model import Case, CaseSummary
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.queries import check_limit, decode_cursor, encode_cursor
from omnisdk.store.rows import Page


class PostgresCases(PostgresAtomic):
    """The cases part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def save_case(self, case: Case) -> None:
        if not isinstance(case, Case):
            raise TypeError(f"save_case takes a Case, not {type(case).__name__}")
        doc = case.model_dump(mode="json")  # ``from`` of an update by its alias
        try:
            self.write("INSERT INTO cases (id, number, created_at, doc) VALUES (%s, %s, %s, %s)"
                       " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                       (case.id, case.number, doc["created_at"], orjson.dumps(doc).decode()))
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def get_case(self, case_id: str) -> Case | None:
        try:
            row = self.run("SELECT doc FROM cases WHERE id = %s OR number = %s", (case_id, case_id)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return Case.model_validate_json(row[0]) if row else None

    def case_summaries(self, case_ids: Sequence[str]) -> list[CaseSummary]:
        if not case_ids:
            return []
        try:
            rows = self.run("SELECT doc FROM cases WHERE id = ANY(%s)", (list(case_ids),)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [CaseSummary.model_validate_json(doc) for (doc,) in rows]

    def page_cases(self, *, limit: int, cursor: str | None = None) -> Page[Case]:
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
        items = [Case.model_validate_json(doc) for _, doc in rows[:limit]]
        return Page(items, encode_cursor("case", rows[limit - 1][0]) if len(rows) > limit else None)


__all__ = ["PostgresCases"]
