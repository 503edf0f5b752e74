"""The gateway's coarse body deadlines (``omnisdk.gateway.deadlines``): a stalled read is cut off
between ``timeout`` and ``timeout + tick``; finished reads and other cancellations are left alone.
End to end over sockets: ``tests/test_slow_clients.py``."""

from __future__ import annotations

import asyncio
import time

import pytest

from omnisdk.gateway.deadlines import MAX_TICK_SECONDS, BodyDeadlines


async def _read(deadlines: BodyDeadlines, body: asyncio.Future[bytes]) -> bytes:
    task = deadlines.begin()
    try:
        return await body
    except asyncio.CancelledError:
        if deadlines.cut_off(task):
            raise TimeoutError("cut off") from None
        raise
    finally:
        deadlines.end(task)


async def test_a_stalled_read_is_cut_off_after_its_timeout_and_before_one_tick_more():
    deadlines = BodyDeadlines(0.2)
    never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="cut off"):
        await _read(deadlines, never)
    took = time.monotonic() - started
    assert 0.2 <= took <= 0.2 + deadlines.tick + 0.5  # slack for a loaded machine
    assert len(deadlines) == 0


async def test_the_task_that_was_cut_off_is_no_longer_cancelling():
    deadlines = BodyDeadlines(0.1)
    never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    with pytest.raises(TimeoutError):
        await _read(deadlines, never)
    assert asyncio.current_task().cancelling() == 0
    await asyncio.sleep(0)  # a later await in the same task is not cancelled


async def test_a_read_that_finishes_in_time_is_never_cancelled():
    deadlines = BodyDeadlines(0.2)
    loop = asyncio.get_running_loop()
    body: asyncio.Future[bytes] = loop.create_future()
    loop.call_later(0.05, body.set_result, b"whole")
    assert await _read(deadlines, body) == b"whole"
    await asyncio.sleep(0.2 + deadlines.tick * 2)  # sweeps after the read must not touch the task
    assert asyncio.current_task().cancelling() == 0


async def test_another_cancellation_goes_through_unchanged():
    deadlines = BodyDeadlines(5.0)
    never: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(_read(deadlines, never))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(deadlines) == 0


async def test_many_stalled_reads_are_all_cut_off_and_fast_ones_are_not():
    deadlines = BodyDeadlines(0.2)
    loop = asyncio.get_running_loop()
    stalled = [asyncio.create_task(_read(deadlines, loop.create_future())) for _ in range(50)]
    fast = []
    for i in range(50):
        body = loop.create_future()
        loop.call_later(0.01, body.set_result, str(i).encode())
        fast.append(asyncio.create_task(_read(deadlines, body)))
    results = await asyncio.gather(*stalled, *fast, return_exceptions=True)
    assert all(isinstance(r, TimeoutError) for r in results[:50])
    assert results[50:] == [str(i).encode() for i in range(50)]
    assert len(deadlines) == 0


def test_the_sweep_is_armed_again_on_a_new_event_loop():
    deadlines = BodyDeadlines(0.1)

    async def stalled() -> None:
        read = _read(deadlines, asyncio.get_running_loop().create_future())
        with pytest.raises(TimeoutError, match="cut off"):  # not wait_for's own timeout
            await asyncio.wait_for(read, 3.0)

    async def finished_while_a_sweep_is_pending() -> None:
        body = asyncio.get_running_loop().create_future()
        body.set_result(b"x")
        await _read(deadlines, body)

    asyncio.run(finished_while_a_sweep_is_pending())  # the loop closes with a sweep scheduled
    asyncio.run(stalled())  # a fresh loop must get its own sweep


@pytest.mark.parametrize("timeout, tick", [(0.1, 0.05), (2.0, 0.5), (10.0, MAX_TICK_SECONDS), (600, MAX_TICK_SECONDS)])
def test_the_tick_is_a_quarter_of_the_timeout_within_bounds(timeout, tick):
    assert BodyDeadlines(timeout).tick == tick


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
def test_the_timeout_must_be_positive(timeout):
    with pytest.raises(ValueError, match="timeout must be > 0"):
        BodyDeadlines(timeout)


def test_begin_outside_a_task_is_refused():
    with pytest.raises(RuntimeError):
        BodyDeadlines(1.0).begin()
