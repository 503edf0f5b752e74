"""A controllable clock for the runtime (``Runtime(settings, clock=FakeClock())``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    """Returns an aware UTC datetime that only moves when :meth:`advance` is called."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock never goes back")
        self.now += timedelta(seconds=seconds)
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()
