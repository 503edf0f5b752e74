#!/usr/bin/env python
"""The gateway over HTTP on loopback, with durable acks, beside the framework ceiling.

    .venv/bin/pip install -e '.[bench]'          # the gateway itself needs nothing more
    apt-get install -y wrk                        # the load tool (else: httpx fallback)
    .venv/bin/python bench/gateway.py             # about 1 minute
    .venv/bin/python bench/gateway.py --duration 5 --bodies 50000   # a quicker run

What it does (everything on 127.0.0.1, everything it starts is stopped at the end):

1. Writes ``--bodies`` distinct WhatsApp Cloud API text-message webhooks (the plugin's recorded
   ``message.json/text`` body with a unique wamid, one of ``--customers`` senders and its own
   text), each signed with ``WhatsAppAdapter.sign()`` (``X-Hub-Signature-256``), split into one
   file per load-generator thread so no body is sent twice: every 2xx is a new durable event.
2. Starts the real CLI, ``omnisdk serve -c <tmp>/omnisdk.toml`` (uvicorn, ``loop="auto"``,
   ``http="auto"``, one worker), with the SQLite store in a temporary folder,
   ``synchronous = "FULL"`` and one ``whatsapp`` account from ``example_settings()``; checks in
   ``/proc/<pid>/maps`` that the server process loaded uvloop and httptools.
3. Drives ``POST /webhooks/whatsapp/bench`` with wrk (``--threads`` threads, ``--connections``
   connections, ``--duration`` seconds of webhooks; ``bench/wrk_webhooks.lua``) from a second
   process, then stops the server (SIGTERM, graceful) and counts the inbox rows in the SQLite
   file: they must equal the 2xx answers (every 2xx was committed first; nothing else was).
4. Runs the same load against a minimal Starlette app on uvicorn with the same loop and HTTP
   implementation that reads the body and answers 200 without verifying or storing: the
   framework ceiling; prints our throughput as a share of it.

``--ingest-only`` adds a diagnostic run between the two: the same app, settings and uvicorn
options, started from this script with the runtime's processor not started, so the cost of
threading events into interactions drops out (the inbox rows stay unprocessed).

Throughput is 2xx webhooks / the webhook window (from the common start to the last webhook
answer, drain included); latency percentiles are wrk's (from the request write to the whole
answer), which include the few ``GET /healthz`` requests of the drain (see the Lua script).
Exit status: 0, or 1 when the durability check fails or a server logged a traceback (or, with
``--strict``, when the throughput target is missed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from harness import revision

from omnisdk.testkit.ports import free_port

HERE = Path(__file__).resolve().parent
LUA = HERE / "wrk_webhooks.lua"
ACCOUNT = "bench"
WEBHOOK_PATH = f"/webhooks/whatsapp/{ACCOUNT}"
TARGET_RPS = 5000
HEALTH_BODY = b'{"status":"ok"}'
ACK_BODY = b'{"status":"accepted"}'


def serve_ceiling(port: int) -> None:
    """Starlette on uvicorn, same loop/http/log settings as ``omnisdk serve``: read the body,
    answer 200.  No verification, no parsing, no store."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def webhook(request: Request) -> Response:
        await request.body()
        return Response(ACK_BODY, media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(HEALTH_BODY, media_type="application/json")

    app = Starlette(routes=[
        Route("/webhooks/{plugin}/{account}", webhook, methods=["POST"]),
        Route("/healthz", health, methods=["GET"]),
    ])
    uvicorn.run(app, host="127.0.0.1", port=port, loop="auto", http="auto", access_log=False,
                log_level="warning")


# --- bodies ----------------------------------------------------------------------------------


def write_bodies(folder: Path, n: int, threads: int, customers: int) -> tuple[str, str]:
    """``n`` signed, distinct text-message webhooks in ``threads`` files; returns the files'
    ``%d`` pattern and the app secret."""
    import orjson

    from omnisdk import recordings
    from omnisdk_whatsapp.adapter import WhatsAppAdapter

    settings = WhatsAppAdapter.example_settings()
    adapter = WhatsAppAdapter(ACCOUNT, WhatsAppAdapter.Settings(**settings))
    text = next(r for r in recordings.load(WhatsAppAdapter.recordings / "message.json")
                if r.name == "message/text")
    doc = orjson.loads(text.body)
    value = doc["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = settings["phone_number_id"]
    value["contacts"][0]["wa_id"] = "@@WAID@@"
    msg = value["messages"][0]
    msg.update({"from": "@@WAID@@", "id": "@@WAMID@@", "timestamp": "@@TS@@",
                "text": {"body": "@@TEXT@@"}})
    template = orjson.dumps(doc).decode()
    ts = str(int(time.time()))
    files = [open(folder / f"bodies_{t}.txt", "w", encoding="utf-8") for t in range(threads)]  # noqa: SIM115
    try:
        for i in range(n):
            wa_id = f"1555{i % customers:07d}"
            body = (template.replace("@@WAID@@", wa_id)
                    .replace("@@WAMID@@", f"wamid.HBgLMTU1NTAxMDAwMDEVAgASGBQzQUI{i:010d}QkVOQ0gA")
                    .replace("@@TS@@", ts)
                    .replace("@@TEXT@@", f"Hello, where is my order #{100000 + i}?")).encode()
            sig = adapter.sign("", body, "application/json")["X-Hub-Signature-256"]
            files[i % threads].write(f"{sig}\t{body.decode()}\n")
    finally:
        for f in files:
            f.close()
    return str(folder / "bodies_%d.txt"), settings["app_secret"]


# --- servers ---------------------------------------------------------------------------------


def write_config(folder: Path, port: int, db: str = "omnisdk.db") -> Path:
    from omnisdk_whatsapp.adapter import WhatsAppAdapter

    account = "\n".join(f"{k} = {json.dumps(v)}" for k, v in WhatsAppAdapter.example_settings().items())
    cfg = folder / f"{Path(db).stem}.toml"
    cfg.write_text(
        f'[store]\nurl = "sqlite:///{folder / db}"\nsynchronous = "FULL"\n\n'
        f'[gateway]\nhost = "127.0.0.1"\nport = {port}\n\n'
        f'[plugins]\nallow = ["whatsapp"]\n\n'
        f"[accounts.whatsapp.{ACCOUNT}]\n{account}\n",
        encoding="utf-8",
    )
    return cfg


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    log: Path
    proc: subprocess.Popen | None = None
    libs: dict[str, bool] = field(default_factory=dict)

    def start(self, timeout: float = 30.0) -> None:
        self._log = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/healthz"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: "
                                   f"{self.log.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not answer {url} within {timeout} s")
            time.sleep(0.1)
        maps = Path(f"/proc/{self.proc.pid}/maps").read_text()
        self.libs = {"uvloop": "/uvloop/" in maps, "httptools": "/httptools/" in maps}

    def stop(self) -> int | None:
        """SIGTERM (uvicorn's graceful shutdown: the runtime closes the store), SIGKILL after
        20 s.  Safe to call twice."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self._log.close()
        return proc.returncode


# --- CPU accounting --------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    v = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = v[3] + v[4]  # idle + iowait
    return sum(v[:8]) - idle, sum(v[:8])


def proc_ticks(pid: int | None) -> int:
    """utime + stime of a process, all its threads (0 if it is gone)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, TypeError):
        return 0
    return int(f[11]) + int(f[12])


