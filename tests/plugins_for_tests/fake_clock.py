"""The core tests' controllable clock: the test kit's :class:`ManualClock`."""

from omnisdk.testkit.clock import EPOCH
from omnisdk.testkit.clock import ManualClock as FakeClock

__all__ = ["EPOCH", "FakeClock"]
