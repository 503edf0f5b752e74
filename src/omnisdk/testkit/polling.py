"""Waiting in a test for something another task or process does: :func:`wait_for`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(
    predicate: Callable[[], Awaitable[T] | T], timeout: float = 10.0, *, interval: float = 0.05
) -> T:
    """Call ``predicate()`` every ``interval`` seconds, awaiting its answer when it is
    awaitable (an ``async def`` or a plain function both do), until that answer is truthy,
    and return it.  ``timeout`` is a bound on a wait, not a timing assertion.

    Raises:
        AssertionError: still falsy after ``timeout`` seconds (the test fails, it does not hang).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting {timeout:g} s")
        await asyncio.sleep(interval)


__all__ = ["wait_for"]
