"""``PostgresStore``: the store on PostgreSQL (psycopg 3, a connection pool), with the SQLite
store's threading model and promises.

The core's domain code is synchronous and uses the routing engine's memory, so, as in
:class:`~omnisdk.store.sqlite.SQLiteStore`, every :meth:`~PostgresStore.transact` and
:meth:`~PostgresStore.append_inbox` job goes through one queue to one writer thread, which
takes everything queued, runs each job inside its own SAVEPOINT (a failing job rolls back
alone; inbox appends, one statement each, need none) and commits once for the whole batch
(group commit), then resolves the callers'
futures on the event loop.  The writer borrows a pooled connection per batch, checked first: a
connection that broke (a PostgreSQL restart) is replaced by the pool; a batch whose connection
breaks while it runs fails with :class:`~omnisdk.store.errors.StoreError` (its callers retry:
nothing of it was committed).
:meth:`~PostgresStore.read` (the CLI's inspections) runs on another pooled connection, in a
read-only snapshot, without the writer.

The schema is versioned (:mod:`omnisdk.store.postgres.migrations`, the same version numbers
as SQLite's).  Inbox appends hold an advisory lock until their commit
(:mod:`omnisdk.store.postgres.inbox`), so processes sharing the database append in ``seq``
order.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from omnisdk.events import Event, dumps
from omnisdk.store.base import Store, received_times
from omnisdk.store.errors import StoreError, StoreNotFound
from omnisdk.store.postgres.errors import describe
from omnisdk.store.postgres.errors import translated as _translated
from omnisdk.store.postgres.migrations import MIGRATION_LOCK, migrate, schema_version
from omnisdk.store.postgres.transaction import PostgresTransaction
from omnisdk.store.rows import InboxResult

log = logging.getLogger("omnisdk.store")
T = TypeVar("T")
_STOP = object()
MAX_BATCH = 512
RECONNECT_GIVE_UP = 2.0
"""Seconds the pool retries one broken connection (after 1 s, then 2 s) before it gives up; the
writer asks for a connection again every :data:`CHECKOUT_SLICE` seconds, and each time it has
to wait the pool tries a new one at once.  psycopg_pool's default, 5 minutes of doubling
delays, leaves a store idle for up to as long again as its outage after a PostgreSQL restart
(a 13 s outage: 8 to 16 s more); this way it reconnects within about a second of the server's
return."""
CHECKOUT_SLICE = 1.0


class _Job:
    __slots__ = ("fn", "future", "is_inbox")

    def __init__(self, fn: Callable[[PostgresTransaction], Any], future: asyncio.Future | None,
                 is_inbox: bool = False) -> None:
        self.fn = fn
        self.future = future
        self.is_inbox = is_inbox


class PostgresStore(Store):
    """PostgreSQL store.

    Args:
        conninfo: a libpq connection string or ``postgresql://`` URI (without omnisdk's own
            ``schema`` parameter: :func:`~omnisdk.store.postgres.factory.open_postgres` takes it
            out).
        location: the DSN without password, for humans.
        schema: keep the tables in this schema (created if missing; every pooled connection's
            ``search_path``), e.g. one per routing domain or per test; None: the server's
            default (``public``).
        synchronous: ``"FULL"`` (default: a commit returns once its WAL is flushed, a 2xx
            survives a PostgreSQL crash) or ``"NORMAL"`` (``synchronous_commit = off``: a
            PostgreSQL crash may lose the last commits, up to three times ``wal_writer_delay``,
            never half of one; an omnisdk crash loses nothing).
        pool_size: pooled connections at most (the writer holds one per batch; the pool keeps
            one open between batches and replaces broken ones; :meth:`read` connects on its own).
        connect_timeout: seconds :meth:`open` waits for the first connection.
    """

    def __init__(self, conninfo: str, *, location: str = "", schema: str | None = None,
                 synchronous: str = "FULL", pool_size: int = 4, connect_timeout: float = 10.0) -> None:
        self.conninfo = conninfo
        self.location = location
        self.schema = schema
        self.synchronous = synchronous.upper()
        if self.synchronous not in {"FULL", "NORMAL"}:
            raise ValueError("synchronous must be FULL or NORMAL")
        if pool_size < 2:
            raise ValueError("pool_size must be 2 or more")
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self._pool: ConnectionPool | None = None
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.on_inbox = None
        self.statements = 0
        """Statements the writer thread sent so far (committed batches; bench/routing.py)."""
        self.round_trips = 0
        """Round trips they took (a pipeline of deferred writes is one; BEGIN and COMMIT count
        as statements and round trips here, the pool's connection check does not)."""
        self.requeue_at_open = True
        """Put outbox rows left ``sending`` back to ``pending`` at :meth:`open` (a lone process
        after a crash).  The runtime sets it False: several processes open one schema, and
        only the routing domain's new leader may put them back (:mod:`omnisdk.leadership`),
        never a standby or an ingress starting while the leader sends."""

    # --- connections ---------------------------------------------------------------------

    def _configure(self, conn: psycopg.Connection) -> None:
        """Every new connection: the schema first in ``search_path``, the commit durability."""
        if self.schema is not None:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        if self.synchronous == "NORMAL":
            conn.execute("SET synchronous_commit TO off")

    def connect(self) -> psycopg.Connection:
        """A new connection outside the pool, configured like the pool's (autocommit)."""
        conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=max(1, int(self.connect_timeout)))
        try:
            self._configure(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _cannot_open(self, exc: Exception) -> StoreError:
        text = describe(exc) if isinstance(exc, psycopg.Error) else type(exc).__name__
        return StoreError(f"cannot open the PostgreSQL store at {self.location}: {text}")

    def _open_sync(self) -> None:
        # check: a connection is tried before it is handed out (one round trip per batch), so one
        # the server closed meanwhile (a restart, an idle timeout) is replaced, not failed on
        pool = ConnectionPool(self.conninfo, min_size=1, max_size=self.pool_size, open=False,
                              kwargs={"autocommit": True}, configure=self._configure,
                              check=ConnectionPool.check_connection, name=f"omnisdk-{self.schema or 'store'}")
        try:
            pool.open(wait=True, timeout=self.connect_timeout)
            # after the first connections (open() waits for them with connect_timeout); from now
            # on a broken connection is retried briefly, then again as soon as someone waits
            pool.reconnect_timeout = RECONNECT_GIVE_UP
            with pool.connection() as conn:
                if self.schema is not None:  # under the migration lock: two first starts race otherwise
                    with conn.transaction():
                        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (MIGRATION_LOCK, self.schema))
                        # only when missing: CREATE SCHEMA needs CREATE on the database even with IF NOT
                        # EXISTS, which a user given an existing schema may not have
                        if not conn.execute("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = %s)",
                                            (self.schema,)).fetchone()[0]:
                            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
                applied = migrate(conn)
                if applied:
                    log.info("store schema migrated to version %d (applied %s)", applied[-1], applied)
                stale = PostgresTransaction(conn).requeue_stale_sending() if self.requeue_at_open else 0
                if stale:
                    log.warning("%d outbox rows were left 'sending' by a crash; they will be retried", stale)
        except BaseException as exc:
            pool.close()
            if isinstance(exc, StoreError):
                raise
            if isinstance(exc, (psycopg.Error, PoolTimeout)):
                raise self._cannot_open(exc) from exc
            raise
        self._pool = pool

    async def open(self) -> None:
        """Connect (the pool), create the schema if missing and migrate it, requeue sends a
        crash left ``sending`` (unless :attr:`requeue_at_open` is False), start the writer.

        Raises:
            StoreError: the server cannot be reached in ``connect_timeout`` seconds, refuses
                the login, or the schema cannot be migrated (or is newer than this release).
        """
        self._loop = asyncio.get_running_loop()
        await asyncio.to_thread(self._open_sync)
        self._thread = threading.Thread(target=self._run, name="omnisdk-postgres", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        if self._thread is not None:
            self._q.put(_STOP)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.close)

    async def read(self, fn: Callable[[PostgresTransaction], T]) -> T:
        """Run ``fn`` on one read-only snapshot (``REPEATABLE READ``) through a connection of
        its own, without the writer thread (a server may be running on the same schema).  The
        schema is brought to this release's version first, as :meth:`open` does.

        Raises:
            StoreNotFound: the schema holds no omnisdk store (it is not created).
            StoreError: the server cannot be reached, or the schema cannot be read.
        """
        return await asyncio.to_thread(self._read_sync, fn)

    def _read_sync(self, fn: Callable[[PostgresTransaction], T]) -> T:
        try:
            conn = self.connect()
        except psycopg.Error as exc:
            raise self._cannot_open(exc) from exc
        try:
            if schema_version(conn) == 0:
                raise StoreNotFound(f"no omnisdk store at {self.location}")
            migrate(conn)
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                return fn(PostgresTransaction(conn))
            finally:
                conn.execute("ROLLBACK")
        except psycopg.Error as exc:
            raise _translated(exc) from exc
        finally:
            conn.close()

    # --- the queue -----------------------------------------------------------------------

    async def append_inbox(self, events: Sequence[Event], received_at: str | Sequence[str]) -> InboxResult:
        rows = [(e.source, e.id, e.type, e.partitionkey, at, dumps(e))
                for e, at in zip(events, received_times(events, received_at), strict=True)]

        def job(tx: PostgresTransaction) -> InboxResult:
            new = tx.append(rows) if rows else 0
            dup = len(rows) - new
            if new:
                tx.count("events.accepted", new)
            if dup:
                tx.count("events.deduplicated", dup)
            return InboxResult(new, dup)

        return await self._submit(job, is_inbox=True)

    async def transact(self, fn: Callable[[PostgresTransaction], T]) -> T:
        return await self._submit(fn)

    def count_later(self, name: str, n: int = 1) -> None:
        self._q.put(_Job(lambda tx: tx.count(name, n), None))

    def _submit(self, fn: Callable[[PostgresTransaction], T], is_inbox: bool = False) -> asyncio.Future[T]:
        if self._thread is None or self._loop is None:
            raise RuntimeError("store is not open")
        fut: asyncio.Future[T] = self._loop.create_future()
        self._q.put(_Job(fn, fut, is_inbox))
        return fut

    # --- writer thread -------------------------------------------------------------------

    def _run(self) -> None:
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
            self._run_batch(jobs)

    def _run_batch(self, jobs: list[_Job]) -> None:
        pool = self._pool
        try:
            if pool is None:
                raise StoreError("the PostgreSQL store is closed")
            conn = self._checkout(pool)
            try:
                results = self._in_transaction(conn, jobs)
            finally:
                pool.putconn(conn)  # a broken one is discarded (and replaced) by the pool
        except BaseException as exc:  # no connection, or the commit failed: nothing is durable
            log.error("store batch failed: %s", describe(exc) if isinstance(exc, psycopg.Error) else
                      f"{type(exc).__name__}: {exc}")
            failure = exc if isinstance(exc, StoreError) else _translated(exc)
            if not isinstance(failure, StoreError):
                failure = StoreError(f"PostgreSQL store failed: {type(exc).__name__}")
                failure.__cause__ = exc
            results = [(job, False, failure) for job in jobs]
        inbox_added = any(ok and job.is_inbox and value.accepted for job, ok, value in results)
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._resolve, results, inbox_added)
        except RuntimeError:  # loop closed during shutdown
            pass

    def _checkout(self, pool: ConnectionPool) -> psycopg.Connection:
        """A pooled connection within ``connect_timeout`` seconds, asked for again every
        :data:`CHECKOUT_SLICE` seconds (each wait makes a pool short of connections try a new
        one).  Raises PoolTimeout."""
        deadline = time.monotonic() + self.connect_timeout
        while True:
            left = deadline - time.monotonic()
            try:
                return pool.getconn(timeout=max(0.001, min(CHECKOUT_SLICE, left)))
            except PoolTimeout:
                if left <= CHECKOUT_SLICE:
                    raise PoolTimeout(f"couldn't get a connection after {self.connect_timeout:g} sec") from None

    def _in_transaction(self, conn: psycopg.Connection, jobs: list[_Job]) -> list[tuple[_Job, bool, Any]]:
        """Run the batch in one transaction, each job in a savepoint (but counter increments and
        inbox appends: one statement each, which only a failing server fails, and then the whole
        batch); commit.  Raises what the commit (or BEGIN) raised, after rolling back."""
        tx = PostgresTransaction(conn)
        results: list[tuple[_Job, bool, Any]] = []
        conn.execute("BEGIN")
        try:
            if any(job.is_inbox for job in jobs):  # taken once, outside the jobs' savepoints
                tx.lock_inbox()
            for job in jobs:
                if job.future is None:  # counter increments: nothing to fail, no savepoint
                    job.fn(tx)
                    continue
                if job.is_inbox:  # one INSERT whose values always fit (inbox.py): no savepoint, as on
                    try:          # SQLite; if the server fails it, the batch fails at COMMIT below
                        results.append((job, True, job.fn(tx)))
                    except BaseException as exc:  # noqa: BLE001 - handed to the caller's future
                        results.append((job, False, _translated(exc)))
                    continue
                counts = dict(tx.pending_counts)
                tx.flush()  # nothing is queued between jobs; kept for the order of statements
                conn.execute("SAVEPOINT job")
                try:
                    value = job.fn(tx)
                    tx.flush()  # the job's deferred writes (atomic.py) fail inside its savepoint
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's future
                    tx.discard()
                    tx.forget_cached()
                    conn.execute("ROLLBACK TO SAVEPOINT job")
                    conn.execute("RELEASE SAVEPOINT job")
                    tx.pending_counts = counts
                    results.append((job, False, _translated(exc)))
                else:
                    conn.execute("RELEASE SAVEPOINT job")
                    results.append((job, True, value))
            tx.flush_counts()
            tx.flush()
            if conn.info.transaction_status != TransactionStatus.INTRANS:  # aborted: COMMIT would roll back
                raise StoreError("PostgreSQL store failed: the transaction was aborted")
            conn.execute("COMMIT")
            self.statements += tx.statements + 2  # with BEGIN and COMMIT (+ one per savepoint job
            self.round_trips += tx.round_trips + 2  # not counted: a transact job's own SAVEPOINT)
        except BaseException:
            if not conn.closed:
                try:
                    conn.execute("ROLLBACK")
                except psycopg.Error:
                    pass
            raise
        return results

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


__all__ = ["PostgresStore"]
