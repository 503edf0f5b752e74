"""The embedded store: SQLite in WAL mode with group commit on one writer thread.

Every write goes to one writer thread through a queue.  The thread takes everything queued,
runs each job inside its own SAVEPOINT (a failing job rolls back alone) and commits once for
the whole batch, then resolves the callers' futures.  Under load, one commit (one fsync with
``synchronous=FULL``) covers many webhooks: durability without a commit per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson

from omnisdk.errors import StateError
from omnisdk.events import Event, dumps, loads
from omnisdk.ids import new_id
from omnisdk.model import Interaction
from omnisdk.model.messages import DeliveryStatus
from omnisdk.store.base import InboxResult, OutboxRow, Store, TimerRow
from omnisdk.store.sqlite_schema import INBOX_SCHEMA, SCHEMA

log = logging.getLogger("omnisdk.store")
T = TypeVar("T")
_STOP = object()
MAX_BATCH = 512


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
        self.c.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self.c.execute(f"ROLLBACK TO {name}")
            self.c.execute(f"RELEASE {name}")
            self.pending_counts = counts
            raise
        self.c.execute(f"RELEASE {name}")

    # inbox: an append-only log; the processor's position in it is the cursor
    def inbox_cursor(self) -> int:
        """The seq of the last inbox row the processor has taken (0 before the first)."""
        row = self.c.execute("SELECT seq FROM inbox_cursor WHERE name = ?", (self.cursor_name,)).fetchone()
        return row[0] if row else 0

    def claim_inbox(self, limit: int) -> list[tuple[int, Event]]:
        rows = self.c.execute(
            f"SELECT seq, body FROM {self.inbox} WHERE seq > ? ORDER BY seq LIMIT ?", (self.inbox_cursor(), limit)
        ).fetchall()
        return [(seq, loads(body)) for seq, body in rows]

    def mark_processed(self, seq: int, error: str | None = None) -> None:
        if error is not None:
            self.c.execute(
                "INSERT OR REPLACE INTO inbox_failures (seq, source, id, error)"
                f" SELECT seq, source, id, ? FROM {self.inbox} WHERE seq = ?", (error, seq))
        self.mark_processed_through(seq)

    def mark_processed_through(self, seq: int) -> None:
        """Move the cursor past ``seq`` (it never moves back)."""
        self.c.execute(
            "INSERT INTO inbox_cursor (name, seq) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET seq = max(seq, excluded.seq)", (self.cursor_name, seq))

    def inbox_failure(self, source: str, event_id: str) -> str | None:
        """Why an inbox event could not be applied, or None."""
        row = self.c.execute(
            "SELECT error FROM inbox_failures WHERE source = ? AND id = ?", (source, event_id)).fetchone()
        return row[0] if row else None

    def inbox_backlog(self) -> int:
        """Inbox rows the processor has not taken yet."""
        return self.c.execute(f"SELECT COUNT(*) FROM {self.inbox} WHERE seq > ?", (self.inbox_cursor(),)).fetchone()[0]

    # interactions
    def active_interaction(self, conversation_key: str) -> Interaction | None:
        row = self.c.execute(
            "SELECT doc FROM interactions WHERE conversation_key = ? AND state != 'closed'",
            (conversation_key,),
        ).fetchone()
        return Interaction.model_validate_json(row[0]) if row else None

    def get_interaction(self, interaction_id: str) -> Interaction | None:
        row = self.c.execute("SELECT doc FROM interactions WHERE id = ?", (interaction_id,)).fetchone()
        return Interaction.model_validate_json(row[0]) if row else None

    def save_interaction(self, interaction: Interaction) -> None:
        try:
            self.c.execute(
                "INSERT INTO interactions (id, conversation_key, state, agent, channel, created_at, doc)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " state = excluded.state, agent = excluded.agent, doc = excluded.doc",
                (
                    interaction.id,
                    interaction.conversation_key,
                    interaction.state.value,
                    interaction.agent,
                    interaction.channel,
                    interaction.created_at.isoformat(),
                    interaction.model_dump_json(),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise StateError(
                f"conversation {interaction.conversation_key!r} already has an active interaction"
            ) from exc

    def list_interactions(self, *, active_only: bool = False, limit: int = 1000) -> list[Interaction]:
        sql = "SELECT doc FROM interactions"
        if active_only:
            sql += " WHERE state != 'closed'"
        sql += " ORDER BY created_at, id LIMIT ?"
        return [Interaction.model_validate_json(r[0]) for r in self.c.execute(sql, (limit,))]

    def agent_loads(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for agent, channel, n in self.c.execute(
            "SELECT agent, channel, COUNT(*) FROM interactions"
            " WHERE agent IS NOT NULL AND state NOT IN ('closed', 'queued', 'new')"
            " GROUP BY agent, channel"
        ):
            out.setdefault(agent, {})[channel] = n
        return out

    # contacts
    def upsert_contact(self, channel: str, address: str, display_name: str | None, now: str) -> str:
        # a new address costs two writes and no read; a known one a read (and a write when the
        # profile name changed)
        contact_id = new_id()
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
        cur = self.c.execute(
            "INSERT INTO messages (source, message_id, interaction_id, direction, kind, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, message_id) DO UPDATE SET"
            " interaction_id = COALESCE(messages.interaction_id, excluded.interaction_id),"
            " kind = COALESCE(messages.kind, excluded.kind),"
            " body = COALESCE(messages.body, excluded.body)"
            " WHERE messages.body IS NULL",
            (source, message_id, interaction_id, direction, kind, orjson.dumps(body).decode(), at),
        )
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
        return "applied"

    def message_status(self, source: str, message_id: str) -> str | None:
        row = self.c.execute(
            "SELECT status FROM messages WHERE source = ? AND message_id = ?", (source, message_id)
        ).fetchone()
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
    ) -> bool:
        cur = self.c.execute(
            "INSERT OR IGNORE INTO outbox (idempotency_key, plugin, account, interaction_id,"
            " payload, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?)",
            (idempotency_key, plugin, account, interaction_id, orjson.dumps(payload).decode(), now),
        )
        return cur.rowcount == 1

    def claim_outbox(self, now: float, limit: int) -> list[OutboxRow]:
        rows = self.c.execute(
            "SELECT id, idempotency_key, plugin, account, interaction_id, payload, attempts"
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
        self.c.execute(
            "UPDATE outbox SET state = ?, provider_message_id = COALESCE(?, provider_message_id),"
            " error = ?, next_attempt_at = COALESCE(?, next_attempt_at) WHERE id = ?",
            (state, provider_message_id, error, next_attempt_at, row_id),
        )

    def requeue_stale_sending(self) -> int:
        """Rows left ``sending`` by a crash go back to ``pending`` (same idempotency key)."""
        return self.c.execute("UPDATE outbox SET state = 'pending' WHERE state = 'sending'").rowcount

    # history
    def log_transition(self, interaction_id: str, at: str, from_state: str | None, to_state: str,
                       agent: str | None, queue: str | None, note: str | None = None) -> None:
        self.c.execute(
            "INSERT INTO interaction_log (interaction_id, at, from_state, to_state, agent, queue, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (interaction_id, at, from_state, to_state, agent, queue, note),
        )

    def log_transitions(self, rows: Sequence[tuple[str, str, str | None, str, str | None, str | None, str | None]]) -> None:
        # one multi-row INSERT: cheaper than executemany for the 1–4 rows an operation writes
        self.c.execute(
            "INSERT INTO interaction_log (interaction_id, at, from_state, to_state, agent, queue, note) VALUES "
            + ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rows)),
            [v for row in rows for v in row],
        )

    def interaction_history(self, interaction_id: str) -> list[dict[str, Any]]:
        cur = self.c.execute(
            "SELECT at, from_state, to_state, agent, queue, note FROM interaction_log"
            " WHERE interaction_id = ? ORDER BY seq", (interaction_id,))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur]

    def messages_of(self, interaction_id: str) -> list[dict[str, Any]]:
        cur = self.c.execute(
            "SELECT message_id, direction, kind, body, created_at, status FROM messages"
            # by time, not by text: providers' times ("…:05Z") and ours ("…:05.123456Z") differ
            # in form, and "." sorts before "Z"
            " WHERE interaction_id = ? ORDER BY julianday(created_at), rowid", (interaction_id,))
        out = []
        for mid, direction, kind, body, at, status in cur:
            out.append({"message_id": mid, "direction": direction, "kind": kind,
                        "body": orjson.loads(body) if body else None, "created_at": at, "status": status})
        return out

    # timers
    def schedule_timer(self, key: str, kind: str, due_at: float, interaction_id: str | None,
                       data: dict[str, Any]) -> None:
        self.c.execute(
            "INSERT INTO timers (key, kind, due_at, interaction_id, data, state) VALUES (?, ?, ?, ?, ?, 'pending')"
            " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, due_at = excluded.due_at,"
            " interaction_id = excluded.interaction_id, data = excluded.data, state = 'pending'",
            (key, kind, due_at, interaction_id, orjson.dumps(data).decode()),
        )

    def cancel_timers(self, interaction_id: str, kinds: Sequence[str] | None = None) -> int:
        if kinds is None:
            return self.c.execute(
                "UPDATE timers SET state = 'cancelled' WHERE interaction_id = ? AND state = 'pending'",
                (interaction_id,)).rowcount
        marks = ",".join("?" * len(kinds))
        return self.c.execute(
            f"UPDATE timers SET state = 'cancelled' WHERE interaction_id = ? AND state = 'pending'"
            f" AND kind IN ({marks})", (interaction_id, *kinds)).rowcount

    def claim_due_timers(self, now: float, limit: int) -> list[TimerRow]:
        rows = self.c.execute(
            "SELECT key, kind, due_at, interaction_id, data FROM timers"
            " WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, key LIMIT ?", (now, limit)).fetchall()
        for row in rows:
            self.c.execute("UPDATE timers SET state = 'fired' WHERE key = ?", (row[0],))
        return [TimerRow(k, kind, due, iid, orjson.loads(data)) for k, kind, due, iid, data in rows]

    def pending_timers(self, interaction_id: str | None = None) -> list[TimerRow]:
        sql = "SELECT key, kind, due_at, interaction_id, data FROM timers WHERE state = 'pending'"
        args: tuple[Any, ...] = ()
        if interaction_id is not None:
            sql += " AND interaction_id = ?"
            args = (interaction_id,)
        return [TimerRow(k, kind, due, iid, orjson.loads(data))
                for k, kind, due, iid, data in self.c.execute(sql + " ORDER BY due_at", args)]

    # agents, queues, cases
    def save_agent(self, doc: dict[str, Any]) -> None:
        self.c.execute("INSERT INTO agents (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                       (doc["id"], orjson.dumps(doc).decode()))

    def list_agents(self) -> list[dict[str, Any]]:
        return [orjson.loads(d) for (d,) in self.c.execute("SELECT doc FROM agents ORDER BY id")]

    def save_queue(self, doc: dict[str, Any]) -> None:
        self.c.execute("INSERT INTO queues (name, doc) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET doc = excluded.doc",
                       (doc["name"], orjson.dumps(doc).decode()))

    def list_queues(self) -> list[dict[str, Any]]:
        return [orjson.loads(d) for (d,) in self.c.execute("SELECT doc FROM queues ORDER BY rowid")]

    def next_number(self, name: str) -> int:
        return self.c.execute(
            "INSERT INTO counters (name, value) VALUES (?, 1)"
            " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (f"seq.{name}",),
        ).fetchone()[0]

    def save_case(self, doc: dict[str, Any]) -> None:
        self.c.execute(
            "INSERT INTO cases (id, number, created_at, doc) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (doc["id"], doc["number"], doc["created_at"], orjson.dumps(doc).decode()))

    def get_case(self, case_id: str) -> dict[str, Any] | None:
        row = self.c.execute("SELECT doc FROM cases WHERE id = ? OR number = ?", (case_id, case_id)).fetchone()
        return orjson.loads(row[0]) if row else None

    def list_cases(self) -> list[dict[str, Any]]:
        return [orjson.loads(d) for (d,) in self.c.execute("SELECT doc FROM cases ORDER BY number")]

    def list_interactions_in(self, states: Sequence[str]) -> list[Interaction]:
        marks = ",".join("?" * len(states))
        return [Interaction.model_validate_json(r[0]) for r in
                self.c.execute(f"SELECT doc FROM interactions WHERE state IN ({marks}) ORDER BY created_at, id", tuple(states))]

    def last_served(self, since: str) -> list[tuple[str, str, str]]:
        """(conversation_key, agent, closed_at) of interactions closed since ``since`` (RFC 3339,
        the format pydantic writes), oldest first."""
        return self.c.execute(
            "SELECT conversation_key, json_extract(doc, '$.last_agent'), json_extract(doc, '$.closed_at')"
            " FROM interactions WHERE state = 'closed' AND json_extract(doc, '$.closed_at') >= ?"
            " AND json_extract(doc, '$.last_agent') IS NOT NULL ORDER BY json_extract(doc, '$.closed_at')",
            (since,),
        ).fetchall()

    # stats
    def count(self, name: str, n: int = 1) -> None:
        self._counted += 1
        self.pending_counts[name] = self.pending_counts.get(name, 0) + n

    def flush_counts(self) -> None:
        """Write the batch's counter increments (one statement per counter name)."""
        if self.pending_counts:
            self.c.executemany(
                "INSERT INTO counters (name, value) VALUES (?, ?)"
                " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                list(self.pending_counts.items()),
            )
            self.pending_counts.clear()

    def counters(self) -> dict[str, int]:
        self.flush_counts()
        if self.split:  # the gateway's counters live in the inbox file
            return dict(self.c.execute(
                "SELECT name, SUM(value) FROM (SELECT name, value FROM main.counters"
                " UNION ALL SELECT name, value FROM inbox_db.counters) GROUP BY name").fetchall())
        return dict(self.c.execute("SELECT name, value FROM counters").fetchall())


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
        """Create missing tables (idempotent), and start the cursor of a database made before
        the inbox had one where its ``processed`` flags left off."""
        conn.executescript(INBOX_SCHEMA.format(db="inbox_db." if self.split else ""))
        if self.inbox_only:
            return
        conn.executescript(SCHEMA)
        columns = {r[1] for r in conn.execute("PRAGMA main.table_info(inbox)")}
        if "processed" in columns:
            conn.execute(
                "INSERT OR IGNORE INTO inbox_cursor (name, seq)"
                " SELECT 'processor', COALESCE(MAX(seq), 0) FROM main.inbox WHERE processed = 1")

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
        self._loop = asyncio.get_running_loop()
        conn = self.connect()
        self.create_schema(conn)
        if self.inbox_only:
            self._thread = threading.Thread(target=self._run, args=(conn,), name="omnisdk-sqlite", daemon=True)
            self._thread.start()
            return
        tx = self.transaction(conn)
        stale = tx.requeue_stale_sending()
        if stale:
            log.warning("%d outbox rows were left 'sending' by a crash; they will be retried", stale)
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
                        results.append((job, False, exc))
                    continue
                counts = dict(tx.pending_counts)
                conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(tx)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's future
                    conn.execute("ROLLBACK TO job")
                    conn.execute("RELEASE job")
                    tx.pending_counts = counts
                    results.append((job, False, exc))
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
            results = [(job, False, exc) for job in jobs]
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
