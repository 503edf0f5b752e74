"""``SQLiteStore``: the embedded store, SQLite in WAL mode with group commit on one writer thread.

Every write goes to one writer thread through a queue.  The thread takes everything queued,
runs each job inside its own SAVEPOINT (a failing job rolls back alone) and commits once for
the whole batch, then resolves the callers' futures.  Under load, one commit (one fsync with
``synchronous=FULL``) covers many webhooks: durability without a commit per request.

The schema is versioned (:mod:`omnisdk.store.sqlite.migrations`); driver errors reach callers
as :class:`~omnisdk.store.errors.StoreError` (:mod:`omnisdk.store.sqlite.errors`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from omnisdk.events import Event, dumps
from omnisdk.store.base import Store, received_times
from omnisdk.store.errors import StoreError, StoreNotFound
from omnisdk.store.rows import (
    InboxResult,
)
from omnisdk.store.sqlite.errors import failed as _failed
from omnisdk.store.sqlite.errors import translated as _translated
from omnisdk.store.sqlite.migrations import migrate
from omnisdk.store.sqlite.schema import INBOX_SCHEMA
from omnisdk.store.sqlite.transaction import SQLiteTransaction

log = logging.getLogger("omnisdk.store")
T = TypeVar("T")
_STOP = object()
MAX_BATCH = 512


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
        release's version (:func:`~omnisdk.store.sqlite.migrations.migrate`; a no-op when it
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

    def _connect_or_fail(self) -> sqlite3.Connection:
        try:
            return self.connect()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {type(exc).__name__}: {exc}") from exc

    async def open(self) -> None:
        """Connect, migrate the schema, requeue sends a crash left ``sending``, start the writer.

        Raises:
            StoreError: the file cannot be opened or migrated (an unwritable folder, a directory,
                a file that is not SQLite, a newer schema).
        """
        self._loop = asyncio.get_running_loop()
        conn = self._connect_or_fail()
        try:
            self.create_schema(conn)
            if not self.inbox_only:
                stale = self.transaction(conn).requeue_stale_sending()
                if stale:
                    log.warning("%d outbox rows were left 'sending' by a crash; they will be retried", stale)
        except BaseException:
            conn.close()
            raise
        self._thread = threading.Thread(target=self._run, args=(conn,), name="omnisdk-sqlite", daemon=True)
        self._thread.start()

    async def read(self, fn: Callable[[SQLiteTransaction], T]) -> T:
        """Run ``fn`` on one read snapshot through a connection of its own, without the writer
        thread (a server may be running on the file: WAL readers do not block it).  The schema
        is brought to this release's version first, as :meth:`open` does.

        Raises:
            StoreNotFound: the file does not exist (it is not created).
            StoreError: the file cannot be opened or read (a directory, not SQLite, newer).
        """
        if not self.path.exists():
            raise StoreNotFound(f"no database at {self.path}")
        conn = self._connect_or_fail()
        try:
            self.create_schema(conn)
            conn.execute("BEGIN")  # one snapshot for every statement of fn
            try:
                return fn(self.transaction(conn))
            finally:
                conn.rollback()
        except sqlite3.Error as exc:
            raise _failed(exc) from exc
        finally:
            conn.close()

    async def close(self) -> None:
        if self._thread is None:
            return
        self._q.put(_STOP)
        await asyncio.to_thread(self._thread.join)
        self._thread = None

    async def append_inbox(self, events: Sequence[Event], received_at: str | Sequence[str]) -> InboxResult:
        rows = [(e.source, e.id, e.type, e.partitionkey, at, dumps(e))
                for e, at in zip(events, received_times(events, received_at), strict=True)]

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

