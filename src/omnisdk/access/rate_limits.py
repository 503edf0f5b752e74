"""Per-key and per-address request limits of the agent API (the ``limits`` library).

Fixed windows in process memory (``limits``' ``FixedWindowRateLimiter`` over
``MemoryStorage``, about 10 µs a check): each gateway process counts its own requests, so N
processes behind a balancer let N times the limit through; the limit is a guard against a
runaway client or a guessing attacker, not a quota.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter

from omnisdk.errors import RateLimitedError


class RateLimits:
    """Two limits: one per client address, checked before authentication (so guessing keys
    is bounded), and one per principal subject, checked after.

    Args:
        per_ip: e.g. ``"600/minute"``; None for none.
        per_key: e.g. ``"1200/minute"``; None for none.
    """

    def __init__(self, per_ip: str | None, per_key: str | None) -> None:
        self._limiter = FixedWindowRateLimiter(MemoryStorage())
        self._per_ip: RateLimitItem | None = parse(per_ip) if per_ip else None
        self._per_key: RateLimitItem | None = parse(per_key) if per_key else None

    def hit_address(self, address: str) -> None:
        """Raises RateLimitedError: ``address`` is over its limit."""
        if self._per_ip is not None:
            self._hit(self._per_ip, "ip", address)

    def hit_subject(self, subject: str) -> None:
        """Raises RateLimitedError: the principal ``subject`` is over its limit."""
        if self._per_key is not None:
            self._hit(self._per_key, "key", subject)

    def _hit(self, item: RateLimitItem, kind: str, who: str) -> None:
        if not self._limiter.hit(item, kind, who):
            reset = self._limiter.get_window_stats(item, kind, who).reset_time
            raise RateLimitedError(f"more than {item} for this {'address' if kind == 'ip' else 'caller'}",
                                   retry_after=math.ceil(reset - time.time()))


__all__ = ["RateLimits"]