@dataclass
class Cpu:
    """Cores used during the webhook window, by whom."""

    server: float = 0.0
    loader: float = 0.0
    other: float = 0.0
    idle: float = 0.0

    def __str__(self) -> str:
        return (f"server {self.server:.2f}, load tool {self.loader:.2f}, other processes "
                f"{self.other:.2f}, idle {self.idle:.2f} cores")


def watch_cpu(server_pid: int, loader_pids: list[int], t_start: float, t_end: float) -> Cpu:
    """Sample the CPU split between ``t_start`` and ``t_end`` (monotonic)."""
    time.sleep(max(0.0, t_start + 0.5 - time.monotonic()))
    b0, a0, s0, t0 = *machine_ticks(), proc_ticks(server_pid), time.monotonic()
    l0 = sum(proc_ticks(p) for p in loader_pids)
    time.sleep(max(0.1, t_end - 0.5 - time.monotonic()))
    b1, a1, s1, t1 = *machine_ticks(), proc_ticks(server_pid), time.monotonic()
    l1 = sum(proc_ticks(p) for p in loader_pids)
    secs = (t1 - t0) * TICK
    server, loader = (s1 - s0) / secs, (l1 - l0) / secs
    return Cpu(server, loader, max(0.0, (b1 - b0) / secs - server - loader),
               ((a1 - a0) - (b1 - b0)) / secs)


