"""Atomicity on PostgreSQL: the connection, savepoints, the write meter
(:class:`~omnisdk.store.protocols.Atomic`) and the deferred writes.

Every statement goes through :meth:`PostgresAtomic.run` (reads, and writes whose answer is
needed) or :meth:`PostgresAtomic.defer` (writes that need no answer).  A statement that fails
also counts as a write: on PostgreSQL a failed statement aborts the transaction until a
savepoint is rolled back to, so a caller that compares :meth:`writes` before and after a block
(the inbox processor's unguarded pass) must take the block as having changed something and redo
it under savepoints.

**Deferred writes.**  Inside a :meth:`~PostgresAtomic.savepoint` block, a write that needs no
answer (a timer, an interaction row, a history row, a message, a contact, the inbox cursor, the
counters) is not sent at once: it is queued, with the ``SAVEPOINT`` itself, and the queue goes to
the server in one round trip (psycopg's pipeline mode) before the next statement that needs an
answer (:meth:`run`), when the block ends, and before the commit.  So a routed interaction's
five or six writes cost one round trip between them, not one each.  What stays the same:

- order: the queue is sent in the order it was made, before any read, so a read sees every
  write made before it in the transaction;
- errors: a queued write that fails raises at the next flush, at the latest when its block
  ends, inside that block (so the block rolls back, as it would have had the write failed at
  once); the error is the one the write would have raised (a unique violation of the one
  active interaction per conversation is :class:`~omnisdk.errors.StateError`, bad data
  :class:`~omnisdk.store.postgres.errors.UnstorableValue`, anything else StoreError);
- the meter: a queued write counts as one write when it is queued.

Outside any savepoint block (a :meth:`~omnisdk.store.base.Store.transact` job calling the
store directly, the contract suite) writes are sent at once, as before, and raise at once.
A block that rolls back before its queue was sent drops the queue, and its ``SAVEPOINT``, without
a round trip.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import psycopg

from omnisdk.store.postgres.errors import failed as _failed

Translate = Callable[[psycopg.Error], BaseException | None]
"""Turns a driver error of one deferred write into the domain error it means (None: not one of
its own, the store's usual translation applies)."""


class PostgresAtomic:
    """The atomic part of :class:`~omnisdk.store.postgres.PostgresTransaction`.

    Args:
        conn: a psycopg connection in autocommit mode (the store sends ``BEGIN`` and ``COMMIT``).
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.c = conn
        self.pending_counts: dict[str, int] = {}
        """Counter increments of the current batch, written once before its commit."""
        self._counted = 0
        self._written = 0
        self._queue: list[tuple[str, Any, Translate | None, str | None]] = []
        """Deferred statements not sent yet, in order: (SQL, parameters, translation, table;
        a table of None is a barrier: ``SAVEPOINT``, ``RELEASE``)."""
        self._sent = 0
        """Flushes of the queue so far (a savepoint whose ``SAVEPOINT`` is still queued has
        sent nothing, and rolls back by dropping its part of the queue)."""
        self._depth = 0
        """Savepoint blocks open: writes are deferred inside one, sent at once outside."""
        self.statements = 0
        """Statements sent to the server, and round trips taken (a flushed queue is one), for
        the benchmarks and the tests that count them."""
        self.round_trips = 0

    # --- statements ----------------------------------------------------------------------

    def run(self, sql: str, params: Any = None) -> psycopg.Cursor:
        """Execute one statement now (psycopg placeholders ``%s`` / ``%(name)s``), after the
        deferred writes queued before it.

        Raises:
            psycopg.Error: the driver's error, for the caller to turn into a StoreError (or a
                domain error, e.g. a unique violation into StateError).
            StateError, UnstorableValue, StoreError: a deferred write queued before failed
                (the error it would have raised itself).
        """
        if self._queue:  # the queue and this statement in one round trip
            return self._send(sql, params)
        self.statements += 1
        self.round_trips += 1
        try:
            return self.c.execute(sql, params)
        except psycopg.Error:
            self._written += 1  # the transaction is aborted: see the module docstring
            raise

    def write(self, sql: str, params: Any = None) -> psycopg.Cursor:
        """Execute one write statement now and add the rows it changed to :meth:`writes`."""
        cur = self.run(sql, params)
        if cur.rowcount > 0:
            self._written += cur.rowcount
        return cur

    def defer(self, sql: str, params: Any = None, translate: Translate | None = None, *,
              table: str | None = None) -> None:
        """A write whose answer nobody needs: queued inside a savepoint block (sent with the
        next flush), executed at once outside one.

        Raises (at once outside a block, else at the flush):
            the error ``translate`` makes of the driver's error, else
            :func:`~omnisdk.store.postgres.errors.failed`'s (UnstorableValue or StoreError).

        ``table`` names what the statement writes (default: the statement itself): when sent,
        the queued writes between two savepoint statements are grouped by it, in the order
        each first appears, keeping their order within it, so that the writes of one
        statement go as one ``executemany`` (its query converted once).  Statements on
        different tables never depend on each other's order (no foreign keys, no triggers).
        """
        if self._depth == 0:
            try:
                self.write(sql, params)
            except psycopg.Error as exc:
                raise _error(exc, translate) from exc
            return
        self._queue.append((sql, params, translate, table or sql))
        self._written += 1

    def flush(self) -> None:
        """Send the deferred writes, in order, in one round trip (psycopg's pipeline mode).

        Raises:
            the first failing write's error (see :meth:`defer`); the transaction is then
            aborted until the enclosing savepoint is rolled back to.
        """
        if self._queue:
            self._send(None, None)

    def _send(self, sql: str | None, params: Any) -> psycopg.Cursor | None:
        """The queue, then ``sql`` if given (its cursor is returned, its results fetched), in
        one pipeline: one round trip."""
        queue, self._queue = self._queue, []
        self._sent += 1
        self.statements += len(queue) + (sql is not None)
        self.round_trips += 1
        cur = None
        try:
            with self.c.pipeline():
                for text, rows in _grouped(queue):
                    if rows is None:
                        self.c.execute(text)
                    else:
                        with self.c.cursor() as many:
                            many.executemany(text, rows)
                if sql is not None:
                    cur = self.c.execute(sql, params)
        except psycopg.Error as exc:
            self._written += 1  # the transaction is aborted: see the module docstring
            culprit = _culprit(queue, exc)
            if culprit is None and sql is not None:
                raise  # the statement itself failed (or the server): its caller translates
            raise _error(exc, culprit) from exc
        return cur

    def discard(self) -> None:
        """Drop the deferred writes not sent yet (their transaction or savepoint rolls back)."""
        self._queue.clear()

    def write_many(self, sql: str, rows: list[Any]) -> int:
        """Execute one write statement for each of ``rows`` (one round trip: psycopg pipelines
        ``executemany``); the rows changed."""
        if not rows:
            return 0
        if self._queue:
            self.flush()
        self.statements += len(rows)
        self.round_trips += 1
        try:
            with self.c.cursor() as cur:
                cur.executemany(sql, rows)
                changed = max(cur.rowcount, 0)
        except psycopg.Error:
            self._written += 1
            raise
        self._written += changed
        return changed

    def writes(self) -> int:
        return self._written + self._counted

    # --- savepoints ----------------------------------------------------------------------

    def forget_cached(self) -> None:
        """Drop what this transaction remembers of rows (a rollback undid some of its writes);
        the concerns that cache override it."""

    @contextlib.contextmanager
    def savepoint(self, name: str = "item") -> Iterator[None]:
        if not name.isidentifier():
            raise ValueError(f"savepoint name must be an identifier: {name!r}")
        counts = dict(self.pending_counts)
        quoted = f"\"{name}\""
        self._queue.append((f"SAVEPOINT {quoted}", None, None, None))  # sent with the block's first flush
        start, sent = len(self._queue) - 1, self._sent
        self._depth += 1
        try:
            yield
            if self._sent == sent and len(self._queue) == start + 1:  # the block wrote nothing:
                self._depth -= 1                                       # no SAVEPOINT, no RELEASE
                del self._queue[start:]
                return
            self.flush()  # the block's own writes fail inside it
        except BaseException:
            self._depth -= 1
            self.pending_counts = counts
            self.forget_cached()
            if self._sent == sent:  # nothing of the block reached the server: drop it, SAVEPOINT too
                del self._queue[start:]
                raise
            self.discard()
            try:
                self.run(f"ROLLBACK TO SAVEPOINT {quoted}")
                self.run(f"RELEASE SAVEPOINT {quoted}")
            except psycopg.Error as exc:
                raise _failed(exc) from exc
            raise
        self._depth -= 1
        self._queue.append((f"RELEASE SAVEPOINT {quoted}", None, None, None))  # with the next statement


def _grouped(queue: list[tuple[str, Any, Translate | None, str | None]]) -> Iterator[tuple[str, list[Any] | None]]:
    """The queue as it is sent: each barrier (rows None) in its place; between two barriers the
    writes grouped by table (first appearance first, order kept within a table), each run of
    one statement with its parameter rows."""
    segment: dict[str, list[tuple[str, Any]]] = {}

    def runs() -> Iterator[tuple[str, list[Any]]]:
        for items in segment.values():
            text, rows = items[0][0], [items[0][1]]
            for other, params in items[1:]:
                if other == text:
                    rows.append(params)
                else:
                    yield text, rows
                    text, rows = other, [params]
            yield text, rows
        segment.clear()

    for text, params, _, table in queue:
        if table is None:
            yield from runs()
            yield text, None
        else:
            segment.setdefault(table, []).append((text, params))
    yield from runs()


def _culprit(queue: list[tuple[str, Any, Translate | None, str | None]], exc: psycopg.Error) -> Translate | None:
    """The translation of the deferred write that failed: the first one whose translation
    claims the error (each knows its own constraint)."""
    for _, _, translate, _ in queue:
        if translate is not None and translate(exc) is not None:
            return translate
    return None


def _error(exc: psycopg.Error, translate: Translate | None) -> BaseException:
    mine = translate(exc) if translate is not None else None
    return mine if mine is not None else _failed(exc)


__all__ = ["PostgresAtomic", "Translate"]
