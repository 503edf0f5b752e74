#!/usr/bin/env python
"""Where the Messenger row of ``bench/ingest.py`` spends its time, in floors, in one run.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/messenger_breakdown.py            # about 1 minute on 2 cores
    .venv/bin/python bench/messenger_breakdown.py --quick    # 3 repeats of 0.1 s: a smoke test

Same bodies, signatures and floor as ``bench/ingest.py`` (``omnisdk.recordings.load(
MessengerAdapter.recordings)``, each signed with ``adapter.sign()``; :func:`ingest.meta_floor`).
Every side is one pass over all bodies, timed with :func:`harness.measure` (best of
``--repeat`` interleaved repeats, gc enabled, wall time), and printed as µs per body and as a
multiple of the floor measured in the same run.  The sides:

floor parts
    ``hmac`` alone (``hmac.new(key, body, sha256).hexdigest()`` compared with
    ``hmac.compare_digest``), ``orjson.loads`` alone, and the core's bounded decoder
    ``omnisdk.payloads.loads`` (size and nesting limits, then orjson), which every JSON plugin
    must use (``docs/security.md``, "Limits").
minimal events
    the least any translator into CloudEvents does on top of the floor: per body the floor's
    HMAC check and ``orjson.loads``, then per messaging item one :class:`omnisdk.events.Event`
    (``id``, ``source``, ``type``, ``time`` from the item's milliseconds, ``partitionkey``,
    ``data`` = a six-key dict around the raw item) and ``omnisdk.events.dumps``.  No type check,
    no refusal, no normalisation: not a correct translator, a lower bound for one.
ours, by part
    ``adapter.verify`` alone, ``adapter.parse`` alone, ``dumps`` of the parsed events alone,
    and the three together (``ingest.ours_pass``, the row of ``bench/ingest.py``).

Prints the figures only; the target (≤ 2.5× the floor) is judged by ``bench/ingest.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from harness import machine_busy, measure, revision, self_cpu
from ingest import MESSENGER_URL, meta_floor, ours_pass, signed_requests

from omnisdk import payloads, recordings
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event, dumps
from omnisdk_messenger.adapter import MessengerAdapter
from omnisdk_messenger.translate import ms_to_rfc3339


@dataclass
class Side:
    label: str
    fn: Callable[[], int]
    number: int = 0
    best: float = float("inf")  # seconds per pass


def minimal_events(key: bytes, pairs: list[tuple[bytes, str]], source: str) -> Callable[[], int]:
    """One pass of the lower bound described in the module docstring; returns the events made."""
    new, sha256, same, loads = hmac.new, hashlib.sha256, hmac.compare_digest, orjson.loads
    account_key = source.removeprefix("/")

    def run() -> int:
        n = 0
        for body, sig in pairs:
            if not same(sig, "sha256=" + new(key, body, sha256).hexdigest()):
                raise AssertionError("a signature made by adapter.sign() did not verify")
            for entry in loads(body)["entry"]:
                page, etime = entry["id"], entry["time"]
                for item in entry.get("messaging") or entry.get("standby") or ():
                    psid = (item.get("sender") or {}).get("id")
                    ts = item.get("timestamp") or etime
                    t = ms_to_rfc3339(ts)
                    data = {"channel": "messenger", "customer": psid, "business": page, "sent_at": t,
                            "kind": "raw", "extra": item}
                    dumps(Event(f"{psid}:{ts}", source, TYPE_MESSAGE_RECEIVED, data, t, None,
                                f"{account_key}:messenger:{page}:{psid}"))
                    n += 1
        return n

    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9, help="interleaved repeats, best kept (9)")
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per repeat and side (0.3)")
    ap.add_argument("--quick", action="store_true", help="3 repeats of 0.1 s: a smoke test")
    args = ap.parse_args()
    if args.quick:
        args.repeat, args.min_time = 3, 0.1

    cls = MessengerAdapter
    settings = cls.example_settings()
    adapter = cls("bench", cls.Settings(**settings))
    recs = recordings.load(cls.recordings)
    reqs = signed_requests(adapter, recs, MESSENGER_URL)
    sigs = [r.headers["x-hub-signature-256"] for r in reqs]
    key = settings["app_secret"].encode("utf-8")
    bodies = [r.body for r in reqs]
    pairs = list(zip(bodies, sigs, strict=True))
    floor, _ = meta_floor(settings["app_secret"], recs, sigs)
    events = [e for r in reqs for e in adapter.parse(r)]
    verify, parse = adapter.verify, adapter.parse
    new, sha256, same = hmac.new, hashlib.sha256, hmac.compare_digest
    digests = [(b, s.removeprefix("sha256=").encode("ascii")) for b, s in pairs]

    def hmac_only() -> int:
        return sum(same(new(key, b, sha256).hexdigest().encode("ascii"), d) for b, d in digests)

    def loads_only() -> int:
        return sum(1 for b in bodies if orjson.loads(b) is not None)

    def bounded_loads() -> int:
        return sum(1 for b in bodies if payloads.loads(b) is not None)

    def verify_only() -> int:
        for r in reqs:
            verify(r)
        return len(reqs)

    def parse_only() -> int:
        return sum(len(parse(r)) for r in reqs)

    def dumps_only() -> int:
        for e in events:
            dumps(e)
        return len(events)

    minimal = minimal_events(key, pairs, adapter.source)
    sides = [
        Side("floor (hmac + orjson.loads)", floor),
        Side("  hmac alone", hmac_only),
        Side("  orjson.loads alone", loads_only),
        Side("  payloads.loads (bounded)", bounded_loads),
        Side(f"minimal events ({minimal()} events)", minimal),
        Side("ours: verify", verify_only),
        Side(f"ours: parse ({parse_only()} events)", parse_only),
        Side("ours: dumps", dumps_only),
        Side("ours: verify + parse + dumps", ours_pass(adapter, reqs)),
    ]

    print(f"messenger ingest breakdown — omnisdk {revision()}")
    print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
          f"{len(bodies)} bodies; best of {args.repeat} interleaved repeats of >= {args.min_time} s per side")
    b0 = machine_busy()
    time.sleep(1.0)
    before = machine_busy() - b0
    b0, c0, t0 = machine_busy(), self_cpu(), time.monotonic()
    measure(sides, args.repeat, args.min_time)
    during = ((machine_busy() - b0) - (self_cpu() - c0)) / (time.monotonic() - t0)
    print(f"other processes: {before:.2f} cores busy before, {max(0.0, during):.2f} during the "
          "measurement" + ("  WARNING: figures may be noisy" if max(before, during) > 0.2 else ""))
    print()
    base = sides[0].best
    for s in sides:
        print(f"{s.label:<36} {s.best / len(bodies) * 1e6:8.2f} µs/body {s.best / base:6.2f}x floor")
    return 0


if __name__ == "__main__":
    sys.exit(main())