def other_load(seconds: float = 1.0) -> float:
    """Cores busy on the machine over ``seconds`` (before a run: everything is someone else)."""
    b0, _ = machine_ticks()
    time.sleep(seconds)
    b1, _ = machine_ticks()
    return (b1 - b0) / (seconds * TICK)


# --- load ------------------------------------------------------------------------------------


@dataclass
class Load:
    tool: str
    sent: int = 0
    ok: int = 0
    non2xx: int = 0
    unanswered: int = 0
    wrapped: int = 0
    exhausted: bool = False
    window: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    cpu: Cpu | None = None

    @property
    def rps(self) -> float:
        return self.ok / self.window if self.window > 0 else 0.0


def wrk_command(port: int, pattern: str, threads: int, connections: int, total: int, t_start: float,
                t_end: float, wrap: bool) -> list[str]:
    """The wrk command line for ``bench/wrk_webhooks.lua`` (``pattern``: the bodies files, ``%d``
    for the thread number, or one file for a one-thread wrk)."""
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{total}s", "--timeout", "10s",
            "--latency", "-s", str(LUA), f"http://127.0.0.1:{port}{WEBHOOK_PATH}", "--",
            pattern, WEBHOOK_PATH, f"{t_start:.6f}", f"{t_end:.6f}", "1" if wrap else "0"]


def read_wrk(stdout: str, t_start: float, tool: str, cpu: Cpu | None = None) -> Load:
    """The ``BENCH`` lines a wrk run of ``bench/wrk_webhooks.lua`` printed, as a :class:`Load`."""
    kv: dict[str, float] = {}
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            for item in line.split()[1:]:
                k, _, v = item.partition("=")
                kv[k] = float(v)
    load = Load(tool=tool, cpu=cpu)
    load.sent, load.ok, load.non2xx = int(kv["sent"]), int(kv["ok"]), int(kv["non2xx"])
    load.unanswered = int(kv["sent"] - kv["answered"])
    load.wrapped, load.exhausted = int(kv["wrapped"]), kv["exhausted"] > 0
    load.window = kv["last"] - t_start
    load.p50_ms, load.p90_ms = kv["p50_us"] / 1000, kv["p90_us"] / 1000
    load.p99_ms, load.max_ms = kv["p99_us"] / 1000, kv["max_us"] / 1000
    load.errors = {k[4:]: int(v) for k, v in kv.items() if k.startswith("err_") and v}
    if kv["loaded"] > t_start:
        load.notes.append(f"a wrk thread finished loading {kv['loaded'] - t_start:.2f} s after the "
                          "start: raise --lead")
    load.notes.append(f"drain: {int(kv['health_answered'])} GET /healthz answered after the "
                      "webhook window, in the latency figures")
    return load


