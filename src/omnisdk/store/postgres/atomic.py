"""Atomicity on PostgreSQL: the connection, savepoints and the write meter
(:class:`~omnisdk.store.protocols.Atomic`).

Every statement goes through :meth:`PostgresAtomic.run` (reads) or :meth:`PostgresAtomic.write`
(writes, which add their row count to the meter).  A statement that fails also counts as a
write: on PostgreSQL a failed statement aborts the transaction until a savepoint is rolled back
to, so a caller that compares :meth:`writes` before and after a block (the inbox processor's
unguarded pass) must take the block as having changed something and redo it under savepoints.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg

from omnisdk.store.postgres.errors import failed as _failed


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

    def run(self, sql: str, params: Any = None) -> psycopg.Cursor:
        """Execute one statement (psycopg placeholders ``%s`` / ``%(name)s``).

        Raises:
            psycopg.Error: the driver's error, for the caller to turn into a StoreError (or a
                domain error, e.g. a unique violation into StateError).
        """
        try:
            return self.c.execute(sql, params)
        except psycopg.Error:
            self._written += 1  # the transaction is aborted: see the module docstring
            raise

    def write(self, sql: str, params: Any = None) -> psycopg.Cursor:
        """Execute one write statement and add the rows it changed to :meth:`writes`."""
        cur = self.run(sql, params)
        if cur.rowcount > 0:
            self._written += cur.rowcount
        return cur

    def write_many(self, sql: str, rows: list[Any]) -> int:
        """Execute one write statement for each of ``rows`` (one round trip: psycopg pipelines
        ``executemany``); the rows changed."""
        if not rows:
            return 0
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

    @contextlib.contextmanager
    def savepoint(self, name: str = "item") -> Iterator[None]:
        if not name.isidentifier():
            raise ValueError(f"savepoint name must be an identifier: {name!r}")
        counts = dict(self.pending_counts)
        try:
            self.c.execute(f"SAVEPOINT \"{name}\"")
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        try:
            yield
        except BaseException:
            try:
                self.c.execute(f"ROLLBACK TO SAVEPOINT \"{name}\"")
                self.c.execute(f"RELEASE SAVEPOINT \"{name}\"")
            except psycopg.Error as exc:
                raise _failed(exc) from exc
            self.pending_counts = counts
            raise
        try:
            self.c.execute(f"RELEASE SAVEPOINT \"{name}\"")
        except psycopg.Error as exc:
            raise _failed(exc) from exc


__all__ = ["PostgresAtomic"]
