"""The leader lease of a routing domain: what a lease does, its timing, and the local lease.

A routing domain is one store (on PostgreSQL: one ``schema``).  Exactly one core process per
domain runs the routing engine, the processor, the timers and the outbox: the one holding the
domain's lease.  :class:`LeaderLease` is what :class:`~omnisdk.leadership.standby.Leadership`
needs from a lease; :class:`LocalLease` is the lease of a store only one process opens (SQLite:
always held, nothing to check); :class:`~omnisdk.leadership.postgres_lease.PostgresLease` is
the PostgreSQL one (a session-level advisory lock).

Timing (seconds, monotonic clock; docs/scale-out.md "Core leader and hot standby" derives the
bounds from them):

- :data:`KEEPALIVE_INTERVAL`: the leader confirms its lease this often;
- :data:`KEEPALIVE_TIMEOUT`: a confirmation that takes longer fails (the lease is lost);
- :data:`VALIDITY`: the leader trusts its lease until this long after the *start* of its last
  confirmed round trip, and not a moment longer, even if its loop did not run (a pause);
- :data:`RETRY_INTERVAL`: a standby tries to acquire this often.
"""

from __future__ import annotations

import time
from typing import Protocol

KEEPALIVE_INTERVAL = 0.5
KEEPALIVE_TIMEOUT = 1.0
VALIDITY = 2.0
RETRY_INTERVAL = 0.5


class LeaderLease(Protocol):
    """A lease on one routing domain, held by at most one process at a time.

    ``shared``: False when no other process can open the domain's store (then the lease is
    always held and a standby makes no sense); ``domain``: the domain's name, for humans.
    """

    shared: bool
    domain: str

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it; True when this process holds it now.  Never raises:
        an unreachable server is False (tried again later)."""
        ...

    async def keepalive(self) -> bool:
        """Confirm the lease is still held (one round trip, at most :data:`KEEPALIVE_TIMEOUT`);
        False when it is lost (the connection broke, timed out): then it is released."""
        ...

    def valid(self) -> bool:
        """Whether the lease may still be trusted now (no I/O): held, and the last confirmation
        started less than :data:`VALIDITY` seconds ago."""
        ...

    async def release(self) -> None:
        """Give the lease up (close its connection); never raises."""
        ...


class LocalLease:
    """The lease of a store one process opens (SQLite: one process per file): always held."""

    shared = False

    def __init__(self, domain: str = "local") -> None:
        self.domain = domain
        self.held = False

    async def try_acquire(self) -> bool:
        self.held = True
        return True

    async def keepalive(self) -> bool:
        return self.held

    def valid(self) -> bool:
        return self.held

    async def release(self) -> None:
        self.held = False


class Confirmations:
    """When a lease was last confirmed (monotonic seconds), and whether that is recent enough."""

    def __init__(self, validity: float = VALIDITY, clock=time.monotonic) -> None:
        self.validity = validity
        self.clock = clock
        self.confirmed_at: float | None = None

    def started(self) -> float:
        """The time a round trip starts (what a success then confirms)."""
        return self.clock()

    def confirm(self, started: float) -> None:
        self.confirmed_at = started

    def forget(self) -> None:
        self.confirmed_at = None

    def valid(self) -> bool:
        return self.confirmed_at is not None and self.clock() - self.confirmed_at < self.validity
