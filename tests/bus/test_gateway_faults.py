"""Fault tests of the JetStream inbox bus, with real processes: a nats-server started here, a
core (``omnisdk serve --role core``) on its own PostgreSQL schema, and gateways (``omnisdk serve
--role gateway``) fed signed WhatsApp webhooks built from the recorded fixture.

- a gateway SIGKILLed mid-replay, 10 times: every webhook answered 2xx reaches the core; after
  the provider's retries (everything sent again) there is exactly one message and one
  interaction per webhook: 0 lost, 0 duplicated;
- NATS restarted mid-replay: while it is down the gateway answers 503 with Retry-After, never
  2xx; it recovers by itself, and every 2xx reaches the core.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from bus_processes import Serve, nats_server, pg_counts, post_all, webhooks, write_config
from postgres_schemas import fresh_schema, schema_url

CYCLES = 10
PER_CYCLE = 60


def wait_processed(store_url: str, schema: str, expected: int, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        counts = pg_counts(store_url, schema)
        if len(counts["messages"]) >= expected and counts["pending"] == 0:
            return counts
        if time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


def test_sigkilled_gateways_lose_and_duplicate_nothing(tmp_path):
    n = CYCLES * PER_CYCLE
    hooks = webhooks(n)
    with fresh_schema() as schema, nats_server(tmp_path) as nats:
        store_url = schema_url(schema)
        config = write_config(tmp_path, store_url, nats.url)
        core = Serve(config, "core", tmp_path / "core.log").start()
        acked: set[int] = set()
        try:
            for cycle in range(CYCLES):
                gateway = Serve(config, "gateway", tmp_path / "gateway.log").start()
                part = list(range(cycle * PER_CYCLE, (cycle + 1) * PER_CYCLE))
                got: list[int] = []

                def on_answer(answer, got=got, gateway=gateway):
                    if answer.status is not None and 200 <= answer.status < 300:
                        got.append(answer.index)
                        if len(got) == PER_CYCLE // 3 and gateway.proc is not None:
                            gateway.proc.kill()  # SIGKILL, mid-replay

                answers = asyncio.run(post_all(gateway.url, hooks, part, on_answer=on_answer))
                gateway.kill()
                assert PER_CYCLE // 3 <= len(got) < PER_CYCLE, f"cycle {cycle}: the kill must land mid-replay"
                assert all(a.status in (None, 200) for a in answers), Counter(a.status for a in answers)
                acked.update(got)

            # every acknowledged webhook reaches the core, while the gateways are gone
            expected = {eid for i in acked for eid in hooks[i].event_ids}
            counts = wait_processed(store_url, schema, len(expected))
            lost = expected - set(counts["messages"])
            assert not lost, f"{len(lost)} of {len(expected)} events answered 2xx were lost"

            # the provider retries everything it did not get a 2xx for (and we resend the rest too)
            gateway = Serve(config, "gateway", tmp_path / "gateway.log").start()
            try:
                answers = asyncio.run(post_all(gateway.url, hooks, list(range(n))))
                assert Counter(a.status for a in answers) == {200: n}
            finally:
                gateway.stop()
            counts = wait_processed(store_url, schema, n)
        finally:
            core.stop()
        ids = Counter(counts["messages"])
        assert set(ids) == {eid for h in hooks for eid in h.event_ids}, (
        f"lost events: inbox {len(counts['inbox'])}, pending {counts['pending']}, failed {counts['failures']}")
        assert max(ids.values()) == 1, "duplicated messages"
        assert counts["interactions"] == n  # one sender per webhook: one interaction each
        assert Counter(counts["inbox"]).most_common(1)[0][1] == 1
        assert "Traceback" not in (tmp_path / "core.log").read_text()


def test_nats_restart_gets_503_never_2xx_and_recovers(tmp_path):
    n = 1200
    hooks = webhooks(n)
    with fresh_schema() as schema, nats_server(tmp_path) as nats:
        store_url = schema_url(schema)
        config = write_config(tmp_path, store_url, nats.url)
        core = Serve(config, "core", tmp_path / "core.log").start()
        gateway = Serve(config, "gateway", tmp_path / "gateway.log").start()
        window: dict[str, float] = {}
        try:
            async def replay():
                async def outage():
                    await asyncio.sleep(1.0)
                    await asyncio.to_thread(nats.stop)
                    window["down"] = time.monotonic()
                    await asyncio.sleep(2.0)
                    window["up"] = time.monotonic()
                    await asyncio.to_thread(nats.start)

                task = asyncio.create_task(outage())
                answers = await post_all(gateway.url, hooks, list(range(n)), in_flight=4, pace=0.03)
                await task
                return answers

            answers = asyncio.run(replay())
            during = [a for a in answers if a.sent > window["down"] and a.answered < window["up"]]
            assert during, "no webhook was sent while NATS was down"
            assert {a.status for a in during} == {503}, Counter(a.status for a in during)
            assert all(a.retry_after for a in during)
            assert all(a.status in (200, 503) for a in answers), Counter(a.status for a in answers)
            after = [a for a in answers if a.sent > window["up"] + 4]
            assert after and all(a.status == 200 for a in after), "the gateway did not recover by itself"
            ok = {a.index for a in answers if a.status == 200}
            expected = {eid for i in ok for eid in hooks[i].event_ids}
            counts = wait_processed(store_url, schema, len(expected))
            lost = expected - set(counts["messages"])
            assert not lost, f"{len(lost)} of {len(expected)} events answered 2xx were lost"
            assert max(Counter(counts["messages"]).values()) == 1
            r = asyncio.run(post_all(gateway.url, hooks, sorted(set(range(n)) - ok)))
            assert all(a.status == 200 for a in r)  # the provider's retries, once it is back
            counts = wait_processed(store_url, schema, n)
            assert len(counts["messages"]) == n and len(set(counts["messages"])) == n
        finally:
            gateway.stop()
            core.stop()
