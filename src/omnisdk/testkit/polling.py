"""Waiting in a test for something another task or process does: :func:`wait_for`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(
    predicate: Callable[[], Awaitable[T]], timeout: float = 10.0, *, interval: float = 0.05
) -> T:
    """Await ``predicate()`` every ``interval`` seconds until it returns something truthy, and
    return that.

    Raises:
        AssertionError: still falsy after ``timeout`` seconds (the test fails, it does not hang).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := await predicate()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting {timeout:g} s")
        await asyncio.sleep(interval)
    return value


__all__ = ["wait_for"]
