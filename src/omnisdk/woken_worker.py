"""The woken worker: :class:`WokenWorker`, the base of the background loops that run passes
when something wakes them, and at least every ``poll_interval`` seconds.

The outbox, the outgoing webhook deliveries, events out and the processor's inbox all have the
same shape: :meth:`WokenWorker.wake` says new work is durable; the loop waits for that (or for
``poll_interval`` seconds), then calls :meth:`WokenWorker.run_once` until it returns 0.  A pass
that raises is handed to :meth:`WokenWorker.pass_failed`, which logs it and may ask for a pause
before the next pass (a backoff); it never ends the loop.  Only :meth:`WokenWorker.stop` does.
"""

from __future__ import annotations

import asyncio
import logging


class WokenWorker:
    """A loop of passes, woken by :meth:`wake` or by ``poll_interval``.

    Subclasses implement :meth:`run_once`, and may override :meth:`pass_failed` (a backoff),
    :meth:`start` and :meth:`stop` (calling these) for what they open and close around the loop.

    Args:
        name: the task's name (``omnisdk-outbox`` …), and what the failure log says.
        log: where a failed pass is logged.
        poll_interval: seconds between passes when nothing wakes the worker (work another
            process queued, retries come due); None: only :meth:`wake` starts a pass.  Read
            before each wait, so it may be changed while the worker runs.
    """

    def __init__(
        self, name: str, *, log: logging.Logger, poll_interval: float | None = 1.0
    ) -> None:
        self.poll_interval = poll_interval
        self._name = name
        self._log = log
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Started and not stopped since."""
        return self._task is not None

    def wake(self) -> None:
        """New work is durable: run a pass now (or right after the one running)."""
        self._wake.set()

    def start(self) -> None:
        """Run the loop as a task of the running loop, with a first pass at once (work left by
        an earlier run).  A second call while it runs does nothing; a call after a stop that
        was itself cancelled (the old task still ending) starts a new task."""
        task = self._task
        if task is None or task.done() or task.cancelling():
            self._wake.set()
            self._task = asyncio.create_task(self._loop(), name=self._name)

    async def stop(self) -> None:
        """Cancel the loop (a pass running is cut short) and wait until it has ended."""
        task = self._task
        if task is not None:
            task.cancel()
            await asyncio.wait([task])  # not await: a cancel of the caller still propagates
            if self._task is task:  # not started again meanwhile
                self._task = None

    async def run_once(self) -> int:
        """One pass; how much it did (0: nothing to do, the loop waits for the next wake)."""
        raise NotImplementedError

    def pass_failed(self, exc: Exception) -> float | None:
        """A pass raised ``exc`` (called inside the ``except``): log it, and return the seconds
        to wait before the next pass (which then runs without a wake), or None to wait as usual
        for a wake or ``poll_interval``.  This one logs the traceback and returns None."""
        self._log.exception("%s: pass failed", self._name)
        return None

    async def _loop(self) -> None:
        while True:
            await self._wait()
            try:
                while await self.run_once():
                    pass
            except Exception as exc:  # a failing pass must not end the worker
                delay = self.pass_failed(exc)
                if delay is not None:
                    await asyncio.sleep(delay)
                    self._wake.set()

    async def _wait(self) -> None:
        """Until :meth:`wake` was called, or ``poll_interval`` seconds have passed."""
        if self.poll_interval is None:
            await self._wake.wait()
        else:
            try:  # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancel
                async with asyncio.timeout(self.poll_interval):  # that arrives as the wake-up does
                    await self._wake.wait()
            except TimeoutError:
                pass
        self._wake.clear()


__all__ = ["WokenWorker"]
