"""Counters and numbering on PostgreSQL (:class:`~omnisdk.store.protocols.CounterStore`):
increments are kept per batch and written once before its commit, in name order (two
processes writing the same counters lock their rows in the same order: no deadlock)."""

from __future__ import annotations

import psycopg

from omnisdk.store.postgres.atomic import PostgresAtomic
from omnisdk.store.postgres.errors import failed as _failed


class PostgresCounters(PostgresAtomic):
    """The counters part of :class:`~omnisdk.store.postgres.PostgresTransaction`."""

    def count(self, name: str, n: int = 1) -> None:
        self._counted += 1
        self.pending_counts[name] = self.pending_counts.get(name, 0) + n

    def flush_counts(self) -> None:
        """Write the batch's counter increments (one statement for them all)."""
        if self.pending_counts:
            names = sorted(self.pending_counts)
            try:
                self.run("INSERT INTO counters (name, value) SELECT * FROM unnest(%s::text[], %s::bigint[])"
                         " ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value",
                         (names, [self.pending_counts[n] for n in names]))
            except psycopg.Error as exc:
                raise _failed(exc) from exc
            self.pending_counts.clear()

    def counters(self) -> dict[str, int]:
        self.flush_counts()
        try:
            return dict(self.run("SELECT name, value FROM counters").fetchall())
        except psycopg.Error as exc:
            raise _failed(exc) from exc

    def next_number(self, name: str) -> int:
        try:
            return self.write("INSERT INTO counters (name, value) VALUES (%s, 1)"
                              " ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
                              (f"seq.{name}",)).fetchone()[0]
        except psycopg.Error as exc:
            raise _failed(exc) from exc


__all__ = ["PostgresCounters"]