def run_wrk(port: int, pattern: str, args: argparse.Namespace, wrap: bool, lead: float,
            server_pid: int) -> Load:
    t_start = time.monotonic() + lead
    t_end = t_start + args.duration
    total = int(lead + args.duration + args.drain) + 1
    cmd = wrk_command(port, pattern, args.threads, args.connections, total, t_start, t_end, wrap)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        cpu = watch_cpu(server_pid, [proc.pid], t_start, t_end)
        stdout, stderr = proc.communicate(timeout=total + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {stderr[-2000:]}")
    return read_wrk(stdout, t_start, f"wrk {args.threads} threads, {args.connections} connections", cpu)


def httpx_load_main(argv: list[str]) -> None:
    """Fallback load generator, one process per wrk-thread equivalent
    (``gateway.py --httpx-load URL BODY_FILE CONNS T0 T1 LATENCY_FILE``): CONNS asyncio workers
    on one httpx client, each POSTing the file's next body until T1, one request at a time.
    Prints a JSON summary; writes the latencies (seconds, float64) to LATENCY_FILE."""
    import array
    import asyncio

    import httpx

    url, path, conns, t0, t1, lat_file = argv[0], argv[1], int(argv[2]), float(argv[3]), float(argv[4]), argv[5]
    bodies: list[tuple[str, bytes]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            sig, _, body = line.rstrip("\n").partition("\t")
            bodies.append((sig, body.encode()))
    it = iter(bodies)
    lat = array.array("d")
    res = {"sent": 0, "ok": 0, "non2xx": 0, "errors": 0, "last": 0.0, "exhausted": 0}

    async def worker(client: httpx.AsyncClient) -> None:
        while time.monotonic() < t1:
            item = next(it, None)
            if item is None:
                res["exhausted"] = 1
                return
            sig, body = item
            res["sent"] += 1
            start = time.monotonic()
            try:
                r = await client.post(url, content=body, headers={
                    "content-type": "application/json", "x-hub-signature-256": sig})
            except httpx.HTTPError:
                res["errors"] += 1
                continue
            end = time.monotonic()
            lat.append(end - start)
            res["last"] = max(res["last"], end)
            res["ok" if 200 <= r.status_code < 300 else "non2xx"] += 1

    async def run() -> None:
        limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            await asyncio.sleep(max(0.0, t0 - time.monotonic()))
            await asyncio.gather(*(worker(client) for _ in range(conns)))

    asyncio.run(run())
    with open(lat_file, "wb") as f:
        lat.tofile(f)
    print(json.dumps(res))


def run_httpx(port: int, pattern: str, args: argparse.Namespace, lead: float,
              server_pid: int) -> Load:
    import array

    t_start = time.monotonic() + lead
    t_end = t_start + args.duration
    work = Path(pattern).parent
    procs = []
    for t in range(args.threads):
        conns = args.connections // args.threads + (t < args.connections % args.threads)
        cmd = [sys.executable, __file__, "--httpx-load", f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
               pattern % t, str(conns), f"{t_start:.6f}", f"{t_end:.6f}", str(work / f"lat_{t}.bin")]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    try:
        cpu = watch_cpu(server_pid, [p.pid for p in procs], t_start, t_end)
        for p in procs:
            outs.append(p.communicate(timeout=lead + args.duration + args.drain + 120))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    lat = array.array("d")
    tot = {"sent": 0, "ok": 0, "non2xx": 0, "errors": 0, "last": 0.0, "exhausted": 0}
    for t, (p, (stdout, stderr)) in enumerate(zip(procs, outs, strict=True)):
        if p.returncode != 0:
            raise RuntimeError(f"httpx load generator failed: {stderr[-2000:]}")
        res = json.loads(stdout.strip().splitlines()[-1])
        for k in ("sent", "ok", "non2xx", "errors", "exhausted"):
            tot[k] += res[k]
        tot["last"] = max(tot["last"], res["last"])
        with open(work / f"lat_{t}.bin", "rb") as f:
            lat.frombytes(f.read())
    ms = sorted(x * 1000 for x in lat)

    def pct(q: float) -> float:
        return ms[min(len(ms) - 1, int(len(ms) * q / 100))] if ms else 0.0

    load = Load(tool=f"httpx fallback ({args.threads} Python processes, {args.connections} "
                     "concurrent requests in all)", cpu=cpu)
    load.sent, load.ok, load.non2xx = tot["sent"], tot["ok"], tot["non2xx"]
    load.unanswered = tot["errors"]
    load.exhausted = bool(tot["exhausted"])
    load.window = tot["last"] - t_start
    load.p50_ms, load.p90_ms, load.p99_ms = pct(50), pct(90), pct(99)
    load.max_ms = ms[-1] if ms else 0.0
    if tot["errors"]:
        load.errors = {"transport": tot["errors"]}
    load.notes.append("httpx load generator: it needs far more CPU per request than wrk and "
                      "shares the 2 cores, so these figures are capped by the load tool, not the "
                      "server")
    return load


# --- the store check -------------------------------------------------------------------------


def read_store(db: Path) -> dict[str, int]:
    """Inbox rows, distinct ids, rows the processor took (its cursor) and the counters; with
    ``serve --split`` the inbox and the gateway's counters are in ``<name>-inbox.db``."""
    inbox_db = db.with_name(db.stem + "-inbox.db")
    split = inbox_db.exists()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        if split:
            conn.execute("ATTACH DATABASE ? AS inbox_db", (f"file:{inbox_db}?mode=ro",))
        rows, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM inbox").fetchone()
        cursor = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM inbox_cursor").fetchone()[0] \
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'inbox_cursor'").fetchone() else 0
        processed = conn.execute("SELECT COUNT(*) FROM inbox WHERE seq <= ?", (cursor,)).fetchone()[0]
        counters: dict[str, int] = {}
        for table in ("main.counters", "inbox_db.counters") if split else ("counters",):
            for name, value in conn.execute(f"SELECT name, value FROM {table}"):
                counters[name] = counters.get(name, 0) + value
    finally:
        conn.close()
    return {"rows": rows, "processed": processed, "distinct": distinct, **counters}


# --- main ------------------------------------------------------------------------------------


def serve_ingest_only(cfg: str, port: int) -> None:
    """Diagnostic (``--ingest-only``): the same app and uvicorn settings as ``omnisdk serve``,
    but the processor is never started, so the inbox is only written (HTTP + verify + parse +
    durable commit), not threaded into interactions.  Leans on ``Runtime.processor.start``."""
    import uvicorn

    from omnisdk.config import load_settings
    from omnisdk.gateway import create_app
    from omnisdk.runtime import Runtime

    runtime = Runtime(load_settings(cfg))
    runtime.processor.start = lambda: None  # type: ignore[method-assign]
    uvicorn.run(create_app(runtime), host="127.0.0.1", port=port, loop="auto", http="auto",
                access_log=False, log_level="warning")


@dataclass
class Run:
    """One server under load: what the load tool saw, what the store holds afterwards."""

    label: str
    load: Load
    libs: dict[str, bool]
    store: dict[str, int] | None = None
    exit_status: int | None = None
    log: str = ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=15.0, help="seconds of webhooks (15)")
    ap.add_argument("--connections", type=int, default=64, help="open connections (64)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    ap.add_argument("--bodies", type=int, default=200_000, help="distinct signed bodies (200000)")
    ap.add_argument("--customers", type=int, default=1000, help="distinct senders (1000)")
    ap.add_argument("--lead", type=float, default=0.0,
                    help="seconds from wrk start to the first request (default: by --bodies)")
    ap.add_argument("--drain", type=float, default=4.0, help="seconds allowed for the drain (4)")
    ap.add_argument("--loader", choices=["auto", "wrk", "httpx"], default="auto")
    ap.add_argument("--skip-ceiling", action="store_true", help="do not run the Starlette ceiling")
    ap.add_argument("--skip-split", action="store_true",
                    help="do not run `omnisdk serve --split` (webhook ingress and core in two processes)")
    ap.add_argument("--ingest-only", action="store_true",
                    help="diagnostic: also run the gateway with its processor not started")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    args = ap.parse_args()
    lead = args.lead or 2.0 + args.bodies / 100_000 * 1.5

    loader = args.loader
    if loader == "auto":
        loader = "wrk" if shutil.which("wrk") else "httpx"
    if loader == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install -y wrk), or use --loader httpx")

    def _sigterm(*_: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, _sigterm)  # so the finally blocks below stop the servers

    work = Path(tempfile.mkdtemp(prefix="omnisdk-bench-"))
    servers: list[Server] = []
    failed = False
    try:
        print(f"omnisdk gateway benchmark — {_dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
        print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, loopback 127.0.0.1; "
              f"temporary folder {work}")
        print(f"omnisdk {revision()} (the working tree as found: uncommitted changes count too)")
        if loader == "httpx":
            why = "--loader httpx" if args.loader == "httpx" else "wrk is not installed"
            print(f"NOTE: {why}: using the Python httpx load generator instead of wrk")
        busy = other_load()
        print(f"machine before the run: {busy:.2f} of {os.cpu_count()} cores busy with other "
              "processes" + ("  WARNING: the figures will be low and noisy" if busy > 0.2 else ""))
        t = time.monotonic()
        pattern, _ = write_bodies(work, args.bodies, args.threads, args.customers)
        print(f"{args.bodies} distinct signed WhatsApp text-message webhooks written in "
              f"{time.monotonic() - t:.1f} s ({args.customers} senders, "
              f"{os.path.getsize(pattern % 0) * args.threads / 1e6:.0f} MB)")

        def run(label: str, argv_for: object, wrap: bool, db: str | None) -> Run:
            port = free_port()
            name = label.split(" (")[0].replace(" ", "-")
            cfg = write_config(work, port, db) if db else None
            server = Server(label, argv_for(port, cfg), port, work / f"{name}.log")  # type: ignore[operator]
            servers.append(server)
            server.start()
            assert server.proc is not None
            if loader == "wrk":
                load = run_wrk(port, pattern, args, wrap, lead, server.proc.pid)
            else:
                load = run_httpx(port, pattern, args, lead, server.proc.pid)
            out = Run(label, load, dict(server.libs))
            out.exit_status = server.stop()
            out.log = server.log.read_text(errors="replace")
            if db:
                out.store = read_store(work / db)
            return out

        omnisdk_bin = str(Path(sys.executable).with_name("omnisdk"))
        runs = [run("omnisdk serve (verify+parse+commit)",
                    lambda port, cfg: [omnisdk_bin, "serve", "-c", str(cfg)], False, "omnisdk.db")]
        if not args.skip_split:
            runs.append(run("omnisdk serve --split (ingress + core processes)",
                            lambda port, cfg: [omnisdk_bin, "serve", "--split", "-c", str(cfg)], False,
                            "split.db"))
        if args.ingest_only:
            runs.append(run("omnisdk, processor off (diagnostic)",
                            lambda port, cfg: [sys.executable, __file__, "--serve-ingest-only",
                                               str(cfg), str(port)], False, "ingest-only.db"))
        if not args.skip_ceiling:
            runs.append(run("starlette ceiling (read body, 200)",
                            lambda port, cfg: [sys.executable, __file__, "--serve-ceiling",
                                               str(port)], True, None))
        failed = report(runs, args)
    finally:
        for s in servers:
            with contextlib.suppress(Exception):
                s.stop()
        if args.keep or failed:
            if not args.keep:
                for f in work.glob("bodies_*.txt"):
                    f.unlink()
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


