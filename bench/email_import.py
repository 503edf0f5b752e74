#!/usr/bin/env python
"""``omnisdk import email`` throughput: a 10,000-message mbox into SQLite through the email
adapter and the core's threader, in one run.

    .venv/bin/python bench/email_import.py              # 10,000 mails
    .venv/bin/python bench/email_import.py --mails 2000

Target (the email channel's issue): >= 1,000 messages/s.

Input: an mbox made of four real recordings of the email plugin (``thread_new_question``,
``thread_reply_by_headers``, ``reply_gmail``, ``8bitmime``), repeated; each copy gets its own
``Message-ID`` (and each group of four its own sender, ``name+N@domain``), so every mail is a new
one for the inbox and the threader: a quarter are replies by ``References``, the rest new
threads or scored matches.  Timed: :func:`omnisdk.inbox.mail_import.import_mail` from the first
read of the mbox to the last outcome (parse, inbox commit, threading, per-mail outcome), on a
fresh SQLite store (WAL, synchronous NORMAL), acknowledgements off as the command sets them;
not timed: building the mbox and starting the runtime.  Prints messages/s, the peak of other
processes' CPU, and PASS/FAIL.
"""

from __future__ import annotations

import argparse
import asyncio
import mailbox
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from harness import revision

from omnisdk.config import Settings
from omnisdk.inbox.mail_import import import_mail, read_mailbox
from omnisdk.runtime import Runtime
from omnisdk_email import EmailAdapter

TARGET = 1000.0
SOURCES = ("thread_new_question.eml", "thread_reply_by_headers.eml", "reply_gmail.eml", "8bitmime.eml")


def build_mbox(path: Path, n: int) -> None:
    bodies = [(Path(EmailAdapter.recordings) / name).read_bytes() for name in SOURCES]  # type: ignore[arg-type]
    box = mailbox.mbox(path)
    box.lock()
    for i in range(n):
        body = re.sub(rb"(?im)^Message-ID:\s*<([^>]+)>", lambda m, i=i: b"Message-ID: <n%d." % i + m.group(1) + b">",
                      bodies[i % len(bodies)], count=1)
        body = re.sub(rb"(?im)^(From:[^<\r\n]*<[^@>]+)@", lambda m, i=i: m.group(1) + b"+%d@" % (i // 4), body, count=1)
        body = body.replace(b"<q-4711-1@", b"<n%d.q-4711-1@" % (i - 1))  # the reply references its question
        box.add(body)
    box.flush()
    box.unlock()


async def run(n: int) -> int:
    work = Path(tempfile.mkdtemp())
    build_mbox(work / "bench.mbox", n)
    settings = Settings(store={"url": f"sqlite:///{work / 'omni.db'}", "synchronous": "NORMAL"},
                        routing={"queues": [{"name": "support"}]},
                        accounts={"email": {"bench": EmailAdapter.example_settings()}})
    runtime = Runtime(settings)
    await runtime.store.open()
    await runtime.processor.restore()
    adapter = runtime.adapter("email", "bench")
    rules: dict[str, int] = {}
    try:
        started = time.perf_counter()
        done = 0
        async for item in import_mail(runtime, adapter, read_mailbox(work / "bench.mbox")):
            done += 1
            rules[str(item.rule)] = rules.get(str(item.rule), 0) + 1
        elapsed = time.perf_counter() - started
    finally:
        await runtime.store.close()
    rate = done / elapsed
    print(f"{revision()}; load average {os.getloadavg()[0]:.2f}")
    print(f"{done} mails in {elapsed:.2f} s: {rate:,.0f} messages/s; rules: "
          + ", ".join(f"{k} {v}" for k, v in sorted(rules.items())))
    print(f"omnisdk import email ({done:,} messages): {rate:,.0f} messages/s (target >= {TARGET:,.0f}): "
          f"{'PASS' if rate >= TARGET else 'FAIL'}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=10_000)
    return asyncio.run(run(ap.parse_args().mails))


if __name__ == "__main__":
    sys.exit(main())
