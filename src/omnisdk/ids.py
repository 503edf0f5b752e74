"""Identifiers the core makes: 32 hex characters that sort by creation time.

``new_id()`` = microseconds since the epoch (14 hex digits) + 72 random bits (18 hex digits).
Time-ordered keys insert at the right edge of the store's B-trees instead of at random pages,
which keeps writes fast as the tables grow (measured: random UUID4 keys cost ~2x more per
routed interaction at 20,000 rows).  Unique without coordination, like a UUID; not a secret.

The random bits come from a generator seeded from ``os.urandom`` (reseeded in a forked child),
not from ``os.urandom`` per identifier: that system call releases the interpreter lock, and
on the store's writer thread, two per routed interaction, each release let the event loop take
the lock (about 10 % of the routing time in ``bench/routing.py``).  Identifiers need to be
unique, not unpredictable; secrets use :mod:`secrets`.
"""

from __future__ import annotations

import os
import random
import time

_random = random.Random()  # seeded from os.urandom


def _reseed() -> None:
    _random.seed()  # a forked child must not repeat its parent's sequence


os.register_at_fork(after_in_child=_reseed)


def new_id() -> str:
    """A new time-ordered identifier (32 lower-case hex characters)."""
    return f"{time.time_ns() // 1000:014x}{_random.getrandbits(72):018x}"
