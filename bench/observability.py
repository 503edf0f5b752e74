#!/usr/bin/env python
"""What request ids, the log context and the OpenTelemetry spans cost one webhook, in one run.

    .venv/bin/python bench/observability.py             # about 1 minute
    .venv/bin/python bench/observability.py --quick     # 3 repeats of 0.1 s: a smoke test
    .venv/bin/python bench/observability.py --before 3f37a36   # the code to compare against

What is timed: ``WebhookEndpoint.asgi`` (the raw-ASGI fast path of ``POST
/webhooks/{plugin}/{account}``), called directly on an asyncio loop for every signed WhatsApp
recording (``omnisdk.recordings.load(WhatsAppAdapter.recordings)``, ``X-Hub-Signature-256``):
header decoding, the adapter's verify and parse, the ownership check, ``commit_inbox`` and the
answer's two ASGI messages.  The store is a stub whose ``append_inbox`` serialises every event
(``omnisdk.events.dumps``, as the SQLite store does before its commit) and returns at once: the
real commit (a writer thread, SQLite) costs tens of µs and its spread would hide what is
measured here.  One pass = every recording once, in one ``run_until_complete``.

Sides (interleaved, best of ``--repeat`` repeats of >= ``--min-time`` s each, gc on):

- ``before``: ``omnisdk/gateway/webhooks.py`` as of ``--before`` (default: the commit this
  branch started from), loaded from git into its own module beside today's; it imports the
  same other modules;
- ``after, API only``: today's code with no SDK tracer provider (what ``pip install omnisdk``
  gives): request id, log context, and the span calls skipped (``runtime.tracing.tracer`` None);
- ``after, no-op spans``: today's code made to call the span API through the API's own no-op
  tracer (``opentelemetry.trace.NoOpTracer``): what skipping the calls saves;
- ``after, SDK spans``: an ``opentelemetry-sdk`` ``TracerProvider`` without a span processor:
  every span is made and recorded but exported nowhere (the cost an operator turning tracing on
  pays in this process, before any exporter's).

µs/webhook = time of one pass / number of recordings.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness import machine_busy, measure, revision, self_cpu

from omnisdk import recordings
from omnisdk.config import Settings
from omnisdk.events import dumps
from omnisdk.gateway.webhooks import WebhookEndpoint
from omnisdk.runtime import Runtime
from omnisdk.store.rows import InboxResult

try:
    from omnisdk_whatsapp.adapter import WhatsAppAdapter
except ImportError as exc:  # pragma: no cover - set-up problem
    sys.exit(f"bench/observability.py needs the in-tree whatsapp plugin installed: {exc}")

ROOT = Path(__file__).resolve().parent.parent
BASE = "3f37a36"
"""The commit the observability branch started from."""
ACCOUNT = "bench"
PATH = f"/webhooks/whatsapp/{ACCOUNT}"


class StubStore:
    """``append_inbox`` serialises and returns; nothing else is called on the happy path."""

    async def append_inbox(self, events, received_at: str) -> InboxResult:
        for e in events:
            dumps(e)
        return InboxResult(len(events), 0)

    def count_later(self, name: str, n: int = 1) -> None:
        raise AssertionError(f"a webhook was refused ({name}): the bench measures accepted ones")


def load_before(rev: str):
    """``WebhookEndpoint`` of ``omnisdk/gateway/webhooks.py`` at ``rev``, as module ``_webhooks_before``."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:src/omnisdk/gateway/webhooks.py"],
                            capture_output=True, text=True, check=True).stdout
    path = Path(tempfile.mkdtemp()) / "_webhooks_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("_webhooks_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["_webhooks_before"] = module
    spec.loader.exec_module(module)
    return module.WebhookEndpoint


