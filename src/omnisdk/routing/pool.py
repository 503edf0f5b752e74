"""Agent pools: the agents of one (queue, channel) with free capacity, indexed per strategy.

Every operation is O(1) or O(log n) in the pool size (apart from skipping agents excluded
for one interaction), so one decision stays far below a millisecond with 10,000 agents.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from omnisdk.routing.model import Strategy


class Pool:
    """Agents of one queue and channel; ``free[agent]`` is how many more items they can take."""

    __slots__ = ("buckets", "free", "idle_heap", "rr", "since", "top")

    def __init__(self) -> None:
        self.free: dict[str, int] = {}
        self.buckets: dict[int, dict[str, None]] = {}
        self.top = 0
        self.rr: dict[str, None] = {}  # rotation order of agents with free > 0
        self.since: dict[str, float] = {}  # each agent's idle clock (epoch seconds)
        self.idle_heap: list[tuple[float, str]] = []
        """(idle clock, agent), kept lazily: every agent with free slots has an entry whose
        clock is at most its current one.  A clock that moved forward (the agent was just
        assigned) is corrected when its entry reaches the top (:meth:`pick`); one that moved
        back (an undone assignment) and an agent that becomes free get a new entry (:meth:`set`)."""

    def __len__(self) -> int:
        return len(self.free)

    def set(self, agent: str, free: int, idle_since: float) -> None:
        """Set an agent's free slots (0 keeps it in the pool but never chosen) and its idle
        clock (epoch seconds of its last assignment)."""
        old_since = self.since.get(agent)
        self.since[agent] = idle_since
        old = self.free.get(agent)
        if old == free:
            if free > 0 and old_since is not None and idle_since < old_since:
                self._push(idle_since, agent)
            return
        if old is not None and old > 0:
            bucket = self.buckets[old]
            del bucket[agent]
            if not bucket:
                del self.buckets[old]
        self.free[agent] = free
        if free > 0:
            self.buckets.setdefault(free, {})[agent] = None
            if free > self.top:
                self.top = free
            if old is None or old <= 0:
                self.rr[agent] = None
                self._push(idle_since, agent)
            elif old_since is not None and idle_since < old_since:
                self._push(idle_since, agent)
        else:
            self.rr.pop(agent, None)
        while self.top > 0 and self.top not in self.buckets:
            self.top -= 1

    def _push(self, since: float, agent: str) -> None:
        heapq.heappush(self.idle_heap, (since, agent))
        if len(self.idle_heap) > 4 * len(self.rr) + 64:  # mostly stale entries: rebuild
            self.idle_heap = [(self.since[a], a) for a in self.rr]
            heapq.heapify(self.idle_heap)

    def remove(self, agent: str) -> None:
        if agent in self.free:
            self.set(agent, 0, 0.0)
            del self.free[agent]
            del self.since[agent]

    def has_free(self) -> bool:
        return self.top > 0

    def candidates(self) -> Iterator[str]:
        """Every agent with free slots (for decision hooks; O(n))."""
        return (a for a, f in self.free.items() if f > 0)

    def pick(self, strategy: Strategy, excluded: frozenset[str] | set[str]) -> str | None:
        """The agent the strategy chooses, skipping ``excluded``; None if nobody is free."""
        if strategy is Strategy.MOST_AVAILABLE:
            for level in range(self.top, 0, -1):
                for agent in self.buckets.get(level, ()):
                    if agent not in excluded:
                        return agent  # first in the bucket: the longest at this level
            return None
        if strategy is Strategy.ROUND_ROBIN:
            for agent in self.rr:
                if agent not in excluded:
                    del self.rr[agent]
                    self.rr[agent] = None  # to the end of the rotation
                    return agent
            return None
        # longest idle: drop entries of agents with no free slot (pushed again when free),
        # correct the clocks that moved forward, skip the excluded
        heap = self.idle_heap
        skipped: list[tuple[float, str]] = []
        chosen = None
        while heap:
            since, agent = heap[0]
            if self.free.get(agent, 0) <= 0:
                heapq.heappop(heap)
                continue
            current = self.since[agent]
            if since != current:
                heapq.heapreplace(heap, (current, agent))
                continue
            if agent in excluded:
                skipped.append(heapq.heappop(heap))
                continue
            chosen = agent
            break
        for entry in skipped:
            heapq.heappush(heap, entry)
        return chosen
