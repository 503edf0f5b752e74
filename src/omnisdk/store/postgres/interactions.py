"""Interactions and their history on PostgreSQL (:class:`~omnisdk.store.protocols.InteractionStore`,
without messages).  One active interaction per conversation key is the partial unique index
``interactions_one_active`` (migration 1); a save that would break it raises StateError (at
once, or inside a savepoint block when the deferred save is sent: :mod:`.atomic`).

**The active interactions a transaction knows.**  :meth:`PostgresInteractions.prefetch_active`
reads the active interactions of many conversation keys in one statement (the processor asks for
its batch's); the transaction remembers them, and every interaction it saves, as the document
it wrote, so :meth:`~PostgresInteractions.active_interaction` answers a known key without a
round trip.  Only :meth:`~PostgresInteractions.save_interaction` writes interactions, so what a
transaction remembers stays what the table holds for it: one core writes a schema (see
docs/scale-out.md), and its transaction's own saves are what changes it.  A savepoint rolled back
forgets all of it (:meth:`~PostgresInteractions.forget_cached`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from omnisdk.errors import StateError
from omnisdk.model import Interaction
from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed
from omnisdk.store.queries import InteractionQuery, check_limit, decode_cursor, encode_cursor
from omnisdk.store.rows import HistoryRow, LastServed, Page

_TOP = chr(0x10FFFF)  # sorts after every character (ids are COLLATE "C"): prefix <= id < prefix + _TOP
_LOG_COLUMNS = "interaction_id, at, from_state, to_state, agent, queue, note"


class PostgresInteractions(PostgresAtomic):
    """The interactions part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    _known: dict[str, tuple[str, str] | None] | None = None
    """Conversation key -> (id, document) of its active interaction, or None for none, as this
    transaction last read or wrote it (created on first use)."""

    def forget_cached(self) -> None:
        super().forget_cached()
        self._known = None

    def _remember(self) -> dict[str, tuple[str, str] | None]:
        if self._known is None:
            self._known = {}
        return self._known

    def prefetch_active(self, conversation_keys: Sequence[str]) -> None:
        known = self._remember()
        missing = list({key for key in conversation_keys if key not in known})
        if not missing:
            return
        try:
            rows = self.run("SELECT conversation_key, id, doc FROM interactions"
                            " WHERE conversation_key = ANY(%s) AND state <> 'closed'", (missing,)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        known.update(dict.fromkeys(missing))
        for key, iid, doc in rows:
            known[key] = (iid, doc)

    def active_interaction(self, conversation_key: str) -> Interaction | None:
        known = self._remember()
        if conversation_key in known:
            hit = known[conversation_key]
            return Interaction.model_validate_json(hit[1]) if hit is not None else None
        try:
            row = self.run("SELECT id, doc FROM interactions WHERE conversation_key = %s AND state <> 'closed'",
                           (conversation_key,)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        known[conversation_key] = (row[0], row[1]) if row else None
        return Interaction.model_validate_json(row[1]) if row else None

    def active_interactions_of(self, source: str, channel: str, customer: str) -> list[Interaction]:
        try:
            rows = self.run(
                "SELECT doc FROM interactions WHERE customer = %s AND channel = %s AND state <> 'closed'"
                " AND source = %s ORDER BY id DESC LIMIT 50", (customer, channel, source)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [Interaction.model_validate_json(doc) for (doc,) in rows]

    def get_interaction(self, interaction_id: str) -> Interaction | None:
        try:
            row = self.run("SELECT doc FROM interactions WHERE id = %s", (interaction_id,)).fetchone()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return Interaction.model_validate_json(row[0]) if row else None

    def find_interactions(self, fragment: str, limit: int = 2) -> list[str]:
        # a prefix is a range of the primary key; a suffix a scan of that index
        if not fragment:
            return []
        try:
            rows = self.run(
                "(SELECT id FROM interactions WHERE id >= %(f)s AND id < %(top)s)"
                " UNION (SELECT id FROM interactions WHERE right(id, length(%(f)s)) = %(f)s) LIMIT %(n)s",
                {"f": fragment, "top": fragment + _TOP, "n": limit}).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [r[0] for r in rows]

    def save_interaction(self, interaction: Interaction) -> None:
        key = interaction.conversation_key
        doc = interaction.model_dump_json()

        def one_active(exc: psycopg.Error) -> StateError | None:
            if not (isinstance(exc, pg_errors.UniqueViolation) and exc.diag.constraint_name == "interactions_one_active"):
                return None
            return StateError(f"conversation {key!r} already has an active interaction")

        self.defer(
            "INSERT INTO interactions (id, conversation_key, state, agent, channel, created_at, doc,"
            " queue, updated_ts, customer, source, wrap_up_code, case_id)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET"
            " state = excluded.state, agent = excluded.agent, doc = excluded.doc, queue = excluded.queue,"
            " updated_ts = excluded.updated_ts, wrap_up_code = excluded.wrap_up_code, case_id = excluded.case_id",
            (interaction.id, key, interaction.state.value, interaction.agent, interaction.channel,
             interaction.created_at.isoformat(), doc, interaction.queue, interaction.updated_at.timestamp(),
             interaction.customer, interaction.source, interaction.wrap_up_code, interaction.case_id), one_active)
        known = self._known
        if known is None:
            return
        if interaction.state.value != "closed":
            known[key] = (interaction.id, doc)  # if another one is active, the save fails (and is forgotten)
        elif key in known and (known[key] is None or known[key][0] == interaction.id):  # type: ignore[index]
            known[key] = None
        else:  # closed, and the key's active interaction (if any) is another one, unknown here
            known.pop(key, None)

    def list_interactions(self, *, active_only: bool = False, limit: int = 1000) -> list[Interaction]:
        sql = "SELECT doc FROM interactions"
        if active_only:
            sql += " WHERE state <> 'closed'"
        try:
            rows = self.run(sql + " ORDER BY created_at, id LIMIT %s", (limit,)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [Interaction.model_validate_json(doc) for (doc,) in rows]

    def page_interactions(self, query: InteractionQuery, *, limit: int, cursor: str | None = None) -> Page[Interaction]:
        check_limit(limit)
        where: list[str] = []
        args: list[Any] = []
        if query.states:
            where.append("state = ANY(%s)")
            args.append([str(s) for s in query.states])
        if query.active is True:
            where.append("state <> 'closed'")
        elif query.active is False:
            where.append("state = 'closed'")
        for column in ("agent", "queue", "channel"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = %s")
                args.append(value)
        if query.updated_since is not None:
            where.append("updated_ts >= %s")
            args.append(query.updated_since)
        if query.within_queues is not None:
            reach = []
            if query.within_queues:
                reach.append("queue = ANY(%s)")
                args.append(list(query.within_queues))
            if query.or_agents:
                reach.append("agent = ANY(%s)")
                args.append(list(query.or_agents))
            where.append("(" + " OR ".join(reach) + ")" if reach else "false")
        if cursor is not None:
            where.append("id < %s")
            args.append(decode_cursor("interaction", cursor))
        sql = "SELECT id, doc FROM interactions" + (" WHERE " + " AND ".join(where) if where else "")
        try:
            rows = self.run(sql + " ORDER BY id DESC LIMIT %s", (*args, limit + 1)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        items = [Interaction.model_validate_json(doc) for _, doc in rows[:limit]]
        return Page(items, encode_cursor("interaction", rows[limit - 1][0]) if len(rows) > limit else None)

    def list_interactions_in(self, states: Sequence[str]) -> list[Interaction]:
        try:
            rows = self.run("SELECT doc FROM interactions WHERE state = ANY(%s) ORDER BY created_at, id",
                            (list(states),)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [Interaction.model_validate_json(doc) for (doc,) in rows]

    def count_interactions_in(self, states: Sequence[str]) -> dict[str, int]:
        try:
            return dict(self.run("SELECT state, COUNT(*) FROM interactions WHERE state = ANY(%s) GROUP BY state",
                                 (list(states),)).fetchall())
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def agent_loads(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        try:
            rows = self.run(
                "SELECT agent, channel, COUNT(*) FROM interactions"
                " WHERE agent IS NOT NULL AND state NOT IN ('closed', 'queued', 'new')"
                " GROUP BY agent, channel").fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        for agent, channel, n in rows:
            out.setdefault(agent, {})[channel] = n
        return out

    def last_served(self, since: str) -> list[LastServed]:
        """Interactions closed since ``since`` (RFC 3339, the format pydantic writes) that had an
        agent, oldest first (the document's ``closed_at`` compared as text, as SQLite does)."""
        try:
            rows = self.run(
                "SELECT conversation_key, doc::json->>'last_agent', doc::json->>'closed_at' FROM interactions"
                " WHERE state = 'closed' AND doc::json->>'closed_at' >= %s AND doc::json->>'last_agent' IS NOT NULL"
                " ORDER BY 3", (since,)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [LastServed(*r) for r in rows]

    def log_transition(self, interaction_id: str, at: str, from_state: str | None, to_state: str,
                       agent: str | None, queue: str | None, note: str | None = None) -> None:
        self.defer(f"INSERT INTO interaction_log ({_LOG_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   (interaction_id, at, from_state, to_state, agent, queue, note), table="interaction_log")

    def log_transitions(self, rows: Sequence[HistoryRow]) -> None:
        for row in rows:
            if type(row) is not HistoryRow:
                raise TypeError(f"log_transitions takes HistoryRow rows, not {type(row).__name__}")
        if not rows:
            return
        # one statement whatever the count: seven arrays, unnested in order (seq follows it)
        columns = [list(column) for column in zip(*rows, strict=True)]
        self.defer(f"INSERT INTO interaction_log ({_LOG_COLUMNS})"
                   " SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
                   " %s::text[], %s::text[])", columns, table="interaction_log")

    def interaction_history(self, interaction_id: str) -> list[HistoryRow]:
        try:
            rows = self.run(f"SELECT {_LOG_COLUMNS} FROM interaction_log WHERE interaction_id = %s ORDER BY seq",
                            (interaction_id,)).fetchall()
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        return [HistoryRow(*r) for r in rows]


__all__ = ["PostgresInteractions"]
