"""A clock for the runtime that moves only when told (``Runtime(settings, clock=ManualClock())``):
durable timers (offer, wrap-up, inactivity, reminders, actions) fire when a test advances it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class ManualClock:
    """Returns an aware UTC datetime that only moves when :meth:`advance` is called (or
    :attr:`now` is set)."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        """Move forward by ``seconds``.  Raises ValueError for a negative value."""
        if seconds < 0:
            raise ValueError("the clock never goes back")
        self.now += timedelta(seconds=seconds)
        return self.now

    def timestamp(self) -> float:
        """``now`` as epoch seconds."""
        return self.now.timestamp()
