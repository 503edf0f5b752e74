"""The store interface.

Two halves:

- :meth:`Store.append_inbox` is the hot path: it makes webhook events durable (dedupe on
  CloudEvents ``source`` + ``id``) and returns only after the commit, so the gateway may
  answer 2xx.  Implementations batch concurrent calls into one commit (group commit).
- :meth:`Store.transact` runs a synchronous function against a
  :class:`~omnisdk.store.protocols.Transaction` — the domain operations threading, routing and
  the outbox need — atomically.  The core's domain code is synchronous and pure Python; the
  store decides where it runs (the SQLite store runs it on its writer thread).

:meth:`Store.read` runs a read-only function for the CLI's inspection commands.

Stores are found by URL scheme (:mod:`omnisdk.store.registry`); a store's own failures raise
:class:`~omnisdk.store.errors.StoreError`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

from omnisdk.events import Event
from omnisdk.store.protocols import Transaction
from omnisdk.store.rows import InboxResult, OutboxRow, TimerRow

T = TypeVar("T")


class Store(ABC):
    """A durable store.  Open it before use; close it on shutdown.

    :meth:`open` raises :class:`~omnisdk.store.errors.StoreError` if the store cannot be
    opened or its schema cannot be brought to this release's version.
    """

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def append_inbox(self, events: Sequence[Event], received_at: str | Sequence[str]) -> InboxResult:
        """Make events durable, deduplicated on (source, id); returns after the commit.

        ``received_at``: when the gateway received them (RFC 3339 UTC), one time for all, or
        one per event in their order (the core's bus consumer appends a whole fetched batch of
        webhooks at once: :func:`received_times`).

        Raises:
            ValueError: a list of times whose length is not the events'.
        """

    @abstractmethod
    async def transact(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` atomically; its exception rolls back its writes and is re-raised."""

    async def read(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` on the stored data for an inspection (the CLI's ``interactions``,
        ``interaction``, ``cases``, ``agents``, ``queues`` and ``stats``), possibly while a
        server is running on the same store.  ``fn`` only reads.  The default opens the store,
        runs ``fn`` in one transaction and closes the store; a store may override it to read
        without starting its writers.

        Raises:
            StoreNotFound: there is no store at its location (an inspection never creates one).
            StoreError: the store cannot be opened or read.
        """
        await self.open()
        try:
            return await self.transact(fn)
        finally:
            await self.close()

    def count_later(self, name: str, n: int = 1) -> None:
        """Add to a counter without waiting (written with the next commit)."""

    on_inbox: Callable[[], None] | None = None
    """Called (on the event loop) after a commit that added inbox events."""

    location: str = ""
    """Where the data lives, for humans (a path or a DSN without password)."""




def received_times(events: Sequence[Event], received_at: str | Sequence[str]) -> Sequence[str]:
    """``received_at`` of :meth:`Store.append_inbox` as one time per event.

    Raises:
        ValueError: a list of times whose length is not the events'.
    """
    if isinstance(received_at, str):
        return [received_at] * len(events)
    if len(received_at) != len(events):
        raise ValueError(f"{len(received_at)} received times for {len(events)} events")
    return received_at


__all__ = ["InboxResult", "OutboxRow", "Store", "TimerRow", "Transaction", "received_times"]
