#!/usr/bin/env python
"""What messaging profiles cost the processing of inbound SMS, beside the same processing
without them, in one run.

    .venv/bin/python bench/profiles.py            # about 1 minute on 2 cores
    .venv/bin/python bench/profiles.py --quick    # fewer events and rounds, a smoke test

One side is one round: a fresh runtime on a fresh SQLite file (``synchronous=NORMAL``) with the
sms plugin's account, the user directory imported (``--users`` users, two phones each, one in
ten of the customers' numbers on it, a few on two users: the conflicts), then ``--events``
inbound messages appended to the inbox, each from another number, so that each opens an
interaction (the case the matching runs for), and ``processor.drain()`` timed
(``time.perf_counter``).  The events are the plugin's recorded ``inbound_sms.form`` parsed by
the adapter, with only ``From`` and the SIDs changed.

- **profiles**: the core as released (each new SMS interaction matched: directory lookup by
  phone, the number's active profile, a profile written).
- **without**: the same, with ``PROFILE_CHANNELS`` emptied for the round (no matching at all):
  the floor this feature adds to.

Rounds alternate between the sides; the best round of each is kept.  Printed: µs per new SMS
interaction for each side and their ratio; target: the ratio at most 1.35 (profiles cost at
most 35 % of what processing a new SMS interaction already costs).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from harness import machine_busy, revision

from omnisdk import recordings
from omnisdk.adapters import WebhookRequest
from omnisdk.config import Settings
from omnisdk.model import DirectoryUser
from omnisdk.runtime import Runtime
from omnisdk.threading import conversations
from omnisdk_sms import TwilioSmsAdapter

TARGET = 1.35
SID = b"SM25b73341926eace5a6cc9906e519f19e"
FROM = b"From=%2B12065550142"
URL = "https://hooks.example.com/webhooks/sms/acme"
FORM = "application/x-www-form-urlencoded"


def events(adapter: TwilioSmsAdapter, count: int) -> list:
    body = {r.name: r for r in recordings.load(TwilioSmsAdapter.recordings)}["inbound_sms"].body
    out = []
    for i in range(count):
        phone = f"+1206{i:07d}".encode()
        changed = body.replace(SID, f"SM{i:032x}".encode()).replace(FROM, b"From=%2B" + phone[1:])
        signed = {k.lower(): v for k, v in adapter.sign(URL, changed, FORM).items()}
        req = WebhookRequest("POST", URL, {"content-type": FORM, **signed}, changed,
                             received_at="2026-12-03T10:00:00Z")
        adapter.verify(req)
        out.extend(adapter.parse(req))
    return out


def directory(users: int, events: int) -> list[DirectoryUser]:
    out = []
    for i in range(users):
        phones = [f"+1312{i:07d}", f"+1415{i:07d}"]
        if i % 10 == 0 and i < events:  # one customer in ten is on the directory
            phones.append(f"+1206{i:07d}")
        out.append(DirectoryUser(f"u-{i}", f"User {i}", tuple(phones), ()))
    out.append(DirectoryUser("u-twin", "Twin", ("+12060000000",), ()))  # a conflict: two users on one number
    return out


async def round_(folder: Path, evs: list, users: list[DirectoryUser], with_profiles: bool) -> float:
    settings = Settings(store={"url": f"sqlite:///{folder / 'bench.db'}", "synchronous": "NORMAL"},
                        routing={"queues": [{"name": "support"}]},
                        accounts={"sms": {"acme": TwilioSmsAdapter.example_settings()}})
    rt = Runtime(settings)
    await rt.store.open()
    saved = conversations.PROFILE_CHANNELS
    if not with_profiles:
        conversations.PROFILE_CHANNELS = frozenset()
    try:
        await rt.processor.restore()
        await rt.store.transact(lambda tx: tx.save_directory_users(users))
        await rt.store.append_inbox(evs, "2026-12-03T10:00:00Z")
        started = time.perf_counter()
        await rt.processor.drain()
        elapsed = time.perf_counter() - started
        made = len(await rt.interactions())
        assert made == min(len(evs), 1000), made
        if with_profiles:
            stats = await rt.stats()
            assert stats.get("profiles.new", 0) + stats.get("profiles.directory", 0) + \
                stats.get("profiles.conflict", 0) == len(evs), stats
        return elapsed
    finally:
        conversations.PROFILE_CHANNELS = saved
        await rt.store.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1000, help="inbound messages per round, each a new number (1000)")
    ap.add_argument("--users", type=int, default=10000, help="users in the directory (10000)")
    ap.add_argument("--rounds", type=int, default=7, help="rounds per side, interleaved; best kept (7)")
    ap.add_argument("--quick", action="store_true", help="200 events, 3 rounds")
    args = ap.parse_args()
    if args.quick:
        args.events, args.rounds = 200, 3
    args.events = min(args.events, 1000)  # rt.interactions() lists at most 1,000
    adapter = TwilioSmsAdapter("acme", TwilioSmsAdapter.example_settings())
    evs = events(adapter, args.events)
    users = directory(args.users, args.events)
    best = {True: float("inf"), False: float("inf")}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.rounds):
            for side in (n % 2 == 0, n % 2 == 1):
                folder = Path(tmp) / f"r{n}-{int(side)}"
                folder.mkdir()
                best[side] = min(best[side], asyncio.run(round_(folder, evs, users, side)))
    ours, floor = (best[s] / args.events * 1e6 for s in (True, False))
    ratio = ours / floor
    print(f"bench/profiles.py {revision()}; {args.events} new SMS interactions per round, {args.users} "
          f"directory users, best of {args.rounds} interleaved rounds; load {machine_busy():.2f}")
    print(f"  profiles  {ours:8.1f} µs per new SMS interaction")
    print(f"  without   {floor:8.1f} µs per new SMS interaction")
    print(f"  ratio     {ratio:8.2f}x (target <= {TARGET}x): {'PASS' if ratio <= TARGET else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
