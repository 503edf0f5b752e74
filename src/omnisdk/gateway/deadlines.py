"""Coarse deadlines for webhook body reads: one sweep timer for all reads, not one timer each.

``asyncio.timeout()`` arms and cancels a timer per call, about 6 µs per webhook on the
development machine (``python bench/body_deadline.py`` prints it against a plain read), while
almost every webhook's body arrives with its head and the deadline never fires.
:class:`BodyDeadlines` records each read's deadline in a dict instead, and one sweep every
``tick`` seconds, armed only while reads are open, cancels the reads past theirs.  A read is
therefore cut off between ``timeout`` and ``timeout + tick`` seconds after it began.

Use (inside the reading task)::

    task = deadlines.begin()
    try:
        body = await read()
    except asyncio.CancelledError:
        if deadlines.cut_off(task):
            raise RequestTimeoutError(...) from None
        raise
    finally:
        deadlines.end(task)
"""

from __future__ import annotations

import asyncio

MAX_TICK_SECONDS = 1.0
"""Longest interval between sweeps (seconds): the most a deadline can be late by."""
MIN_TICK_SECONDS = 0.05


class BodyDeadlines:
    """Deadlines of the body reads in progress on one event loop.

    Args:
        timeout: seconds a read may take (``[gateway] body_timeout``, > 0).

    Attributes:
        timeout: as given.
        tick: seconds between sweeps: a quarter of ``timeout``, within 0.05–1 s.
    """

    def __init__(self, timeout: float) -> None:
        if not timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds, not {timeout!r}")
        self.timeout = float(timeout)
        self.tick = min(MAX_TICK_SECONDS, max(MIN_TICK_SECONDS, self.timeout / 4))
        self._reads: dict[asyncio.Task[object], float] = {}
        self._cut: set[asyncio.Task[object]] = set()
        self._armed_on: asyncio.AbstractEventLoop | None = None
        """The loop a sweep is scheduled on (a test may run the endpoint on several loops)."""

    def __len__(self) -> int:
        """Reads in progress."""
        return len(self._reads)

    def begin(self) -> asyncio.Task[object]:
        """Start the current task's read; its deadline is ``timeout`` seconds from now.

        Returns the task, to pass to :meth:`cut_off` and :meth:`end`.
        Raises RuntimeError outside a task."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("BodyDeadlines.begin() must run inside an asyncio task")
        loop = asyncio.get_running_loop()
        self._reads[task] = loop.time() + self.timeout
        if self._armed_on is not loop:
            self._armed_on = loop
            loop.call_later(self.tick, self._sweep, loop)
        return task

    def cut_off(self, task: asyncio.Task[object]) -> bool:
        """True when ``task`` was cancelled by its deadline; that cancellation is then undone
        (``Task.uncancel``), so the caller can answer 408 instead.  False for any other
        cancellation, which the caller must let through."""
        if task in self._cut:
            self._cut.discard(task)
            task.uncancel()
            return True
        return False

    def end(self, task: asyncio.Task[object]) -> None:
        """The read of ``task`` is over (whole, refused or cut off)."""
        self._reads.pop(task, None)
        self._cut.discard(task)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for task, deadline in list(self._reads.items()):
            if deadline <= now and task not in self._cut:
                self._cut.add(task)
                task.cancel()
        if self._reads:
            loop.call_later(self.tick, self._sweep, loop)
        else:
            self._armed_on = None
