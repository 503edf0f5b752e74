"""The PostgreSQL leader lease and a runtime standing by on it, in process, on the test server:
one leader per schema, several schemas side by side each with its own leader, a lost session
is a lost lease (and the standby takes it), a standby answers 503 and leaves the leader's
in-flight sends alone until it leads."""

from __future__ import annotations

import asyncio
import time

import httpx
import psycopg
import respx
from postgres_schemas import POSTGRES_URL, fresh_schema, schema_url
from probe_transport import Probe
from sample_wire import SECRET, message_event

from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.leadership.postgres_lease import PostgresLease
from omnisdk.runtime import Runtime
from omnisdk.store.postgres.store import PostgresStore
from omnisdk.testkit.polling import wait_for


def settings_on(schema: str) -> Settings:
    return Settings(
        store={"url": schema_url(schema), "synchronous": "NORMAL"},
        plugins={"modules": ["sample_plugin"], "allow": ["sample_plugin"]},
        routing={"queues": [{"name": "support"}], "agents": [{"id": "alice", "capacity": {"chat": 5}}]},
        accounts={"sample": {"acme": {"secret": SECRET, "api_base_url": "https://sample.test"}}},
    )


def terminate(pid: int) -> None:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_one_lease_per_schema_and_a_lost_session_frees_it():
    with fresh_schema() as a, fresh_schema() as b:
        first, second, other = PostgresLease(POSTGRES_URL, a), PostgresLease(POSTGRES_URL, a), PostgresLease(POSTGRES_URL, b)
        try:
            assert await first.try_acquire() and first.valid()
            assert not await second.try_acquire() and not second.valid()
            assert await other.try_acquire(), "another routing domain has a lease of its own"
            assert await first.keepalive()
            terminate(first.backend_pid())  # the session ends (as when the process dies)
            assert not await first.keepalive() and not first.valid()
            assert await second.try_acquire() and second.valid()
            assert not await first.try_acquire()
        finally:
            for lease in (first, second, other):
                await lease.release()


async def test_an_unreachable_server_is_no_lease_and_no_error():
    lease = PostgresLease("postgresql://postgres@127.0.0.1:1/test", "nowhere")
    assert not await lease.try_acquire() and not lease.valid()


async def test_routing_domains_side_by_side_each_lead_and_a_second_core_stands_by():
    with fresh_schema() as a, fresh_schema() as b:
        lead_a, lead_b, standby_a = Runtime(settings_on(a)), Runtime(settings_on(b)), Runtime(settings_on(a))
        await lead_a.start()
        await lead_b.start()
        await standby_a.start()
        try:
            assert lead_a.leadership.state == "leader" and lead_b.leadership.state == "leader"
            assert standby_a.leadership.state == "standby"
            assert (lead_a.leadership.lease.domain, lead_b.leadership.lease.domain) == (a, b)
            # each leader routes its own domain's events
            await lead_a.store.append_inbox([message_event(1)], "2026-01-01T00:00:00Z")
            await lead_b.store.append_inbox([message_event(2, customer="+15550100002")], "2026-01-01T00:00:00Z")
            await wait_for(lambda: lead_a.engine.load.get("alice") and lead_b.engine.load.get("alice"), 10)
            assert (await lead_a.interactions())[0].customer == "+15550100001"
            assert (await lead_b.interactions())[0].customer == "+15550100002"
            assert not any(standby_a.engine.load.values()), "a standby routes nothing"
        finally:
            for rt in (standby_a, lead_b, lead_a):
                await rt.stop()


async def test_the_standby_answers_503_and_takes_over_when_the_leader_stops():
    with fresh_schema() as schema:
        leader, standby = Runtime(settings_on(schema)), Runtime(settings_on(schema))
        await leader.start()
        await leader.store.append_inbox([message_event(1)], "2026-01-01T00:00:00Z")
        await wait_for(lambda: leader.engine.load.get("alice"), 10)
        await standby.start()
        try:
            transport = httpx.ASGITransport(app=create_app(standby, manage_runtime=False))
            async with httpx.AsyncClient(transport=transport, base_url="http://core") as client:
                ready = await client.get("/readyz")
                assert ready.status_code == 503 and ready.json()["error"] == "standby"
                api = await client.get("/v1/interactions")
                assert api.status_code == 503 and api.json()["error"] == "standby"
                assert api.headers["retry-after"] == "1"
                assert standby.outbox.fence == standby.leadership.valid and not standby.outbox.fence()
                assert leader.outbox.fence()  # the leader's fence is open
                await leader.stop()  # a clean stop gives the lease up
                start = time.monotonic()
                await wait_for(lambda: standby.leadership.state == "leader", 5)
                took = time.monotonic() - start
                assert (await client.get("/readyz")).status_code == 200
            print(f"takeover after a clean stop: {took:.2f} s")
            assert standby.engine.load.get("alice") == {"chat": 1}, "the engine was rebuilt from the store"
        finally:
            await standby.stop()
            await leader.stop()


