"""Atomicity: the connection, savepoints and the change count (:class:`~omnisdk.store.protocols.Atomic`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from omnisdk.store.sqlite.errors import failed as _failed


class SQLiteAtomic:
    """The atomic part of :class:`~omnisdk.store.sqlite.SQLiteTransaction`."""

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
