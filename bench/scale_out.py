#!/usr/bin/env python
"""Scale-out (issue 12): durable webhooks/s through 2 gateway processes into JetStream, beside
the SQLite one-process ``omnisdk serve`` of the same run; routed interactions/s end to end on
PostgreSQL beside SQLite; CPU µs per event per role.

    .venv/bin/python bench/scale_out.py                    # about 2 minutes
    .venv/bin/python bench/scale_out.py --duration 5 --e2e-events 2000   # quicker

What it does (everything on 127.0.0.1; everything it starts is stopped at the end):

1. Writes ``--bodies`` distinct signed WhatsApp text-message webhooks (``bench/gateway.py``'s
   ``write_bodies``: the plugin's recorded body, a unique wamid each), one file per loader.
2. **SQLite, one process**: ``omnisdk serve`` (SQLite, ``synchronous = "FULL"``), loaded for
   ``--duration`` s; a 2xx is a committed inbox row.
3. **Bus**: a ``nats-server -js`` it starts (own port and store folder), a core (``serve --role
   core``, on a fresh PostgreSQL schema when ``--postgres`` answers, else SQLite) and 2 gateways
   (``serve --role gateway``), one load tool per gateway; a 2xx is a PubAck of every event of
   the webhook (durable in JetStream).  Two phases, each with its own bodies:
   (a) every role at once on the 2 cores (the core consumes while the gateways ingest);
   (b) the gateway tier alone: the core is paused (SIGSTOP) for the load, then resumed and
   timed while it drains the stream, as when each role has its own machine.  After each, waits
   until the core has consumed and processed everything (``/metrics`` ``bus.inbox.consumed``,
   ``/readyz`` backlog 0).  The webhooks/s target is phase (b)'s.
4. CPU per event from ``/proc/<pid>/stat`` (utime + stime of each child process, all threads),
   phase (b): the gateways over the load, divided by their 2xx; the core over its drain,
   divided by the events.
5. Routed interactions/s end to end (``bench/routing.py``'s ``run_e2e``, imported) on SQLite
   and on PostgreSQL, one after the other in this run.

Load tool: wrk (``bench/wrk_webhooks.lua``) when on PATH (``apt-get install -y wrk``): one wrk
per gateway, one thread and one bodies file each, half the connections each; the one-process
run gets one wrk with a thread per file.  Without wrk (or ``--loader httpx``):
``bench/gateway.py``'s httpx loader processes, which need far more CPU per request than the
servers on the same 2 cores, so their webhooks/s figures say more about the loader than the
servers.  Load tool, gateways, core and nats-server all share this machine's cores: the CPU µs
per event are the figures to size with.

Targets: bus webhooks/s ≥ 8,000; PostgreSQL end to end ≥ 50% of SQLite's.  Exit 0, or 1 when a
durability check fails (with ``--strict``: also when a target is missed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gateway import (  # noqa: E402
    ACCOUNT,
    WEBHOOK_PATH,
    Server,
    free_port,
    other_load,
    proc_ticks,
    read_wrk,
    write_bodies,
    wrk_command,
)
from gateway import write_config as write_sqlite_config  # noqa: E402
from harness import revision  # noqa: E402
from routing import run_e2e  # noqa: E402

TARGET_BUS_RPS = 8000
TARGET_PG_SHARE = 0.5
TICK = os.sysconf("SC_CLK_TCK")
POSTGRES = os.environ.get("OMNISDK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def cli(cfg: Path, port: int, role: str = "all") -> list[str]:
    return [sys.executable, "-m", "omnisdk.cli", "serve", "-c", str(cfg), "--port", str(port), "--role", role]


def bus_config(folder: Path, store_url: str, nats_url: str) -> Path:
    from omnisdk_whatsapp.adapter import WhatsAppAdapter

    account = "\n".join(f"{k} = {json.dumps(v)}" for k, v in WhatsAppAdapter.example_settings().items())
    cfg = folder / "bus.toml"
    cfg.write_text(
        f'[store]\nurl = "{store_url}"\nsynchronous = "FULL"\n\n'
        f'[bus]\nurl = "{nats_url}"\n\n'
        '[plugins]\nallow = ["whatsapp"]\n\n'
        f"[accounts.whatsapp.{ACCOUNT}]\n{account}\n", encoding="utf-8")
    return cfg


def load(ports: list[int], pattern: str, loaders: int, connections: int, duration: float, tool: str,
         lead: float = 3.0, files: tuple[int, ...] | None = None) -> dict[str, float]:
    """Load the gateways on ``ports`` for ``duration`` s with ``tool``; totals.

    wrk: one wrk process per port, sharing the ``loaders`` bodies files (one port: one wrk with a
    thread per file; 2 ports: a one-thread wrk per port, a file each) and the connections.
    httpx: ``loaders`` loader processes, loader t on ``ports[t % len(ports)]``.  ``files``: the
    bodies files' numbers to use (default ``0 .. loaders - 1``)."""
    files = files if files is not None else tuple(range(loaders))
    t_start = time.monotonic() + lead
    t_end = t_start + duration
    tot = {"sent": 0, "ok": 0, "non2xx": 0, "errors": 0, "last": 0.0, "t_start": t_start, "t_end": t_end,
           "p99_ms": 0.0}
    procs = []
    if tool == "wrk":
        total = int(lead + duration + 6) + 1
        if len(ports) == 1 and files != tuple(range(len(files))):
            raise ValueError("one wrk numbers its threads' files from 0")
        for g, port in enumerate(ports):
            bodies = pattern if len(ports) == 1 else pattern % files[g]
            cmd = wrk_command(port, bodies, len(files) if len(ports) == 1 else 1, connections // len(ports),
                              total, t_start, t_end, wrap=False)
            procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for p in procs:
            out, err = p.communicate(timeout=total + 60)
            if p.returncode != 0:
                raise RuntimeError(f"wrk failed ({p.returncode}): {err[-2000:]}")
            res = read_wrk(out, t_start, "wrk")
            tot["sent"] += res.sent
            tot["ok"] += res.ok
            tot["non2xx"] += res.non2xx
            tot["errors"] += sum(res.errors.values()) + res.unanswered
            tot["last"] = max(tot["last"], t_start + res.window)
            tot["p99_ms"] = max(tot["p99_ms"], res.p99_ms)
            if res.exhausted:
                print(f"NOTE: a wrk ran out of bodies before {duration:g} s: raise --bodies")
    else:
        work = Path(pattern).parent
        for t, f in enumerate(files):
            url = f"http://127.0.0.1:{ports[t % len(ports)]}{WEBHOOK_PATH}"
            procs.append(subprocess.Popen(
                [sys.executable, str(HERE / "gateway.py"), "--httpx-load", url, pattern % f,
                 str(connections // loaders), f"{t_start:.6f}", f"{t_end:.6f}", str(work / f"lat_{t}.bin")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for p in procs:
            out, err = p.communicate(timeout=lead + duration + 120)
            if p.returncode != 0:
                raise RuntimeError(f"loader failed: {err[-2000:]}")
            res = json.loads(out.strip().splitlines()[-1])
            for k in ("sent", "ok", "non2xx", "errors"):
                tot[k] += res[k]
            tot["last"] = max(tot["last"], res["last"])
    tot["window"] = tot["last"] - t_start
    tot["rps"] = tot["ok"] / tot["window"] if tot["window"] > 0 else 0.0
    return tot


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'omnisdk_bus_events_total\{counter="' + re.escape(name) + r'"\} ([0-9.e+]+)', text)
    return float(m.group(1)) if m else 0.0


def backlog(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
            return int(json.loads(r.read())["inbox_backlog"])
    except urllib.error.HTTPError as exc:  # 503 while the backlog is above the bound
        return 1 << 30 if exc.code == 503 else 0


def postgres_up() -> bool:
    try:
        import psycopg

        psycopg.connect(POSTGRES, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001
        return False


def drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=8.0, help="seconds of load per run")
    ap.add_argument("--bodies", type=int, default=200_000, help="distinct webhooks, split over the loaders")
    ap.add_argument("--loaders", type=int, default=2, help="bodies files: wrk threads, or httpx processes")
    ap.add_argument("--loader", choices=["auto", "wrk", "httpx"], default="auto",
                    help="the load tool (auto: wrk when on PATH)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--e2e-events", type=int, default=3000)
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args()
    nats_bin = shutil.which("nats-server")
    if nats_bin is None:
        print("nats-server is not on PATH")
        return 2
    pg = postgres_up()
    tool = args.loader if args.loader != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    if tool == "wrk" and not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install -y wrk), or use --loader httpx")
    tmp = Path(tempfile.mkdtemp(prefix="omnisdk-bench-scale-"))
    print(f"omnisdk bench/scale_out.py · {revision()} · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"other processes before the run: {other_load():.2f} cores busy (of {os.cpu_count()})")
    pattern, _secret = write_bodies(tmp, args.bodies, 2 * args.loaders, customers=1000)  # a set per bus phase
    ok = True

    # --- 1. SQLite, one process ----------------------------------------------------------------
    port = free_port()
    single = Server("serve", cli(write_sqlite_config(tmp, port), port), port, tmp / "serve.log")
    single.start()
    try:
        c0 = proc_ticks(single.proc.pid)
        one = load([port], pattern, args.loaders, args.connections, args.duration, tool)
        one_cpu = (proc_ticks(single.proc.pid) - c0) / TICK
    finally:
        single.stop()

    # --- 2. 2 gateways into JetStream, one core ---------------------------------------------------
    # (a) every role at once on the 2 cores: the core consumes while the gateways ingest;
    # (b) the gateway tier alone: the core is paused (SIGSTOP) for the load and drains after
    #     (SIGCONT), so the gateways' ingest and the core's drain are each measured on their own,
    #     as when each role has its own machine.  Each phase sends its own bodies.
    nats_port = free_port()
    nats = subprocess.Popen([nats_bin, "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd", str(tmp / "js")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    schema = f"omnisdk_bench_scale_{os.getpid()}" if pg else None
    core_store = f"{POSTGRES}?schema={schema}" if pg else f"sqlite:///{tmp / 'core.db'}"
    cfg = bus_config(tmp, core_store, f"nats://127.0.0.1:{nats_port}")
    servers: list[Server] = []
    phases: dict[str, dict[str, float]] = {}
    try:
        time.sleep(1.0)
        core_port = free_port()
        core = Server("core", cli(cfg, core_port, "core"), core_port, tmp / "core.log")
        core.start()
        servers.append(core)
        gateways = []
        for g in range(2):
            gp = free_port()
            gw = Server(f"gateway-{g}", cli(cfg, gp, "gateway"), gp, tmp / f"gateway-{g}.log")
            gw.start()
            servers.append(gw)
            gateways.append(gw)
        expected = 0
        for phase, files, paused in (("all", (0, 1), False), ("tier", (2, 3), True)):
            g0 = [proc_ticks(g.proc.pid) for g in gateways]
            k0 = proc_ticks(core.proc.pid)
            if paused:
                core.proc.send_signal(signal.SIGSTOP)
            try:
                res = load([g.port for g in gateways], pattern, len(files), args.connections, args.duration, tool,
                           files=files)
            finally:
                if paused:
                    core.proc.send_signal(signal.SIGCONT)
            resumed = time.monotonic()
            res["gw_cpu"] = sum(proc_ticks(g.proc.pid) - t for g, t in zip(gateways, g0, strict=True)) / TICK
            expected += res["ok"]
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if metric(core_port, "bus.inbox.consumed") >= expected and backlog(core_port) == 0:
                    break
                time.sleep(0.1)
            res["core_done"] = time.monotonic() - res["t_start"]
            res["drain"] = time.monotonic() - resumed
            res["core_cpu"] = (proc_ticks(core.proc.pid) - k0) / TICK
            phases[phase] = res
        consumed = metric(core_port, "bus.inbox.consumed")
        published = sum(metric(g.port, "bus.publish.acked") for g in gateways)
    finally:
        for s in reversed(servers):
            s.stop()
        nats.send_signal(signal.SIGTERM)
        nats.wait(timeout=20)
        if schema:
            drop_schema(schema)
    for s in servers:
        if "Traceback" in s.log.read_text(errors="replace"):
            print(f"FAIL: {s.name} logged a traceback ({s.log})")
            ok = False
    if consumed < expected or published < expected:
        print(f"FAIL: {expected} webhooks answered 2xx, {published:.0f} PubAcks counted, {consumed:.0f} consumed")
        ok = False

    # --- 3. routed interactions/s end to end ------------------------------------------------------
    e2e_sqlite = asyncio.run(run_e2e("NORMAL", args.e2e_events, args.agents, 64, False, False))
    e2e_pg = asyncio.run(run_e2e("NORMAL", args.e2e_events, args.agents, 64, False, False,
                                 postgres=POSTGRES)) if pg else None
    shutil.rmtree(tmp, ignore_errors=True)

    # --- report ---------------------------------------------------------------------------------
    def per_event(cpu: float, n: float) -> float:
        return cpu / n * 1e6 if n else float("nan")

    def p99(res: dict[str, float]) -> str:
        return f" · p99 {res['p99_ms']:.1f} ms" if tool == "wrk" else ""

    every, tier = phases["all"], phases["tier"]
    one_us = per_event(one_cpu, one["ok"])
    gw_us = per_event(tier["gw_cpu"], tier["ok"])
    core_us = per_event(tier["core_cpu"], tier["ok"])
    store = "PostgreSQL" if pg else "SQLite"
    print(f"\nload tool: {tool} ({args.loaders} {'threads' if tool == 'wrk' else 'processes'}), "
          f"{args.connections} connections, {args.duration:g} s per run")
    print(f"SQLite, one process (omnisdk serve):      {one['rps']:8,.0f} durable webhooks/s "
          f"({one['ok']} 2xx, {one['non2xx']} other, {one['errors']} errors) · {one_us:4.0f} µs CPU/event{p99(one)}")
    print(f"2 gateways -> JetStream, core paused:     {tier['rps']:8,.0f} durable webhooks/s "
          f"({tier['ok']} 2xx, {tier['non2xx']} other, {tier['errors']} errors) · ratio to SQLite "
          f"{tier['rps'] / one['rps'] if one['rps'] else 0:.2f}x{p99(tier)}")
    print(f"  then the core ({store}) drained {tier['ok']} events in {tier['drain']:.1f} s: "
          f"{tier['ok'] / tier['drain'] if tier['drain'] else 0:,.0f} events/s")
    print(f"2 gateways + core consuming, same cores:  {every['rps']:8,.0f} durable webhooks/s "
          f"({every['ok']} 2xx, {every['non2xx']} other, {every['errors']} errors){p99(every)}; "
          f"core done {every['core_done']:.1f} s after the load started")
    print(f"CPU per event: gateway {gw_us:4.0f} µs · core {core_us:4.0f} µs "
          f"(core on {store}{'; the PostgreSQL server is not counted' if pg else ''}; nats-server and the load "
          "tool not counted)")
    for name, us in (("gateway", gw_us), ("core", core_us)):
        print(f"  cores for 50,000 webhooks/s, {name}: {50_000 * us / 1e6:4.1f}")
    print(f"routed interactions/s end to end: SQLite {e2e_sqlite.rate:,.0f}"
          + (f" · PostgreSQL {e2e_pg.rate:,.0f} ({e2e_pg.rate / e2e_sqlite.rate:.0%} of SQLite)" if e2e_pg else
             " · PostgreSQL not reachable"))
    print(f"other processes at the end: {other_load():.2f} cores busy")
    bus_pass = tier["rps"] >= TARGET_BUS_RPS
    print(f"\ntarget 2 gateways' durable webhooks/s >= {TARGET_BUS_RPS:,}: {tier['rps']:,.0f} "
          f"{'PASS' if bus_pass else 'FAIL'}")
    pg_pass = e2e_pg is not None and e2e_pg.rate >= TARGET_PG_SHARE * e2e_sqlite.rate
    print(f"target PostgreSQL end to end >= {TARGET_PG_SHARE:.0%} of SQLite: "
          f"{'PASS' if pg_pass else 'FAIL'}")
    print(f"durability (2xx == PubAcks, all consumed): {'PASS' if ok else 'FAIL'}")
    if not ok:
        return 1
    if args.strict and not (bus_pass and pg_pass):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
