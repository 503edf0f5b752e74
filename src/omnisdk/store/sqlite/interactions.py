"""Interactions and their history (:class:`~omnisdk.store.protocols.InteractionStore`, without messages).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from omnisdk.errors import StateError
from omnisdk.model import Interaction
from omnisdk.store.queries import InteractionQuery, check_limit, decode_cursor, encode_cursor
from omnisdk.store.rows import (
    HistoryRow,
    LastServed,
    Page,
)
from omnisdk.store.sqlite.atomic import SQLiteAtomic
from omnisdk.store.sqlite.errors import failed as _failed

_TOP = chr(0x10FFFF)  # sorts after every character: "prefix" <= id < "prefix" + _TOP


class SQLiteInteractions(SQLiteAtomic):
    """The interactions part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

    def prefetch_active(self, conversation_keys: Sequence[str]) -> None:
        """Nothing: an index lookup in process costs less than remembering its answer."""

    def active_interaction(self, conversation_key: str) -> Interaction | None:
        try:
            row = self.c.execute(
                "SELECT doc FROM interactions WHERE conversation_key = ? AND state != 'closed'",
                (conversation_key,),
            ).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return Interaction.model_validate_json(row[0]) if row else None

    def active_interactions_of(self, source: str, channel: str, customer: str) -> list[Interaction]:
        # interactions_open_by_customer (migration 7): a lookup among one contact's open rows
        try:
            rows = self.c.execute(
                "SELECT doc FROM interactions WHERE customer = ? AND channel = ? AND state != 'closed'"
                " AND source = ? ORDER BY id DESC LIMIT 50", (customer, channel, source)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [Interaction.model_validate_json(doc) for (doc,) in rows]

    def get_interaction(self, interaction_id: str) -> Interaction | None:
        try:
            row = self.c.execute("SELECT doc FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return Interaction.model_validate_json(row[0]) if row else None

    def find_interactions(self, fragment: str, limit: int = 2) -> list[str]:
        # a prefix is a range of the primary key's index; a suffix (the random end of an id,
        # what tables show) a scan of that index alone, never of the table: ~10 ms at 100,000
        # interactions, where an index of reversed ids would cost every insert a random page
        if not fragment:
            return []
        try:
            rows = self.c.execute(
                "SELECT id FROM interactions WHERE id >= ?1 AND id < ?1 || ?2"
                " UNION SELECT id FROM interactions WHERE substr(id, -length(?1)) = ?1 LIMIT ?3",
                (fragment, _TOP, limit)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [r[0] for r in rows]

    def save_interaction(self, interaction: Interaction) -> None:
        try:
            self.c.execute(
                "INSERT INTO interactions (id, conversation_key, state, agent, channel, created_at, doc,"
                " queue, updated_ts, customer, source, wrap_up_code, case_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET"
                " state = excluded.state, agent = excluded.agent, doc = excluded.doc, queue = excluded.queue,"
                " updated_ts = excluded.updated_ts, wrap_up_code = excluded.wrap_up_code,"
                " case_id = excluded.case_id",
                (
                    interaction.id,
                    interaction.conversation_key,
                    interaction.state.value,
                    interaction.agent,
                    interaction.channel,
                    interaction.created_at.isoformat(),
                    interaction.model_dump_json(),
                    interaction.queue,
                    interaction.updated_at.timestamp(),
                    interaction.customer,
                    interaction.source,
                    interaction.wrap_up_code,
                    interaction.case_id,
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise StateError(
                f"conversation {interaction.conversation_key!r} already has an active interaction"
            ) from exc
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_interactions(self, *, active_only: bool = False, limit: int = 1000) -> list[Interaction]:
        sql = "SELECT doc FROM interactions"
        if active_only:
            sql += " WHERE state != 'closed'"
        sql += " ORDER BY created_at, id LIMIT ?"
        try:
            return [Interaction.model_validate_json(r[0]) for r in self.c.execute(sql, (limit,))]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def page_interactions(self, query: InteractionQuery, *, limit: int, cursor: str | None = None) -> Page[Interaction]:
        check_limit(limit)
        where: list[str] = []
        args: list[Any] = []
        if query.states:
            where.append(f"state IN ({','.join('?' * len(query.states))})")
            args.extend(str(s) for s in query.states)
        if query.active is True:
            where.append("state != 'closed'")
        elif query.active is False:
            where.append("state = 'closed'")
        for column in ("agent", "queue", "channel"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if query.updated_since is not None:
            where.append("updated_ts >= ?")
            args.append(query.updated_since)
        if query.within_queues is not None:
            reach = [f"queue IN ({','.join('?' * len(query.within_queues))})"] if query.within_queues else []
            if query.or_agents:
                reach.append(f"agent IN ({','.join('?' * len(query.or_agents))})")
            where.append("(" + " OR ".join(reach) + ")" if reach else "0")
            args.extend(query.within_queues)
            args.extend(query.or_agents)
        if cursor is not None:
            where.append("id < ?")
            args.append(decode_cursor("interaction", cursor))
        sql = "SELECT id, doc FROM interactions" + (" WHERE " + " AND ".join(where) if where else "")
        try:
            rows = self.c.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit + 1)).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        items = [Interaction.model_validate_json(doc) for _, doc in rows[:limit]]
        more = len(rows) > limit
        return Page(items, encode_cursor("interaction", rows[limit - 1][0]) if more else None)

    def list_interactions_in(self, states: Sequence[str]) -> list[Interaction]:
        marks = ",".join("?" * len(states))
        try:
            return [Interaction.model_validate_json(r[0]) for r in self.c.execute(
                f"SELECT doc FROM interactions WHERE state IN ({marks}) ORDER BY created_at, id", tuple(states))]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def count_interactions_in(self, states: Sequence[str]) -> dict[str, int]:
        # interactions_by_state (state, id): one index range per state, never the closed rows
        marks = ",".join("?" * len(states))
        try:
            return dict(self.c.execute(
                f"SELECT state, COUNT(*) FROM interactions WHERE state IN ({marks}) GROUP BY state",
                tuple(states)).fetchall())
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def agent_loads(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        try:
            for agent, channel, n in self.c.execute(
                "SELECT agent, channel, COUNT(*) FROM interactions"
                " WHERE agent IS NOT NULL AND state NOT IN ('closed', 'queued', 'new')"
                " GROUP BY agent, channel"
            ):
                out.setdefault(agent, {})[channel] = n
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return out

    def last_served(self, since: str) -> list[LastServed]:
        """Interactions closed since ``since`` (RFC 3339, the format pydantic writes) that had an
        agent, oldest first."""
        try:
            return [LastServed(*r) for r in self.c.execute(
                "SELECT conversation_key, json_extract(doc, '$.last_agent'), json_extract(doc, '$.closed_at')"
                " FROM interactions WHERE state = 'closed' AND json_extract(doc, '$.closed_at') >= ?"
                " AND json_extract(doc, '$.last_agent') IS NOT NULL ORDER BY json_extract(doc, '$.closed_at')",
                (since,),
            )]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def log_transition(self, interaction_id: str, at: str, from_state: str | None, to_state: str,
                       agent: str | None, queue: str | None, note: str | None = None) -> None:
        try:
            self.c.execute(
                "INSERT INTO interaction_log (interaction_id, at, from_state, to_state, agent, queue, note)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (interaction_id, at, from_state, to_state, agent, queue, note),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def log_transitions(self, rows: Sequence[HistoryRow]) -> None:
        for row in rows:
            if type(row) is not HistoryRow:
                raise TypeError(f"log_transitions takes HistoryRow rows, not {type(row).__name__}")
        # one multi-row INSERT: cheaper than executemany for the 1–4 rows an operation writes
        try:
            self.c.execute(
                "INSERT INTO interaction_log (interaction_id, at, from_state, to_state, agent, queue, note) VALUES "
                + ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
                [v for row in rows for v in row],
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def interaction_history(self, interaction_id: str) -> list[HistoryRow]:
        try:
            return [HistoryRow(*r) for r in self.c.execute(
                "SELECT interaction_id, at, from_state, to_state, agent, queue, note FROM interaction_log"
                " WHERE interaction_id = ? ORDER BY seq", (interaction_id,))]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
