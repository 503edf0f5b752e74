#!/usr/bin/env python
"""What a webhook body deadline costs per request, in one run.

    .venv/bin/python bench/body_deadline.py              # ~10 s
    .venv/bin/python bench/body_deadline.py --reads 100000 --rounds 7

Each read awaits one ASGI ``receive()`` whose whole body is already there (head and body in one
packet: almost every webhook), as ``WebhookEndpoint.read_body`` does, on uvloop when installed
(as ``omnisdk serve`` runs).  Variants, interleaved round by round so that machine noise hits all
of them alike:

- ``no deadline``: the floor;
- ``asyncio.timeout``: a timer armed and cancelled per read (how read_body ran first);
- ``BodyDeadlines``: a dict entry per read and one sweep timer for all of them
  (:mod:`omnisdk.gateway.deadlines`, how read_body runs now).

Prints the median µs per read of each variant and its cost over the floor, measured in this run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from omnisdk.gateway.deadlines import BodyDeadlines

MESSAGE = {"type": "http.request", "body": b"x" * 600, "more_body": False}
TIMEOUT = 10.0


async def receive() -> dict[str, object]:
    return MESSAGE


async def no_deadline() -> bytes:
    return (await receive())["body"]  # type: ignore[return-value]


async def with_asyncio_timeout() -> bytes:
    async with asyncio.timeout(TIMEOUT):
        return (await receive())["body"]  # type: ignore[return-value]


DEADLINES = BodyDeadlines(TIMEOUT)


async def with_body_deadlines() -> bytes:
    task = DEADLINES.begin()
    try:
        return (await receive())["body"]  # type: ignore[return-value]
    except asyncio.CancelledError:
        if DEADLINES.cut_off(task):
            raise TimeoutError from None
        raise
    finally:
        DEADLINES.end(task)


VARIANTS: list[tuple[str, Callable[[], Awaitable[bytes]]]] = [
    ("no deadline", no_deadline),
    ("asyncio.timeout", with_asyncio_timeout),
    ("BodyDeadlines", with_body_deadlines),
]


async def one_round(read: Callable[[], Awaitable[bytes]], reads: int) -> float:
    t = time.perf_counter()
    for _ in range(reads):
        await read()
    return (time.perf_counter() - t) / reads * 1e6


async def main(reads: int, rounds: int) -> None:
    results: dict[str, list[float]] = {name: [] for name, _ in VARIANTS}
    for _ in range(rounds):
        for name, read in VARIANTS:
            results[name].append(await one_round(read, reads))
    floor = statistics.median(results["no deadline"])
    loop = type(asyncio.get_running_loop()).__module__
    print(f"{reads:,} reads x {rounds} rounds per variant, loop {loop}")
    for name, _ in VARIANTS:
        us = statistics.median(results[name])
        print(f"  {name:<16} {us:6.2f} µs/read   +{us - floor:5.2f} µs over the floor   x{us / floor:.1f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reads", type=int, default=50_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(args.reads, args.rounds))
    else:
        uvloop.run(main(args.reads, args.rounds))
