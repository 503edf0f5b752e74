"""The embedded store: SQLite in WAL mode with group commit on one writer thread.

Every write goes to one writer thread through a queue.  The thread takes everything queued,
runs each job inside its own SAVEPOINT (a failing job rolls back alone) and commits once for
the whole batch, then resolves the callers' futures.  Under load, one commit (one fsync with
``synchronous=FULL``) covers many webhooks: durability without a commit per request.

``sqlite3`` errors never leave this module: each transaction method turns them into
:class:`~omnisdk.store.errors.StoreError` (chained) in an ``except`` clause, which costs nothing
until an error happens; the schema is versioned (:mod:`omnisdk.store.sqlite_migrations`).
Importing the module registers the ``sqlite`` URL scheme.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from omnisdk.errors import ConfigError, StateError
from omnisdk.events import Event, dumps, loads
from omnisdk.ids import new_id
from omnisdk.model import Interaction
from omnisdk.model.messages import DeliveryStatus
from omnisdk.routing.model import Agent, Queue
from omnisdk.store.base import Store
from omnisdk.store.errors import IdempotencyConflict, StoreError
from omnisdk.store.queries import InteractionQuery, check_limit, decode_cursor, encode_cursor
from omnisdk.store.registry import register_store
from omnisdk.store.rows import (
    EmailLink,
    HistoryRow,
    InboxItem,
    InboxResult,
    LastServed,
    MessageRow,
    OutboxRow,
    Page,
    TimerRow,
)
from omnisdk.store.sqlite_migrations import migrate
from omnisdk.store.sqlite_schema import INBOX_SCHEMA

log = logging.getLogger("omnisdk.store")
T = TypeVar("T")
_STOP = object()
MAX_BATCH = 512
_TOP = chr(0x10FFFF)  # sorts after every character: "prefix" <= id < "prefix" + _TOP


def _failed(exc: sqlite3.Error) -> StoreError:
    """The store's error for a driver error (chain it: ``raise _failed(exc) from exc``)."""
    return StoreError(f"SQLite store failed: {type(exc).__name__}: {exc}")


def _fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def outbox_scope(interaction_id: str | None, caller: str | None) -> str:
    """The scope an idempotency key is unique in: the interaction, and the caller if any."""
    scope = interaction_id or ""
    return f"{scope}|{caller}" if caller else scope