def report(runs: list[Run], args: argparse.Namespace) -> bool:
    """Print the results; True when the run failed (durability, or the target with --strict)."""
    ours = runs[0]
    ceiling = next((r for r in runs if r.store is None), None)
    print(f"load: {ours.load.tool}, {args.duration:g} s of webhooks per server, each "
          "connection one request at a time")
    print("server processes (from /proc/PID/maps): " + "; ".join(
        f"{r.label.split(' (')[0]} uvloop={r.libs.get('uvloop')} httptools={r.libs.get('httptools')}"
        for r in runs))
    print()
    head = f"{'server':<36} {'2xx':>8} {'non-2xx':>7} {'req/s':>8} {'p50 ms':>7} " \
           f"{'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}"
    print(head)
    print("-" * len(head))
    for r in runs:
        ld = r.load
        print(f"{r.label:<36} {ld.ok:>8} {ld.non2xx:>7} {ld.rps:>8.0f} {ld.p50_ms:>7.2f} "
              f"{ld.p90_ms:>7.2f} {ld.p99_ms:>7.2f} {ld.max_ms:>7.1f}")
    print()
    failed = False
    for r in runs:
        ld = r.load
        extra = []
        if ld.errors:
            extra.append(f"socket/timeout errors {ld.errors}")
        if ld.unanswered:
            extra.append(f"{ld.unanswered} webhooks unanswered at the end")
        if ld.exhausted:
            extra.append("ran out of distinct bodies before the end (raise --bodies)")
        if ld.wrapped:
            extra.append(f"bodies reused {ld.wrapped} times (no store: fine)")
        print(f"{r.label.split(' (')[0]}: window {ld.window:.2f} s; " + "; ".join(extra + ld.notes))
        if ld.cpu:
            print(f"  CPU in the window: {ld.cpu}")
        st = r.store
        if st is None:
            continue
        durable = (st["rows"] == ld.ok and ld.unanswered == 0 and st["distinct"] == st["rows"]
                   and st.get("events.deduplicated", 0) == 0)
        failed |= not durable
        print(f"  durable acks: inbox rows {st['rows']} (distinct ids {st['distinct']}), 2xx "
              f"answers {ld.ok}, events.accepted {st.get('events.accepted', 0)}, "
              f"events.deduplicated {st.get('events.deduplicated', 0)}, webhooks unanswered "
              f"{ld.unanswered}: {'PASS' if durable else 'FAIL'}")
        print(f"  processor: {st['processed']} of {st['rows']} inbox rows processed before the "
              f"server stopped; exit status {r.exit_status}"
              + (" (uvicorn re-raises SIGTERM after its graceful shutdown)"
                 if r.exit_status == -15 else ""))
        if r.log.strip():
            print(f"  server log: {len(r.log.splitlines())} lines, {r.log.count('Traceback')} "
                  "tracebacks (kept in the temporary folder)")
            failed |= "Traceback" in r.log
    print()
    if ceiling:
        print(f"ours / framework ceiling: {ours.load.rps:.0f} / {ceiling.load.rps:.0f} req/s = "
              f"{ours.load.rps / ceiling.load.rps:.0%}")
    ok = True
    for r in runs:
        if r.store is None or "diagnostic" in r.label:
            continue
        passed = r.load.rps >= TARGET_RPS
        ok &= passed
        print(f"gateway ({r.label.split(' (')[0]}): {r.load.rps:.0f} signed webhooks/s durable on one "
              f"webhook worker, p50 {r.load.p50_ms:.1f} ms, p99 {r.load.p99_ms:.1f} ms, {r.load.non2xx} "
              f"non-2xx (target >= {TARGET_RPS}/s): {'PASS' if passed else 'FAIL'}")
    return failed or (not ok and args.strict)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-ceiling":  # internal: the ceiling app
        serve_ceiling(int(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--serve-ingest-only":  # internal: diagnostic
        serve_ingest_only(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--httpx-load":  # internal: the fallback loader
        httpx_load_main(sys.argv[2:])
    else:
        sys.exit(main())
