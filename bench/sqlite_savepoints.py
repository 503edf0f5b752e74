#!/usr/bin/env python
"""What a savepoint costs the processor's writes, on the store's own schema, in one run.

    .venv/bin/python bench/sqlite_savepoints.py            # ~10 s
    .venv/bin/python bench/sqlite_savepoints.py --events 5000

Each "event" runs the six statements the processor issues for a new customer message (the
active-interaction read, address, contact, interaction row, offer timer, message), in
transactions of ``--batch`` events, on a fresh WAL file per layout with the store's pragmas
(``synchronous=NORMAL``, 64 MiB cache, 256 MiB mmap).  Layouts:

- ``savepoint per event, temp_store=DEFAULT``: how the processor ran before (the savepoint
  journal goes to a temporary file);
- ``savepoint per event, temp_store=MEMORY``: the journal in memory;
- ``savepoint per batch, temp_store=MEMORY``: what the processor does now (optimistic batch).

Prints µs per event and each layout's ratio to the first, measured in this run.  Only SQLite is
timed: no pydantic, no routing (bench/routing.py times those end to end).
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import orjson

from omnisdk.ids import new_id
from omnisdk.store.sqlite.schema import INBOX_SCHEMA, SCHEMA

DOC = orjson.dumps({"channel": "whatsapp", "state": "offered", "pad": "p" * 600}).decode()
BODY = orjson.dumps({"text": "x" * 400}).decode()


def run(path: Path, temp_store: str, per_event: bool, events: int, batch: int) -> float:
    c = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536", "mmap_size=268435456",
                   f"temp_store={temp_store}"):
        c.execute(f"PRAGMA {pragma}")
    c.executescript(INBOX_SCHEMA.format(db=""))
    c.executescript(SCHEMA)
    t = time.perf_counter()
    for start in range(0, events, batch):
        c.execute("BEGIN IMMEDIATE")
        if not per_event:
            c.execute("SAVEPOINT batch")
        for i in range(start, min(start + batch, events)):
            if per_event:
                c.execute("SAVEPOINT item")
            customer = f"+1555{i:07d}"
            key = f"whatsapp:biz:{customer}"
            iid, cid = new_id(), new_id()
            c.execute("SELECT doc FROM interactions WHERE conversation_key = ? AND state != 'closed'", (key,)).fetchone()
            c.execute("INSERT OR IGNORE INTO addresses (channel, value, contact_id) VALUES ('whatsapp', ?, ?)",
                      (customer, cid))
            c.execute("INSERT INTO contacts (id, display_name, created_at) VALUES (?, 'n', '2026')", (cid,))
            c.execute("INSERT INTO interactions (id, conversation_key, state, agent, channel, created_at, doc)"
                      " VALUES (?, ?, 'offered', 'a1', 'whatsapp', '2026', ?)", (iid, key, DOC))
            c.execute("INSERT INTO timers (key, kind, due_at, interaction_id, data) VALUES (?, 'offer', ?, ?, '{}')",
                      (f"offer:{iid}", 1e9 + i, iid))
            c.execute("INSERT INTO messages (source, message_id, interaction_id, direction, kind, body, created_at)"
                      " VALUES ('/whatsapp/acme', ?, ?, 'inbound', 'text', ?, '2026')", (f"m-{i}", iid, BODY))
            if per_event:
                c.execute("RELEASE item")
        if not per_event:
            c.execute("RELEASE batch")
        c.execute("COMMIT")
    elapsed = time.perf_counter() - t
    c.close()
    return elapsed / events * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=256, help="events per transaction (the processor's batch)")
    args = ap.parse_args()
    layouts = [("savepoint per event, temp_store=DEFAULT", "DEFAULT", True),
               ("savepoint per event, temp_store=MEMORY", "MEMORY", True),
               ("savepoint per batch, temp_store=MEMORY", "MEMORY", False)]
    print(f"SQLite {sqlite3.sqlite_version}, {args.events:,} events, {args.batch} per transaction")
    with tempfile.TemporaryDirectory(prefix="omnisdk-bench-sp-") as tmp:
        results = [(name, run(Path(tmp) / f"{n}.db", temp, per_event, args.events, args.batch))
                   for n, (name, temp, per_event) in enumerate(layouts)]
    base = results[0][1]
    for name, us in results:
        print(f"  {name:<42} {us:7.1f} µs/event   x{base / us:.2f} vs the first")


if __name__ == "__main__":
    main()
