"""The inbox bus in one process, against a real nats-server started here: the gateway's publish
path (2xx after PubAck, 503 when NATS is down, the message format), the core's consumer (commit
then ack, a failed commit retried, order per conversation), and the configuration checks."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest
from bus_processes import ACCOUNT, WEBHOOK_PATH, nats_server, webhooks

from omnisdk.config import Settings
from omnisdk.errors import ConfigError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk.runtime import Runtime
from omnisdk.store.sqlite import SQLiteStore


def settings_for(tmp_path, nats_url: str, **bus) -> Settings:
    from omnisdk_whatsapp.adapter import WhatsAppAdapter

    return Settings.model_validate({
        "store": {"url": f"sqlite:///{tmp_path / 'omni.db'}"},
        "bus": {"url": nats_url, "publish_timeout": 0.5, "partitions": 4, **bus},
        "plugins": {"allow": ["whatsapp"]},
        "routing": {"agents": [{"id": "alice", "capacity": {"whatsapp": 1000}}]},
        "accounts": {"whatsapp": {ACCOUNT: WhatsAppAdapter.example_settings()}},
    })


async def post(client: httpx.AsyncClient, hook) -> httpx.Response:
    return await client.post(WEBHOOK_PATH, content=hook.body, headers={
        "content-type": "application/json", "x-hub-signature-256": hook.signature})


def gateway_client(runtime: Runtime) -> httpx.AsyncClient:
    from omnisdk.gateway import create_app

    app = create_app(runtime, manage_runtime=False)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")


async def stream_messages(nats_url: str, subject: str, n: int) -> list:
    import nats

    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(subject, durable=None)
        return await sub.fetch(n, timeout=2)
    finally:
        await nc.close()


async def test_a_gateway_publishes_each_event_and_answers_after_the_puback(tmp_path):
    hooks = webhooks(3)
    with nats_server(tmp_path) as nats:
        rt = Runtime(settings_for(tmp_path, nats.url), role="gateway")
        await rt.start()
        try:
            async with gateway_client(rt) as client:
                for hook in hooks:
                    assert (await post(client, hook)).status_code == 200
                again = await post(client, hooks[0])  # the provider's retry
                assert again.status_code == 200
                ready = await client.get("/readyz")
                assert ready.json() == {"status": "ready", "role": "gateway", "bus": "connected"}
                assert (await client.get("/v1/interactions")).status_code == 404  # no agent API
                metrics = (await client.get("/metrics")).text
        finally:
            await rt.stop()
        assert rt.bus_counts.values["bus.publish.acked"] == 3
        assert rt.bus_counts.values["bus.publish.duplicates"] == 1  # dropped by the duplicate window
        assert 'omnisdk_bus_events_total{counter="bus.publish.acked"} 3.0' in metrics
        msgs = await stream_messages(nats.url, "omnisdk.inbox.*", 10)
    assert not (tmp_path / "omni.db").exists()  # a gateway opens no store
    assert len(msgs) == 3
    from omnisdk.bus.subjects import inbox_subject, message_id

    for msg, hook in zip(msgs, hooks, strict=True):
        doc = orjson.loads(msg.data)  # CloudEvents structured JSON mode
        assert doc["specversion"] == "1.0" and doc["type"] == TYPE_MESSAGE_RECEIVED
        assert [doc["id"]] == hook.event_ids
        assert msg.headers["Nats-Msg-Id"] == message_id(doc["source"], doc["id"])
        assert msg.headers["Content-Type"] == "application/cloudevents+json"
        assert msg.headers["Omnisdk-Received-At"].endswith("Z")
        assert msg.subject == inbox_subject("omnisdk.inbox", doc["partitionkey"], 4)


async def test_a_gateway_answers_503_while_nats_is_down_and_recovers(tmp_path):
    hooks = webhooks(3)
    with nats_server(tmp_path) as nats:
        rt = Runtime(settings_for(tmp_path, nats.url), role="gateway")
        await rt.start()
        try:
            async with gateway_client(rt) as client:
                assert (await post(client, hooks[0])).status_code == 200
                await asyncio.to_thread(nats.stop)
                down = await post(client, hooks[1])
                assert down.status_code == 503
                assert down.headers["retry-after"] == "1"
                assert down.json()["error"] == "bus_unavailable"
                assert (await client.get("/readyz")).status_code == 503
                await asyncio.to_thread(nats.start)
                for _ in range(100):  # nats-py reconnects by itself (0.5 s apart)
                    if (await client.get("/readyz")).status_code == 200:
                        break
                    await asyncio.sleep(0.1)
                for _ in range(50):  # JetStream may need a moment after the connection is back
                    answer = await post(client, hooks[1])
                    if answer.status_code == 200:
                        break
                    assert answer.status_code == 503
                    await asyncio.sleep(0.1)
                assert answer.status_code == 200
        finally:
            await rt.stop()
        assert rt.bus_counts.values["bus.publish.failed"] >= 1


async def test_the_core_consumes_commits_then_acks_and_keeps_conversation_order(tmp_path):
    with nats_server(tmp_path) as nats:
        settings = settings_for(tmp_path, nats.url)
        gw = Runtime(settings, role="gateway")
        await gw.start()
        events = [Event(id=f"e-{c}-{k}", source="/whatsapp/acme", type="com.example.note", partitionkey=f"conv-{c}",
                        data={"k": k}) for k in range(20) for c in range(5)]
        try:
            for i in range(0, len(events), 7):
                await gw.store.append_inbox(events[i:i + 7], f"2030-01-01T00:00:{i % 60:02d}Z")
        finally:
            await gw.stop()
        store = SQLiteStore(tmp_path / "core.db", synchronous="NORMAL")
        await store.open()
        from omnisdk.bus.inbox_consumer import InboxConsumer

        consumer = InboxConsumer(store, settings.bus)
        await consumer.start()
        try:
            for _ in range(100):
                if consumer.counts.values["bus.inbox.committed"] == len(events):
                    break
                await asyncio.sleep(0.05)
        finally:
            await consumer.stop()
        claimed = await store.transact(lambda tx: tx.claim_inbox(1000))
        await store.close()
        assert len(claimed) == len(events)
        for c in range(5):  # each conversation in its publish order
            assert [e.data["k"] for _, e in claimed if e.partitionkey == f"conv-{c}"] == list(range(20))
        # everything was acked after the commit: a new consumer on the same durable gets nothing
        again = SQLiteStore(tmp_path / "core.db", synchronous="NORMAL")
        await again.open()
        second = InboxConsumer(again, settings.bus)
        await second.start()
        await asyncio.sleep(1.5)
        await second.stop()
        await again.close()
        assert second.counts.values["bus.inbox.consumed"] == 0


class FlakyStore:
    """A store whose first ``failures`` inbox commits fail (a PostgreSQL restart, a full disk)."""

    def __init__(self, store: SQLiteStore, failures: int) -> None:
        self.store, self.failures, self.calls = store, failures, 0

    async def append_inbox(self, events, received_at):
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            raise OSError("disk I/O error")
        return await self.store.append_inbox(events, received_at)

    def count_later(self, name: str, n: int = 1) -> None:
        self.store.count_later(name, n)


async def test_a_failed_commit_is_not_acked_and_is_committed_again(tmp_path):
    with nats_server(tmp_path) as nats:
        settings = settings_for(tmp_path, nats.url)
        gw = Runtime(settings, role="gateway")
        await gw.start()
        events = [Event(id=f"e-{k}", source="/whatsapp/acme", type="com.example.note", partitionkey="c")
                  for k in range(10)]
        try:
            await gw.store.append_inbox(events, "2030-01-01T00:00:00Z")
        finally:
            await gw.stop()
        from omnisdk.bus.inbox_consumer import InboxConsumer

        inner = SQLiteStore(tmp_path / "core.db", synchronous="NORMAL")
        await inner.open()
        flaky = FlakyStore(inner, failures=3)
        consumer = InboxConsumer(flaky, settings.bus)  # type: ignore[arg-type]
        await consumer.start()
        try:
            for _ in range(100):
                if consumer.counts.values["bus.inbox.committed"] == 10:
                    break
                await asyncio.sleep(0.05)
        finally:
            await consumer.stop()
        claimed = await inner.transact(lambda tx: tx.claim_inbox(100))
        await inner.close()
    assert consumer.counts.values["bus.inbox.commit_failed"] == 3
    assert [e.id for _, e in claimed] == [e.id for e in events]


async def test_a_core_on_the_bus_routes_what_a_gateway_published(tmp_path):
    hooks = webhooks(5)
    with nats_server(tmp_path) as nats:
        settings = settings_for(tmp_path, nats.url)
        core = Runtime(settings, role="core")
        gw = Runtime(settings, role="gateway")
        await core.start()
        await gw.start()
        try:
            async with gateway_client(gw) as client:
                for hook in hooks:
                    assert (await post(client, hook)).status_code == 200
            for _ in range(100):
                page = await core.store.transact(lambda tx: tx.counters())
                if page.get("events.accepted") == 5 and core.bus_counts.values["bus.inbox.consumed"] == 5:
                    break
                await asyncio.sleep(0.05)
            for _ in range(100):
                backlog = await core.store.transact(lambda tx: tx.inbox_backlog())
                if backlog == 0:
                    break
                await asyncio.sleep(0.05)
            counters = await core.store.transact(lambda tx: tx.counters())
        finally:
            await gw.stop()
            await core.stop()
    assert counters["events.accepted"] == 5 and counters["bus.inbox.consumed"] == 5
    assert backlog == 0


def test_the_gateway_role_needs_a_bus(tmp_path):
    from omnisdk_whatsapp.adapter import WhatsAppAdapter

    settings = Settings.model_validate({
        "store": {"url": f"sqlite:///{tmp_path / 'omni.db'}"}, "plugins": {"allow": ["whatsapp"]},
        "accounts": {"whatsapp": {ACCOUNT: WhatsAppAdapter.example_settings()}}})
    with pytest.raises(ConfigError, match=r"\[bus\] url"):
        Runtime(settings, role="gateway")
