"""A gateway killed with SIGKILL mid-replay keeps every event it answered 2xx for; replaying
everything twice afterwards adds nothing.  Runs the real ``omnisdk serve`` in a subprocess."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import httpx
from sample_wire import SECRET, msg, sample_body, sample_signature
from serve_process import start_server

from omnisdk.testkit.ports import free_port
from omnisdk.testkit.processes import stop_processes

N = 600


async def post_all(port: int, bodies: list[bytes], *, kill_after: int | None = None, proc=None) -> set[int]:
    """POST bodies with 16 in flight; return the indexes answered 2xx.  Optionally SIGKILL the
    server once ``kill_after`` answers have come back."""
    acked: set[int] = set()
    sem = asyncio.Semaphore(16)
    url = f"http://127.0.0.1:{port}/webhooks/sample/acme"
    async with httpx.AsyncClient(timeout=5) as client:

        async def one(i: int, body: bytes) -> None:
            async with sem:
                try:
                    r = await client.post(url, content=body, headers={"x-sample-signature": sample_signature(body)})
                except httpx.HTTPError:
                    return
                if 200 <= r.status_code < 300:
                    acked.add(i)
                    if kill_after is not None and len(acked) == kill_after:
                        proc.send_signal(signal.SIGKILL)

        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    return acked


def inbox_ids(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM inbox")}
    finally:
        conn.close()


def counters(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT name, value FROM counters"))
    finally:
        conn.close()


def test_sigkill_mid_replay_loses_no_acknowledged_event(tmp_path):
    db = tmp_path / "omni.db"
    config = tmp_path / "omnisdk.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{db}"\n'
        '[plugins]\nallow = ["sample_plugin", "slow_commits"]\nmodules = ["sample_plugin", "slow_commits"]\n'
        '[[routing.agents]]\nid = "alice"\ncapacity = { chat = 1000 }\n'
        f'[accounts.sample.acme]\nsecret = "{SECRET}"\n'
    )
    bodies = [sample_body([msg(i, customer=f"+1555{i:07d}")]) for i in range(N)]

    port = free_port()
    proc = start_server(config, port)
    acked = asyncio.run(post_all(port, bodies, kill_after=N // 3, proc=proc))
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert N // 3 <= len(acked) < N, "the kill must land mid-replay"

    stored = inbox_ids(db)
    missing = {f"m-{i}" for i in acked} - stored
    assert not missing, f"{len(missing)} events answered 2xx were lost"

    port = free_port()
    proc = start_server(config, port)
    try:
        assert asyncio.run(post_all(port, bodies)) == set(range(N))
        after_first = counters(db)
        assert inbox_ids(db) == {f"m-{i}" for i in range(N)}
        assert asyncio.run(post_all(port, bodies)) == set(range(N))
        # wait for the processor to catch up, then check nothing was added by the second replay
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            conn = sqlite3.connect(db)
            pending = conn.execute(
                "SELECT COUNT(*) FROM inbox WHERE seq > COALESCE((SELECT seq FROM inbox_cursor), 0)"
            ).fetchone()[0]
            conn.close()
            if pending == 0:
                break
            time.sleep(0.1)
        after_second = counters(db)
        assert after_second["events.accepted"] == after_first["events.accepted"]
        assert after_second["events.deduplicated"] - after_first["events.deduplicated"] == N
        conn = sqlite3.connect(db)
        n_inter = conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0]
        n_msgs = conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        conn.close()
        assert n_inter == N and n_msgs == N
    finally:
        stop_processes([proc])
