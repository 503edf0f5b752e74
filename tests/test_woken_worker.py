"""The woken worker base: a wake runs a pass at once, a failing pass does not end the loop,
stop cancels it, and poll_interval runs passes nobody asked for."""

from __future__ import annotations

import asyncio
import logging

from omnisdk.woken_worker import WokenWorker

NAME = "omnisdk-test-worker"
WAIT = 5.0  # seconds a test waits for a pass before it fails (never a timing assertion)


class Recorder(WokenWorker):
    """Counts its passes; ``results`` are what the next ones return (or raise), then 0."""

    def __init__(
        self,
        *,
        poll_interval: float | None = None,
        results: list[object] | None = None,
        retry: float | None = None,
    ) -> None:
        super().__init__(
            NAME, log=logging.getLogger("omnisdk.test.woken"), poll_interval=poll_interval
        )
        self.results = list(results or [])
        self.retry = retry
        self.calls: asyncio.Queue[int] = asyncio.Queue()
        self.failures: list[Exception] = []
        self.count = 0

    async def run_once(self) -> int:
        self.count += 1
        self.calls.put_nowait(self.count)
        result = self.results.pop(0) if self.results else 0
        if isinstance(result, Exception):
            raise result
        assert isinstance(result, int)
        return result

    def pass_failed(self, exc: Exception) -> float | None:
        self.failures.append(exc)
        return self.retry if self.retry is not None else super().pass_failed(exc)


async def calls(worker: Recorder, n: int) -> list[int]:
    """The next ``n`` calls of ``run_once``, waiting up to :data:`WAIT` seconds for them."""
    async with asyncio.timeout(WAIT):
        return [await worker.calls.get() for _ in range(n)]


async def idle(worker: Recorder) -> None:
    """Let the loop run until it waits again (a few turns of the event loop, no clock)."""
    for _ in range(10):
        await asyncio.sleep(0)


async def test_start_runs_a_pass_at_once_until_it_returns_0_and_a_wake_runs_the_next():
    worker = Recorder(results=[2, 1])  # no poll_interval: only a wake starts a pass
    worker.start()
    try:
        assert await calls(worker, 3) == [1, 2, 3]  # 2, 1, then 0: the pass is over
        await idle(worker)
        assert worker.calls.empty()
        worker.wake()
        assert await calls(worker, 1) == [4]
    finally:
        await worker.stop()


async def test_a_pass_that_raises_is_logged_and_the_loop_goes_on(caplog):
    worker = Recorder(results=[RuntimeError("boom")])
    with caplog.at_level(logging.ERROR, logger="omnisdk.test.woken"):
        worker.start()
        try:
            assert await calls(worker, 1) == [1]
            await idle(worker)
            worker.wake()
            assert await calls(worker, 1) == [2]
        finally:
            await worker.stop()
    assert [str(e) for e in worker.failures] == ["boom"]
    assert [r.getMessage() for r in caplog.records] == [f"{NAME}: pass failed"]
    assert caplog.records[0].exc_info is not None


async def test_a_failure_with_a_delay_runs_the_next_pass_without_a_wake():
    worker = Recorder(results=[RuntimeError("one"), RuntimeError("two")], retry=0.0)
    worker.start()
    try:
        assert await calls(worker, 3) == [1, 2, 3]  # no wake() after the first
    finally:
        await worker.stop()
    assert [str(e) for e in worker.failures] == ["one", "two"]


async def test_stop_cancels_a_running_pass_and_ends_the_task():
    entered, cancelled = asyncio.Event(), asyncio.Event()

    class Stuck(Recorder):
        async def run_once(self) -> int:
            entered.set()
            try:
                await asyncio.Event().wait()  # never set
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return 0

    worker = Stuck()
    worker.start()
    worker.start()  # a second start while running makes no second task
    assert [t.get_name() for t in asyncio.all_tasks()].count(NAME) == 1
    assert worker.running
    async with asyncio.timeout(WAIT):
        await entered.wait()
    await worker.stop()
    assert cancelled.is_set() and not worker.running
    assert NAME not in [t.get_name() for t in asyncio.all_tasks()]
    await worker.stop()  # stopping a stopped worker does nothing


async def test_poll_interval_runs_passes_without_a_wake():
    worker = Recorder(poll_interval=0.01)
    worker.start()
    try:
        assert await calls(worker, 3) == [1, 2, 3]  # the first from start(), then the interval's
    finally:
        await worker.stop()


async def test_poll_interval_is_read_before_each_wait():
    worker = Recorder()  # None: waits for a wake
    worker.start()
    try:
        assert await calls(worker, 1) == [1]
        await idle(worker)
        worker.poll_interval = 0.01  # the worker waiting now has no interval: wake it once
        worker.wake()
        assert await calls(worker, 3) == [2, 3, 4]  # then the interval runs the next ones
    finally:
        await worker.stop()


async def test_a_start_after_a_stop_that_was_cancelled_runs_a_new_loop():
    release = asyncio.Event()

    class SlowToStop(Recorder):
        async def run_once(self) -> int:
            await super().run_once()
            if self.count == 1:
                try:
                    await asyncio.Event().wait()  # never set
                except asyncio.CancelledError:
                    await release.wait()  # the first loop ends only when released
                    raise
            return 0

    worker = SlowToStop()
    worker.start()
    assert await calls(worker, 1) == [1]
    stopping = asyncio.create_task(worker.stop())
    await idle(worker)
    stopping.cancel()  # the caller of stop is cancelled while the loop still ends
    await asyncio.wait([stopping])
    worker.start()
    try:
        assert await calls(worker, 1) == [2]  # a new loop, not the one still ending
    finally:
        release.set()
        await worker.stop()
    assert not worker.running