class SQLiteTransaction:
    """:class:`omnisdk.store.Transaction` over one sqlite3 connection (writer thread only)."""

    def __init__(self, conn: sqlite3.Connection, *, split: bool = False) -> None:
        self.c = conn
        self.split = split
        """True when the inbox is a separate, attached file (``inbox_db``)."""
        self.inbox = "inbox_db.inbox" if split else "main.inbox"
        """The inbox table, always named with its file: a stray ``inbox`` table in the other
        file can never be read by mistake."""
        self.cursor_name = "processor:inbox_db" if split else "processor"
        """Each inbox location has its own cursor (seqs restart in a new inbox file)."""
        self.pending_counts: dict[str, int] = {}
        """Counter increments of the current batch, written once before its commit."""
        self._counted = 0

    def writes(self) -> int:
        return self.c.total_changes + self._counted

    @contextlib.contextmanager
    def savepoint(self, name: str = "item") -> Iterator[None]:
        if not name.isidentifier():
            raise ValueError(f"savepoint name must be an identifier: {name!r}")
        counts = dict(self.pending_counts)
        try:
            self.c.execute(f"SAVEPOINT {name}")
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        try:
            yield
        except BaseException:
            try:
                self.c.execute(f"ROLLBACK TO {name}")
                self.c.execute(f"RELEASE {name}")
            except sqlite3.Error as exc:
                raise _failed(exc) from exc
            self.pending_counts = counts
            raise
        try:
            self.c.execute(f"RELEASE {name}")
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    # inbox: an append-only log; the processor's position in it is the cursor
    def inbox_cursor(self) -> int:
        """The seq of the last inbox row the processor has taken (0 before the first)."""
        try:
            row = self.c.execute("SELECT seq FROM inbox_cursor WHERE name = ?", (self.cursor_name,)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else 0

    def claim_inbox(self, limit: int) -> list[InboxItem]:
        try:
            rows = self.c.execute(
                f"SELECT seq, body FROM {self.inbox} WHERE seq > ? ORDER BY seq LIMIT ?", (self.inbox_cursor(), limit)
            ).fetchall()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [InboxItem(seq, loads(body)) for seq, body in rows]

    def mark_processed(self, seq: int, error: str | None = None) -> None:
        try:
            if error is not None:
                self.c.execute(
                    "INSERT OR REPLACE INTO inbox_failures (seq, source, id, error)"
                    f" SELECT seq, source, id, ? FROM {self.inbox} WHERE seq = ?", (error, seq))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        self.mark_processed_through(seq)

    def mark_processed_through(self, seq: int) -> None:
        """Move the cursor past ``seq`` (it never moves back)."""
        try:
            self.c.execute(
                "INSERT INTO inbox_cursor (name, seq) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)", (self.cursor_name, seq))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def inbox_failure(self, source: str, event_id: str) -> str | None:
        """Why an inbox event could not be applied, or None."""
        try:
            row = self.c.execute(
                "SELECT error FROM inbox_failures WHERE source = ? AND id = ?", (source, event_id)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None

    def inbox_backlog(self) -> int:
        """Inbox rows the processor has not taken yet."""
        try:
            return self.c.execute(
                f"SELECT COUNT(*) FROM {self.inbox} WHERE seq > ?", (self.inbox_cursor(),)).fetchone()[0]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    # interactions
    def active_interaction(self, conversation_key: str) -> Interaction | None:
        try:
            row = self.c.execute(
                "SELECT doc FROM interactions WHERE conversation_key = ? AND state != 'closed'",
                (conversation_key,),
            ).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return Interaction.model_validate_json(row[0]) if row else None

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
                " queue, updated_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " state = excluded.state, agent = excluded.agent, doc = excluded.doc, queue = excluded.queue,"
                " updated_ts = excluded.updated_ts",
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

    # contacts
    def upsert_contact(self, channel: str, address: str, display_name: str | None, now: str) -> str:
        # a new address costs two writes and no read; a known one a read (and a write when the
        # profile name changed)
        contact_id = new_id()
        try:
            if self.c.execute(
                "INSERT OR IGNORE INTO addresses (channel, value, contact_id) VALUES (?, ?, ?)",
                (channel, address, contact_id),
            ).rowcount:
                self.c.execute(
                    "INSERT INTO contacts (id, display_name, created_at) VALUES (?, ?, ?)",
                    (contact_id, display_name, now),
                )
                return contact_id
            (contact_id,) = self.c.execute(
                "SELECT contact_id FROM addresses WHERE channel = ? AND value = ?", (channel, address)
            ).fetchone()
            if display_name:
                self.c.execute(
                    "UPDATE contacts SET display_name = ? WHERE id = ? AND display_name IS NOT ?",
                    (display_name, contact_id, display_name),
                )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return contact_id

    # messages
    def insert_message(
        self,
        *,
        source: str,
        message_id: str,
        interaction_id: str | None,
        direction: str,
        kind: str,
        body: dict[str, Any],
        at: str,
    ) -> bool:
        try:
            cur = self.c.execute(
                "INSERT INTO messages (source, message_id, interaction_id, direction, kind, body, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, message_id) DO UPDATE SET"
                " interaction_id = COALESCE(messages.interaction_id, excluded.interaction_id),"
                " kind = COALESCE(messages.kind, excluded.kind),"
                " body = COALESCE(messages.body, excluded.body)"
                " WHERE messages.body IS NULL",
                (source, message_id, interaction_id, direction, kind, orjson.dumps(body).decode(), at),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return cur.rowcount == 1

    def apply_status(
        self,
        *,
        source: str,
        message_id: str,
        status: str,
        provider_status: str,
        at: str,
        error: dict[str, Any] | None,
    ) -> str:
        new = DeliveryStatus(status)
        try:
            row = self.c.execute(
                "SELECT status, direction FROM messages WHERE source = ? AND message_id = ?", (source, message_id)
            ).fetchone()
            if row is None:  # the status came before the send was recorded: a placeholder row
                self.c.execute(
                    "INSERT OR IGNORE INTO messages (source, message_id, direction, created_at)"
                    " VALUES (?, ?, 'outbound', ?)",
                    (source, message_id, at),
                )
            elif row[1] == "inbound":  # a delivery status is about a message we sent, never one we got
                return "inbound"
            elif row[0] is not None and not new.advances(DeliveryStatus(row[0])):
                return "backwards"
            self.c.execute(
                "UPDATE messages SET status = ?, provider_status = ?, status_at = ?, error = ?"
                " WHERE source = ? AND message_id = ?",
                (
                    new.value,
                    provider_status,
                    at,
                    orjson.dumps(error).decode() if error else None,
                    source,
                    message_id,
                ),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return "applied"

    def message_status(self, source: str, message_id: str) -> str | None:
        try:
            row = self.c.execute(
                "SELECT status FROM messages WHERE source = ? AND message_id = ?", (source, message_id)
            ).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return row[0] if row else None

    # outbox
    def enqueue_outbox(
        self,
        *,
        idempotency_key: str,
        plugin: str,
        account: str,
        interaction_id: str | None,
        payload: dict[str, Any],
        now: float,
        caller: str | None = None,
    ) -> bool:
        scope = outbox_scope(interaction_id, caller)
        fingerprint = _fingerprint(payload)
        # the provider gets the key itself, unless another scope gave it the same key first
        derived = f"{idempotency_key}~{hashlib.sha256(scope.encode()).hexdigest()[:16]}"
        try:
            cur = self.c.execute(
                "INSERT OR IGNORE INTO outbox (idempotency_key, scope, send_key, fingerprint, plugin, account,"
                " interaction_id, payload, next_attempt_at) VALUES (?1, ?2,"
                " CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE send_key = ?1) THEN ?3 ELSE ?1 END,"
                " ?4, ?5, ?6, ?7, ?8, ?9)",
                (idempotency_key, scope, derived, fingerprint, plugin, account, interaction_id,
                 orjson.dumps(payload).decode(), now),
            )
            if cur.rowcount == 1:
                return True
            row = self.c.execute("SELECT fingerprint FROM outbox WHERE scope = ? AND idempotency_key = ?",
                                 (scope, idempotency_key)).fetchone()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        if row is not None and row[0] is not None and row[0] != fingerprint:
            raise IdempotencyConflict("this idempotency key was already used for a different request"
                                      " on this interaction")
        return False

    def claim_outbox(self, now: float, limit: int) -> list[OutboxRow]:
        try:
            rows = self.c.execute(
                "SELECT id, send_key, plugin, account, interaction_id, payload, attempts"
                " FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
            out = []
            for rid, key, plugin, account, iid, payload, attempts in rows:
                self.c.execute(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?", (rid,)
                )
                out.append(OutboxRow(rid, key, plugin, account, iid, orjson.loads(payload), attempts + 1))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return out

    def finish_outbox(
        self,
        row_id: int,
        *,
        state: str,
        provider_message_id: str | None = None,
        error: str | None = None,
        next_attempt_at: float | None = None,
    ) -> None:
        try:
            self.c.execute(
                "UPDATE outbox SET state = ?, provider_message_id = COALESCE(?, provider_message_id),"
                " error = ?, next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
                (state, provider_message_id, error, next_attempt_at, row_id),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def requeue_stale_sending(self) -> int:
        """Rows left ``sending`` by a crash go back to ``pending`` (same idempotency key)."""
        try:
            return self.c.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'").rowcount
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    # history
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

    def log_transitions(self, rows: Sequence[HistoryRow | tuple[Any, ...]]) -> None:
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

    def messages_of(self, interaction_id: str) -> list[MessageRow]:
        try:
            cur = self.c.execute(
                "SELECT message_id, direction, kind, body, created_at, status FROM messages"
                # by time, not by text: providers' times ("…:05Z") and ours ("…:05.123456Z") differ
                # in form, and "." sorts before "Z"
                " WHERE interaction_id = ? ORDER BY julianday(created_at), rowid", (interaction_id,))
            return [MessageRow(mid, direction, kind, orjson.loads(body) if body else None, at, status)
                    for mid, direction, kind, body, at, status in cur]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    # timers
    def schedule_timer(self, key: str, kind: str, due_at: float, interaction_id: str | None,
                       data: dict[str, Any]) -> None:
        try:
            self.c.execute(
                "INSERT INTO timers (key, kind, due_at, interaction_id, data, state) VALUES (?, ?, ?, ?, ?, 'pending')"
                " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,"
                " interaction_id = excluded.interaction_id, data = excluded.data, state = 'pending'",
                (key, kind, due_at, interaction_id, orjson.dumps(data).decode()),
            )
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def cancel_timers(self, interaction_id: str, kinds: Sequence[str] | None = None) -> int:
        try:
            if kinds is None:
                return self.c.execute(
                    "UPDATE timers SET state = 'cancelled' WHERE interaction_id = ? AND state = 'pending'",
                    (interaction_id,)).rowcount
            marks = ",".join("?" * len(kinds))
            return self.c.execute(
                f"UPDATE timers SET state = 'cancelled' WHERE interaction_id = ? AND state = 'pending'"
                f" AND kind IN ({marks})", (interaction_id, *kinds)).rowcount
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def claim_due_timers(self, now: float, limit: int) -> list[TimerRow]:
        try:
            rows = self.c.execute(
                "SELECT key, kind, due_at, interaction_id, data FROM timers"
                " WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, key LIMIT ?", (now, limit)).fetchall()
            for row in rows:
                self.c.execute("UPDATE timers SET state = 'fired' WHERE key = ?", (row[0],))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [TimerRow(k, kind, due, iid, orjson.loads(data)) for k, kind, due, iid, data in rows]

    def pending_timers(self, interaction_id: str | None = None) -> list[TimerRow]:
        sql = "SELECT key, kind, due_at, interaction_id, data FROM timers WHERE state = 'pending'"
        args: tuple[Any, ...] = ()
        if interaction_id is not None:
            sql += " AND interaction_id = ?"
            args = (interaction_id,)
        try:
            return [TimerRow(k, kind, due, iid, orjson.loads(data))
                    for k, kind, due, iid, data in self.c.execute(sql + " ORDER BY due_at", args)]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    # agents and queues
    def save_agent(self, agent: Agent | dict[str, Any]) -> None:
        doc = agent.model_dump(mode="json") if isinstance(agent, Agent) else agent
        try:
            self.c.execute("INSERT INTO agents (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                           (doc["id"], orjson.dumps(doc).decode()))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_agents(self) -> list[Agent]:
        try:
            return [Agent.model_validate_json(d) for (d,) in self.c.execute("SELECT doc FROM agents ORDER BY id")]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def save_queue(self, queue: Queue | dict[str, Any]) -> None:
        doc = queue.model_dump(mode="json") if isinstance(queue, Queue) else queue
        try:
            self.c.execute("INSERT INTO queues (name, doc) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
                           (doc["name"], orjson.dumps(doc).decode()))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def list_queues(self) -> list[Queue]:
        try:
            return [Queue.model_validate_json(d) for (d,) in self.c.execute("SELECT doc FROM queues ORDER BY rowid")]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    # counters and sequences
    def next_number(self, name: str) -> int:
        try:
            return self.c.execute(
                "INSERT INTO counters (name, value) VALUES (?, 1)"
                " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                (f"seq.{name}",),
            ).fetchone()[0]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    # cases
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

    def list_interactions_in(self, states: Sequence[str]) -> list[Interaction]:
        marks = ",".join("?" * len(states))
        try:
            return [Interaction.model_validate_json(r[0]) for r in self.c.execute(
                f"SELECT doc FROM interactions WHERE state IN ({marks}) ORDER BY created_at, id", tuple(states))]
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

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

    # email threading
    def index_message_ids(self, interaction_id: str, conversation_key: str, message_ids: Sequence[str],
                          direction: str) -> int:
        ids = [m.strip().strip("<>").strip() for m in message_ids]
        rows = [(m, interaction_id, conversation_key, direction) for m in dict.fromkeys(ids) if m]
        if not rows:
            return 0
        try:
            before = self.c.total_changes
            self.c.executemany(
                "INSERT OR IGNORE INTO email_message_ids (message_id, interaction_id, conversation_key, direction)"
                " VALUES (?, ?, ?, ?)", rows)
            return self.c.total_changes - before
        except sqlite3.Error as exc:
            raise _failed(exc) from exc

    def interactions_for_message_ids(self, message_ids: Sequence[str]) -> list[EmailLink]:
        ids = list(dict.fromkeys(m.strip().strip("<>").strip() for m in message_ids))
        ids = [m for m in ids if m]
        found: dict[str, EmailLink] = {}
        try:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                for mid, iid, key, direction in self.c.execute(
                    "SELECT message_id, interaction_id, conversation_key, direction FROM email_message_ids"
                    f" WHERE message_id IN ({','.join('?' * len(chunk))})", chunk):
                    found[mid] = EmailLink(mid, iid, key, direction)
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        return [found[m] for m in ids if m in found]

    # stats
    def count(self, name: str, n: int = 1) -> None:
        self._counted += 1
        self.pending_counts[name] = self.pending_counts.get(name, 0) + n

    def flush_counts(self) -> None:
        """Write the batch's counter increments (one statement per counter name)."""
        if self.pending_counts:
            try:
                self.c.executemany(
                    "INSERT INTO counters (name, value) VALUES (?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                    list(self.pending_counts.items()),
                )
            except sqlite3.Error as exc:
                raise _failed(exc) from exc
            self.pending_counts.clear()

    def counters(self) -> dict[str, int]:
        self.flush_counts()
        try:
            if self.split:  # the gateway's counters live in the inbox file
                return dict(self.c.execute(
                    "SELECT name, SUM(value) FROM (SELECT name, value FROM main.counters"
                    " UNION ALL SELECT name, value FROM inbox_db.counters) GROUP BY name").fetchall())
            return dict(self.c.execute("SELECT name, value FROM counters").fetchall())
        except sqlite3.Error as exc:
            raise _failed(exc) from exc


class _Job:
    __slots__ = ("fn", "future", "is_inbox")

    def __init__(self, fn: Callable[[SQLiteTransaction], Any], future: asyncio.Future | None, is_inbox: bool = False):
        self.fn = fn
        self.future = future
        self.is_inbox = is_inbox


class SQLiteStore(Store):
    """SQLite (WAL) store.

    Args:
        path: database file (created with its folder if missing).
        synchronous: ``"FULL"`` (default; a 2xx survives power loss) or ``"NORMAL"`` (survives a
            process crash, may lose the last commits on power loss; faster).
        cache_kib: SQLite page cache per connection, KiB (default 64 MiB: the working set of
            active interactions stays in memory).
        mmap_bytes: memory-mapped I/O size, bytes (default 256 MiB; 0 turns it off).
        inbox_path: keep the inbox in this separate file, attached as ``inbox_db`` (``serve
            --split``: the webhook ingress process writes only that file, so it never waits for
            the core's write lock).
        inbox_only: this store is an ingress's: ``path`` is the inbox file and only the inbox and
            its counters exist.
    """

    def __init__(self, path: str | Path, *, synchronous: str = "FULL", cache_kib: int = 65536,
                 mmap_bytes: int = 256 << 20, inbox_path: str | Path | None = None,
                 inbox_only: bool = False) -> None:
        self.path = Path(path)
        self.inbox_path = Path(inbox_path) if inbox_path else None
        self.inbox_only = inbox_only
        self.cache_kib = cache_kib
        self.mmap_bytes = mmap_bytes
        self.location = str(self.path.resolve())
        self.synchronous = synchronous.upper()
        if self.synchronous not in {"FULL", "NORMAL"}:
            raise ValueError("synchronous must be FULL or NORMAL")
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending_counts: dict[str, int] = {}
        self.on_inbox = None

    @property
    def split(self) -> bool:
        return self.inbox_path is not None and not self.inbox_only

    def create_schema(self, conn: sqlite3.Connection) -> None:
        """Create the inbox tables if missing and bring the main file's schema to this
        release's version (:func:`~omnisdk.store.sqlite_migrations.migrate`; a no-op when it
        is current).  An ingress's inbox-only store has no main schema.

        Raises:
            StoreError: the file cannot be read or written, is not an SQLite database, or is
                newer than this release.
        """
        try:
            conn.executescript(INBOX_SCHEMA.format(db="inbox_db." if self.split else ""))
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        if self.inbox_only:
            return
        applied = migrate(conn)
        if applied:
            log.info("store schema migrated to version %d (applied %s)", applied[-1], applied)

    def transaction(self, conn: sqlite3.Connection) -> SQLiteTransaction:
        """A transaction object over ``conn`` (the CLI reads through one)."""
        return SQLiteTransaction(conn, split=self.split)

    def connect(self) -> sqlite3.Connection:
        """A new connection with the store's pragmas (the CLI uses one to read)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        # savepoint journals (one per routed item) in memory, not in a temporary file: a
        # savepoint in a temp file costs ~25 µs per item
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA wal_autocheckpoint=8192")  # pages: checkpoint less often under load
        conn.execute(f"PRAGMA cache_size=-{self.cache_kib}")  # negative: KiB, not pages
        conn.execute(f"PRAGMA mmap_size={self.mmap_bytes}")
        if self.inbox_path is not None and not self.inbox_only:
            self.inbox_path.parent.mkdir(parents=True, exist_ok=True)
            conn.execute("ATTACH DATABASE ? AS inbox_db", (str(self.inbox_path),))
            conn.execute("PRAGMA inbox_db.journal_mode=WAL")
            conn.execute(f"PRAGMA inbox_db.synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    async def open(self) -> None:
        """Connect, migrate the schema, requeue sends a crash left ``sending``, start the writer.

        Raises:
            StoreError: the file cannot be opened or migrated (an unwritable folder, a directory,
                a file that is not SQLite, a newer schema).
        """
        self._loop = asyncio.get_running_loop()
        try:
            conn = self.connect()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {type(exc).__name__}: {exc}") from exc
        try:
            self.create_schema(conn)
            if not self.inbox_only:
                stale = self.transaction(conn).requeue_stale_sending()
                if stale:
                    log.warning("%d outbox rows were left 'sending' by a crash; they will be retried", stale)
        except BaseException:
            conn.close()
            raise
        if self.inbox_only:
            self._thread = threading.Thread(target=self._run, args=(conn,), name="omnisdk-sqlite", daemon=True)
            self._thread.start()
            return
        self._thread = threading.Thread(target=self._run, args=(conn,), name="omnisdk-sqlite", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        if self._thread is None:
            return
        self._q.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    async def append_inbox(self, events: Sequence[Event], received_at: str) -> InboxResult:
        rows = [
            (e.source, e.id, e.type, e.partitionkey, received_at, dumps(e)) for e in events
        ]

        def job(tx: SQLiteTransaction) -> InboxResult:
            new = 0
            for row in rows:
                new += tx.c.execute(
                    f"INSERT OR IGNORE INTO {tx.inbox} (source, id, type, partitionkey, received_at, body)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    row,
                ).rowcount
            dup = len(rows) - new
            if new:
                tx.count("events.accepted", new)
            if dup:
                tx.count("events.deduplicated", dup)
            return InboxResult(new, dup)

        return await self._submit(job, is_inbox=True)

    async def transact(self, fn: Callable[[SQLiteTransaction], T]) -> T:
        return await self._submit(fn)

    def count_later(self, name: str, n: int = 1) -> None:
        self._q.put(_Job(lambda tx: tx.count(name, n), None))

    def _submit(self, fn: Callable[[SQLiteTransaction], T], is_inbox: bool = False) -> asyncio.Future[T]:
        if self._thread is None or self._loop is None:
            raise RuntimeError("store is not open")
        fut: asyncio.Future[T] = self._loop.create_future()
        self._q.put(_Job(fn, fut, is_inbox))
        return fut

    # --- writer thread ---------------------------------------------------------------

    def _run(self, conn: sqlite3.Connection) -> None:
        tx = self.transaction(conn)
        stop = False
        while not stop:
            first = self._q.get()
            if first is _STOP:
                break
            jobs = [first]
            while len(jobs) < MAX_BATCH:
                try:
                    nxt = self._q.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                jobs.append(nxt)
            self._run_batch(conn, tx, jobs)
        conn.close()

    def _run_batch(self, conn: sqlite3.Connection, tx: SQLiteTransaction, jobs: list[_Job]) -> None:
        results: list[tuple[_Job, bool, Any]] = []
        # with an attached inbox, BEGIN IMMEDIATE would lock both files: stay deferred so the
        # core locks only what it writes (the ingress process writes the inbox file)
        conn.execute("BEGIN" if self.split else "BEGIN IMMEDIATE")
        try:
            for job in jobs:
                if job.is_inbox or job.future is None:  # independent inserts, counters: no savepoint
                    try:
                        results.append((job, True, job.fn(tx)))
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller's future
                        results.append((job, False, _translated(exc)))
                    continue
                counts = dict(tx.pending_counts)
                conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(tx)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's future
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    tx.pending_counts = counts
                    results.append((job, False, _translated(exc)))
                else:
                    conn.execute("RELEASE job")
                    results.append((job, True, value))
            tx.flush_counts()
            conn.execute("COMMIT")
        except BaseException as exc:  # commit failed: nothing of the batch is durable
            log.exception("store commit failed")
            tx.pending_counts.clear()
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            failure = _translated(exc)
            results = [(job, False, failure) for job in jobs]
        inbox_added = any(ok and job.is_inbox and value.accepted for job, ok, value in results)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._resolve, results, inbox_added)
        except RuntimeError:  # loop closed during shutdown
            pass

    def _resolve(self, results: list[tuple[_Job, bool, Any]], inbox_added: bool) -> None:
        for job, ok, value in results:
            fut = job.future
            if fut is None or fut.done():
                continue
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)
        if inbox_added and self.on_inbox is not None:
            self.on_inbox()


def _translated(exc: BaseException) -> BaseException:
    """What a caller of the store sees: a driver error becomes a chained StoreError."""
    if isinstance(exc, sqlite3.Error):
        error = _failed(exc)
        error.__cause__ = exc
        return error
    return exc


def open_sqlite(url: str, *, inbox_url: str | None = None, **options: Any) -> SQLiteStore:
    """The ``sqlite`` scheme's factory: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``;
    ``inbox_url`` (also ``sqlite:///``) keeps the inbox in a separate file.

    Raises:
        ConfigError: not a ``sqlite:///`` URL, or a bad option value.
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        raise ConfigError("store.url for SQLite must look like sqlite:///PATH")
    if inbox_url is not None:
        if not inbox_url.startswith(prefix):
            raise ConfigError("store.inbox_url must be a sqlite:/// URL too")
        options["inbox_path"] = inbox_url[len(prefix):]
    try:
        return SQLiteStore(url[len(prefix):] or "omnisdk.db", **options)
    except ValueError as exc:
        raise ConfigError(f"store: {exc}") from None


register_store("sqlite", open_sqlite)
