"""Restart PostgreSQL during a replay: an ingress and a core on it answer 503 (never 2xx) while
it is down, and recover by themselves once it is back; 0 events lost among the 2xx.

The server is a throwaway cluster of the test's own (``pg_cluster.py``: initdb + pg_ctl on a
free port), never the shared one.  The down time (13 s) is longer than the store's wait for a
pooled connection (10 s, ``connect_timeout``), so that webhooks sent while it is down get
their 503 before it is back; the core has lost its lease at once and answers 503 ``standby``.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import psycopg
from pg_cluster import ThrowawayCluster, require_cluster
from sample_wire import SECRET, msg, sample_body, sample_signature
from serve_process import start_server

from omnisdk.testkit.ports import free_port
from omnisdk.testkit.processes import stop_processes

N = 240
DOWN_SECONDS = 13.0
RECOVERY_BOUND = 10.0  # seconds from the server answering again to the core's /readyz 200


def write_config(path, store_url: str):
    path.write_text(
        f'[store]\nurl = "{store_url}"\nsynchronous = "NORMAL"\n'
        '[plugins]\nallow = ["sample_plugin"]\nmodules = ["sample_plugin"]\n'
        '[[routing.agents]]\nid = "alice"\ncapacity = { chat = 1000 }\n'
        f'[accounts.sample.acme]\nsecret = "{SECRET}"\n'
    )
    return path


class Replay:
    """Posts bodies to the ingress and keeps every answer: (index, sent, answered, status)."""

    def __init__(self, port: int, bodies: list[bytes]) -> None:
        self.url = f"http://127.0.0.1:{port}/webhooks/sample/acme"
        self.bodies = bodies
        self.answers: list[tuple[int, float, float, int]] = []

    async def post(self, client: httpx.AsyncClient, indexes, concurrency: int = 8, pace: float = 0.0) -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                body = self.bodies[i]
                sent = time.monotonic()
                try:
                    r = await client.post(self.url, content=body, headers={"x-sample-signature": sample_signature(body)})
                    status = r.status_code
                except httpx.HTTPError:
                    status = 0
                self.answers.append((i, sent, time.monotonic(), status))
                if pace:
                    await asyncio.sleep(pace)

        await asyncio.gather(*(one(i) for i in indexes))

    def acked(self) -> set[int]:
        return {i for i, _, _, s in self.answers if 200 <= s < 300}


async def probe(client: httpx.AsyncClient, url: str) -> int:
    try:
        return (await client.get(url, timeout=8)).status_code
    except httpx.HTTPError:
        return 0


async def scenario(pg: ThrowawayCluster, ingress: int, core: int, bodies: list[bytes]) -> dict:
    replay = Replay(ingress, bodies)
    third = N // 3
    out: dict = {"core_readyz": [], "core_api": [], "ingress_readyz": []}
    async with httpx.AsyncClient(timeout=30) as client:
        await replay.post(client, range(third))
        await asyncio.to_thread(pg.stop)
        down = time.monotonic()
        during = asyncio.create_task(replay.post(client, range(third, 2 * third), concurrency=16, pace=0.05))
        while time.monotonic() - down < DOWN_SECONDS:
            out["core_readyz"].append(await probe(client, f"http://127.0.0.1:{core}/readyz"))
            out["core_api"].append(await probe(client, f"http://127.0.0.1:{core}/v1/interactions"))
            out["ingress_readyz"].append(await probe(client, f"http://127.0.0.1:{ingress}/readyz"))
            await asyncio.sleep(0.3)
        up = time.monotonic()
        await asyncio.to_thread(pg.start)
        back = time.monotonic()
        while await probe(client, f"http://127.0.0.1:{core}/readyz") != 200:
            assert time.monotonic() - back < 60, "the core did not recover"
            await asyncio.sleep(0.05)
        out["core_recovery"] = time.monotonic() - back
        await during
        await replay.post(client, range(2 * third, N))
        out["in_window"] = [(i, s) for i, sent, answered, s in replay.answers if sent >= down and answered <= up]
        out["acked_first"] = replay.acked()
        for _ in range(20):  # what was refused is retried, as a provider does
            missing = sorted(set(range(N)) - replay.acked())
            if not missing:
                break
            await replay.post(client, missing)
            await asyncio.sleep(0.2)
        out["acked"] = replay.acked()
        out["api_after"] = await probe(client, f"http://127.0.0.1:{core}/v1/interactions")
    return out


def test_postgresql_restart_mid_replay_503_while_down_then_recovery(tmp_path):
    require_cluster()
    with ThrowawayCluster() as pg:
        config = write_config(tmp_path / "omnisdk.toml", f"{pg.url}?schema=restart")
        bodies = [sample_body([msg(i, customer=f"+1555{i:07d}")]) for i in range(N)]
        ports = {"core": free_port(), "ingress": free_port()}
        procs = []
        try:
            procs.append(start_server(config, ports["core"], "--role", "core"))
            procs.append(start_server(config, ports["ingress"], "--role", "ingress"))
            out = asyncio.run(scenario(pg, ports["ingress"], ports["core"], bodies))

            print(f"\nwhile down: {len(out['in_window'])} webhooks answered "
                  f"{sorted({s for _, s in out['in_window']})}; core /readyz {sorted(set(out['core_readyz']))}, "
                  f"/v1 {sorted(set(out['core_api']))}; core ready {out['core_recovery']:.2f} s after the server")
            assert out["in_window"], "some webhooks must have been answered while the server was down"
            assert all(not 200 <= s < 300 for _, s in out["in_window"]), "a 2xx while the store was down"
            assert 503 in {s for _, s in out["in_window"]}
            assert set(out["core_readyz"]) == {503} and set(out["core_api"]) == {503}
            assert set(out["ingress_readyz"]) <= {503, 0} and 503 in out["ingress_readyz"]
            assert out["core_recovery"] <= RECOVERY_BOUND
            assert out["api_after"] == 401, "the leader's agent API is back (asks for a key, not 503)"
            assert out["acked"] == set(range(N)), "every webhook is accepted again once the server is back"

            deadline = time.monotonic() + 30
            while True:
                with psycopg.connect(pg.url, autocommit=True) as conn:
                    conn.execute("SET search_path TO restart")
                    ids = {r[0] for r in conn.execute("SELECT id FROM inbox")}
                    inter = conn.execute("SELECT count(*) FROM interactions").fetchone()[0]
                    inbound = conn.execute("SELECT count(*) FROM messages WHERE direction = 'inbound'").fetchone()[0]
                if inter == N and inbound == N or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            lost = {f"m-{i}" for i in out["acked_first"]} - ids
            assert not lost, f"{len(lost)} events answered 2xx were lost"
            assert (inter, inbound) == (N, N), "every event routed once, none twice"
        finally:
            stop_processes(procs, grace=15)