def requests(adapter) -> list[tuple[dict, bytes]]:
    """(ASGI scope, body) per recording, signed, as uvicorn hands them to the app."""
    out = []
    for r in recordings.load(adapter.recordings):
        headers = {"host": "bench.test", "content-type": r.content_type, "content-length": str(len(r.body)),
                   "user-agent": "facebookexternalua", "accept": "*/*"}
        headers.update({k.lower(): v for k, v in adapter.sign(f"http://bench.test{PATH}", r.body,
                                                               r.content_type).items()})
        scope = {"type": "http", "method": "POST", "path": PATH, "raw_path": PATH.encode(), "query_string": b"",
                 "scheme": "http", "http_version": "1.1", "root_path": "", "server": ("bench.test", 80),
                 "client": ("127.0.0.1", 5000),
                 "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]}
        out.append((scope, r.body))
    return out


@dataclass
class Side:
    label: str
    fn: object
    webhooks: int
    number: int = 0
    best: float = float("inf")

    @property
    def us(self) -> float:
        return self.best / self.webhooks * 1e6


def a_pass(loop: asyncio.AbstractEventLoop, endpoint, reqs) -> object:
    statuses: list[int] = []

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    async def run() -> None:
        for scope, body in reqs:
            message = {"type": "http.request", "body": body, "more_body": False}

            async def receive(message=message) -> dict:
                return message

            await endpoint.asgi(scope, receive, send, "whatsapp", ACCOUNT)

    def fn() -> None:
        statuses.clear()
        loop.run_until_complete(run())
        if any(s != 200 for s in statuses):
            raise SystemExit(f"not every webhook was accepted: {sorted(set(statuses))}")

    return fn


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=9, help="interleaved repeats, best kept (9)")
    ap.add_argument("--min-time", type=float, default=0.4, help="seconds per repeat and side (0.4)")
    ap.add_argument("--quick", action="store_true", help="3 repeats of 0.1 s: a smoke test")
    ap.add_argument("--before", default=BASE, help=f"the commit of the 'before' side ({BASE})")
    args = ap.parse_args()
    if args.quick:
        args.repeat, args.min_time = 3, 0.1
    from opentelemetry import trace
    from opentelemetry.trace import NoOpTracer, ProxyTracerProvider

    if not isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        sys.exit("a global tracer provider is set (OTEL_* or opentelemetry-instrument?): run without it")
    from opentelemetry.sdk.trace import TracerProvider

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(store={"url": f"sqlite:///{tmp}/bench.db"},
                            accounts={"whatsapp": {ACCOUNT: WhatsAppAdapter.example_settings()}})
        runtime = Runtime(settings)
        runtime.store = StubStore()
        adapter = runtime.adapter("whatsapp", ACCOUNT)
        reqs = requests(adapter)
        loop = asyncio.new_event_loop()

        def endpoint(tracer) -> WebhookEndpoint:
            rt = Runtime.__new__(Runtime)  # the same runtime, with its own tracing choice
            rt.__dict__.update(runtime.__dict__)
            rt.tracing = type(runtime.tracing)()
            rt.tracing.tracer = tracer
            return WebhookEndpoint(rt)

        before = load_before(args.before)(runtime)
        sides = [Side(f"before ({args.before})", a_pass(loop, before, reqs), len(reqs)),
                 Side("after, API only", a_pass(loop, endpoint(None), reqs), len(reqs)),
                 Side("after, no-op spans", a_pass(loop, endpoint(NoOpTracer()), reqs), len(reqs)),
                 Side("after, SDK spans", a_pass(loop, endpoint(TracerProvider().get_tracer("bench")), reqs),
                      len(reqs))]
        print(f"omnisdk observability benchmark — {_dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
        print(f"Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; "
              f"best of {args.repeat} interleaved repeats of >= {args.min_time} s per side; gc enabled")
        print(f"omnisdk {revision()} (the working tree as found); {len(reqs)} WhatsApp recordings a pass")
        b0, s0 = machine_busy(), self_cpu()
        t0 = _dt.datetime.now().timestamp()
        measure(sides, args.repeat, args.min_time)
        wall = _dt.datetime.now().timestamp() - t0
        others = max(0.0, (machine_busy() - b0) - (self_cpu() - s0)) / wall
        loop.close()
    base = sides[0].us
    for s in sides:
        print(f"  {s.label:<24} {s.us:7.2f} µs/webhook  {s.us - base:+6.2f} µs  ({s.us / base:.3f}x before)")
    print(f"other processes used {others:.2f} cores during the measurement"
          + ("  WARNING: busy machine" if others > 0.2 else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
