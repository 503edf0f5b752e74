#!/usr/bin/env python
"""Events out (core events to NATS JetStream through the bus outbox), beside its floors, in one run.

    .venv/bin/python bench/events_out.py            # NATS at 127.0.0.1:4222, about 30 s
    .venv/bin/python bench/events_out.py --quick    # smaller counts, for a smoke test
    .venv/bin/python bench/events_out.py --nats nats://127.0.0.1:14222

1. Writing: a :class:`omnisdk.runtime.Runtime` with the test-only sample plugin on a temporary
   SQLite file (1 queue, 200 agents with chat capacity 50), ``--events`` message events from
   distinct customers appended to the inbox (untimed), then ``processor.drain()`` timed:
   routed interactions/s with ``[bus]`` set (every core event of each transaction written to
   ``bus_outbox`` before its commit; the publisher is not started) beside the same run without
   ``[bus]``.  The ratio is what events out costs the core.
2. Publishing: the rows part 1 queued, drained by :class:`omnisdk.bus.events_out.EventsPublisher`
   (claim 256, publish pipelined, delete after the PubAcks), events/s; beside it the floor of the
   same process publishing the same bodies with nats-py alone (``js.publish`` pipelined 256 at a
   time, same headers, no store).  Both on streams of their own, deleted after.

Nothing here is a pass/fail target (the issue sets none for events out): the ratios say where
the time goes.  Run on a quiet machine; other work on the 2 cores moves both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "plugins_for_tests"))

import nats  # noqa: E402
from sample_wire import make_settings, message_event  # noqa: E402

from omnisdk.bus.events_out import CONTENT_TYPE, EventsPublisher  # noqa: E402
from omnisdk.bus.settings import BusSettings  # noqa: E402
from omnisdk.config import Settings  # noqa: E402
from omnisdk.runtime import Runtime  # noqa: E402


def settings_for(tmp: Path, bus: BusSettings | None) -> Settings:
    base = make_settings(tmp, queues=[{"name": "support"}],
                         agents=[{"id": f"a{n}", "capacity": {"chat": 50}} for n in range(200)])
    doc = base.model_dump(mode="json", exclude={"bus"})
    if bus is not None:
        doc["bus"] = bus.model_dump()
    return Settings.model_validate(doc)


async def route(tmp: Path, events: int, bus: BusSettings | None) -> tuple[float, Runtime]:
    """Routed interactions/s of one drain; the runtime (store open) for what follows."""
    rt = Runtime(settings_for(tmp, bus))
    await rt.store.open()
    await rt.processor.restore()
    for start in range(0, events, 500):
        await rt.store.append_inbox([message_event(n, customer=f"+1555{n:07d}") for n in range(start, min(events, start + 500))],
                                    "2026-01-01T00:00:00Z")
    t0 = time.perf_counter()
    await rt.processor.drain()
    return events / (time.perf_counter() - t0), rt


async def publish_floor(bus: BusSettings, bodies: list[tuple[str, str, bytes]]) -> float:
    nc = await nats.connect(bus.servers)
    js = nc.jetstream()
    stream = f"BENCH_FLOOR_{uuid.uuid4().hex[:8]}"
    prefix = f"benchfloor{uuid.uuid4().hex[:8]}"
    await js.add_stream(name=stream, subjects=[f"{prefix}.>"], duplicate_window=120.0)
    try:
        t0 = time.perf_counter()
        for start in range(0, len(bodies), 256):
            await asyncio.gather(*(js.publish(f"{prefix}.{etype}", body, timeout=5, stream=stream,
                                              headers={"Nats-Msg-Id": mid, "Content-Type": CONTENT_TYPE})
                                   for mid, etype, body in bodies[start:start + 256]))
        return len(bodies) / (time.perf_counter() - t0)
    finally:
        await js.delete_stream(stream)
        await nc.close()


async def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--events", type=int, default=5000)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = p.parse_args()
    events = 1000 if args.quick else args.events
    uid = uuid.uuid4().hex[:8]
    bus = BusSettings(url=args.nats, inbox_stream=f"BENCH_IN_{uid}", inbox_subject=f"bench{uid}.inbox",
                      events_stream=f"BENCH_EV_{uid}", events_subject=f"bench{uid}.events")
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        plain, rt0 = await route(Path(a), events, None)
        await rt0.store.close()
        with_bus, rt = await route(Path(b), events, bus)
        try:
            rows = await rt.store.transact(lambda tx: tx.bus_events(limit=10**9))
            publisher = EventsPublisher(rt.store, bus)
            t0 = time.perf_counter()
            published = 0
            while n := await publisher.run_once():
                published += n
            publish_rate = published / (time.perf_counter() - t0)
            await publisher.stop()
        finally:
            await rt.store.close()
    floor = await publish_floor(bus, [(r.msg_id, r.event_type, r.payload) for r in rows])
    nc = await nats.connect(bus.servers)
    for name in (bus.inbox_stream, bus.events_stream):
        await nc.jetstream().delete_stream(name)
    await nc.close()
    print(f"events out, {events} routed interactions, {len(rows)} core events ({len(rows) / events:.1f} per interaction)")
    print(f"1. routing with [bus]   {with_bus:9,.0f} interactions/s   without  {plain:9,.0f}/s   ratio {with_bus / plain:.2f}")
    print(f"2. EventsPublisher      {publish_rate:9,.0f} events/s         nats-py  {floor:9,.0f}/s   ratio {publish_rate / floor:.2f}"
          f"   (published {published} of {len(rows)})")
    return 0 if published == len(rows) else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