async def test_a_standby_leaves_the_leaders_inflight_sends_alone_until_it_leads():
    with fresh_schema() as schema:
        store = PostgresStore(POSTGRES_URL, schema=schema)
        await store.open()
        holder = PostgresLease(POSTGRES_URL, schema)  # "the leader": holds the lease, is sending a row
        assert await holder.try_acquire()

        def sending(tx):
            tx.enqueue_outbox(idempotency_key="k-1", plugin="sample", account="acme", interaction_id=None,
                              payload={"customer": "+15550100001", "business": "biz", "text": "hi"}, now=0.0)
            return tx.claim_outbox(1e12, 10)

        assert len(await store.transact(sending)) == 1
        standby = Runtime(settings_on(schema))
        try:
            with respx.mock() as mock:
                route = mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
                await standby.start()
                await asyncio.sleep(1.0)
                state = await store.transact(lambda tx: tx.c.execute("SELECT state FROM outbox").fetchone()[0])
                assert state == "sending" and not route.calls, "a standby must not requeue nor send"
                terminate(holder.backend_pid())  # the leader's session ends: it cannot be sending now
                await wait_for(lambda: standby.leadership.state == "leader", 5)
                await wait_for(lambda: route.calls, 5)
                assert [c.request.headers["idempotency-key"] for c in route.calls] == ["k-1"]
        finally:
            await standby.stop()
            await holder.release()
            await store.close()


def with_transports(rt: Runtime, *transports: Probe) -> Runtime:
    rt.adapters[("sample", "acme")].transports = lambda: list(transports)  # type: ignore[method-assign]
    return rt


async def test_an_exclusive_transport_reads_only_on_the_leader_and_moves_with_the_lease():
    with fresh_schema() as schema:
        mail_a, feed_a = Probe("mail:acme", exclusive=True), Probe("feed:acme", exclusive=False)
        mail_b, feed_b = Probe("mail:acme", exclusive=True), Probe("feed:acme", exclusive=False)
        leader = with_transports(Runtime(settings_on(schema)), mail_a, feed_a)
        standby = with_transports(Runtime(settings_on(schema)), mail_b, feed_b)
        await leader.start()
        await standby.start()
        try:
            assert leader.leadership.state == "leader" and standby.leadership.state == "standby"
            # the standby's transports did start: the shared one reads, the mailbox does not
            await wait_for(lambda: mail_a.running and feed_a.running and feed_b.running, 5)
            assert mail_b.runs == 0 and not mail_b.running
            await leader.stop()  # a clean stop gives the lease up
            assert not mail_a.running
            await wait_for(lambda: standby.leadership.state == "leader", 5)
            await wait_for(lambda: mail_b.running, 5)
            assert (mail_a.runs, mail_b.runs) == (1, 1) and feed_b.running
        finally:
            await standby.stop()
            await leader.stop()
        assert not mail_b.running and not feed_b.running


async def test_a_lost_lease_stops_the_exclusive_transport_at_once():
    with fresh_schema() as schema:
        mail, feed = Probe("mail:acme", exclusive=True), Probe("feed:acme", exclusive=False)
        rt = with_transports(Runtime(settings_on(schema)), mail, feed)
        holder = PostgresLease(POSTGRES_URL, schema)
        await rt.start()
        try:
            await wait_for(lambda: mail.running, 5)
            terminate(rt.leadership.lease.backend_pid())  # the session ends: the lease is gone
            start = time.monotonic()
            while not await holder.try_acquire():  # someone else takes it (as soon as it is free)
                assert time.monotonic() - start < 5, "the lease was not freed"
                await asyncio.sleep(0.02)
            await wait_for(lambda: rt.leadership.state == "standby", 5)
            assert not mail.running and mail.runs == 1 and feed.running
            await holder.release()
            await wait_for(lambda: rt.leadership.state == "leader", 5)
            await wait_for(lambda: mail.running, 5)
            assert mail.runs == 2
        finally:
            await rt.stop()
            await holder.release()
