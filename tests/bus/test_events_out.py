"""Events out: core events written to the bus outbox in the transaction of their change, then
published to NATS JetStream after the commit, at least once, with a stable ``Nats-Msg-Id``.

Real servers only: the shared JetStream at 127.0.0.1:4222 with streams unique to each test, or
a ``nats-server`` of the test's own where a test kills and restarts it.  Customers write
through the sample plugin's signed webhook body (``sample_wire``); the events are read back
from the stream with a pull consumer and parsed with the ``cloudevents.core`` SDK.
"""

from __future__ import annotations

import sqlite3

import nats
import orjson
import pytest
import respx
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from nats_servers import delete_streams, unique_bus
from sample_wire import make_settings, message_event

from omnisdk import events as ev
from omnisdk.bus import events_out
from omnisdk.bus.connection import connect, declare_streams
from omnisdk.bus.subjects import message_id
from omnisdk.config import Settings
from omnisdk.hookspecs import hookimpl
from omnisdk.runtime import Runtime
from omnisdk.store.errors import StoreError
from omnisdk.store.sqlite.transaction import SQLiteTransaction
from omnisdk.testkit.polling import wait_for

NATS_BOUND = 30.0
"""How long a test waits for the bus to catch up (a bound on a wait, not a timing assertion)."""


class Observer:
    """Every event the core hands its in-process observers, in order."""

    def __init__(self) -> None:
        self.events: list[ev.Event] = []

    @hookimpl
    def omnisdk_event(self, event):
        self.events.append(event)


def bus_runtime(tmp_path, bus, **bus_changes) -> tuple[Runtime, Observer]:
    base = make_settings(tmp_path)
    settings = Settings.model_validate({**base.model_dump(mode="json", exclude={"bus"}),
                                        "bus": {**bus.model_dump(), **bus_changes}})
    rt = Runtime(settings)
    observer = Observer()
    rt.host.attach(observer, "observer")
    return rt, observer


async def stream_messages(bus, timeout: float = 2.0) -> list:
    """Every message on the events stream, oldest first (an ephemeral pull consumer)."""
    nc = await nats.connect(bus.servers)
    try:
        js = nc.jetstream()
        info = await js.stream_info(bus.events_stream)
        sub = await js.pull_subscribe(f"{bus.events_subject}.>", stream=bus.events_stream)
        got: list = []
        while len(got) < info.state.messages:
            got += await sub.fetch(min(256, info.state.messages - len(got)), timeout=timeout)
        for msg in got:
            await msg.ack()
        return got
    finally:
        await nc.close()


def parsed(msg) -> ev.Event:
    """A message's body read by the CloudEvents SDK (structured JSON), as an omnisdk Event."""
    return ev.from_cloudevent(JSONFormat().read(CloudEvent, msg.data))


async def drained(rt) -> bool:
    counters = await rt.stats()
    return counters.get("bus.events.queued", 0) > 0 and counters.get("bus.events.backlog", 0) == 0


async def test_events_are_queued_in_the_transaction_of_their_change_only(tmp_path, monkeypatch):
    # no server needed: the runtime is not started, nothing is published
    rt, _ = bus_runtime(tmp_path, unique_bus("nats://127.0.0.1:9"))
    await rt.store.open()
    try:
        await rt.processor.restore()
        await rt.store.append_inbox([message_event(1)], "2026-01-01T00:00:00Z")
        failing = {"left": 1}
        original = SQLiteTransaction.flush_counts

        def flush_then_fail(self):  # the batch's last step before COMMIT
            original(self)
            if failing["left"]:
                failing["left"] -= 1
                raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(SQLiteTransaction, "flush_counts", flush_then_fail)
        with pytest.raises(StoreError):
            await rt.processor.run_once()
        assert await rt.store.transact(lambda tx: tx.bus_events()) == []  # the change rolled back: no row
        assert await rt.interactions() == []
        assert await rt.processor.run_once() == 1  # applied again, committed this time
        rows = await rt.store.transact(lambda tx: tx.bus_events())
        [inter] = await rt.interactions()
        events = [ev.loads(r.payload) for r in rows]
        assert [(e.type, e.id) for e in events][:2] == [(ev.TYPE_MESSAGE_RECEIVED, "m-1"),
                                                       (ev.TYPE_INTERACTION_CREATED, events[1].id)]
        assert events[1].data["id"] == inter.id
        assert {e.type for e in events} >= {ev.TYPE_INTERACTION_QUEUED, ev.TYPE_INTERACTION_OFFERED}
        assert [r.msg_id for r in rows] == [message_id(e.source, e.id) for e in events]
        assert [r.event_type for r in rows] == [e.type for e in events]
        counters = await rt.stats()
        assert counters["bus.events.queued"] == counters["bus.events.backlog"] == len(rows)
    finally:
        await rt.store.close()


async def test_without_a_bus_nothing_is_queued(tmp_path):
    rt = Runtime(make_settings(tmp_path))
    assert rt.events_publisher is None and rt.processor.events_out is None
    await rt.store.open()
    try:
        await rt.processor.restore()
        await rt.store.append_inbox([message_event(1)], "2026-01-01T00:00:00Z")
        await rt.processor.drain()
        assert len(await rt.interactions()) == 1
        assert await rt.store.transact(lambda tx: tx.bus_events()) == []
        assert not any(k.startswith("bus.") for k in await rt.stats())
    finally:
        await rt.store.close()


async def test_events_are_published_after_the_commit_in_order_with_their_stable_id(tmp_path, bus_settings):
    rt, observer = bus_runtime(tmp_path, bus_settings)
    async with rt:
        await rt.store.append_inbox([message_event(1), message_event(2, customer="+15550100002")],
                                    "2026-01-01T00:00:00Z")
        await rt.processor.drain()
        [first, *_] = await rt.interactions()
        await rt.accept(first.id)
        with respx.mock() as mock:
            mock.post("https://sample.test/messages").respond(200, json={"id": "out-1"})
            await rt.reply(first.id, "hello")  # the outbox worker sends it: io.omnisdk.outbound.sent
            await wait_for(lambda: any(e.type == ev.TYPE_OUTBOUND_SENT for e in observer.events), NATS_BOUND)
        await wait_for(lambda: drained(rt), NATS_BOUND)
        counters = await rt.stats()
    msgs = await stream_messages(bus_settings)
    got = [parsed(m) for m in msgs]
    assert [(e.source, e.id) for e in got] == [(e.source, e.id) for e in observer.events]  # every one, in commit order
    assert got == observer.events  # the same CloudEvent, attribute for attribute
    types = {e.type for e in got}
    assert {ev.TYPE_MESSAGE_RECEIVED, ev.TYPE_INTERACTION_CREATED, ev.TYPE_INTERACTION_ACCEPTED,
            ev.TYPE_OUTBOUND_SENT} <= types
    for msg, event in zip(msgs, got, strict=True):
        assert msg.subject == f"{bus_settings.events_subject}.{event.type}"
        assert msg.headers["Nats-Msg-Id"] == message_id(event.source, event.id)
        assert msg.headers["Content-Type"] == "application/cloudevents+json"
    assert counters["bus.events.published"] == len(msgs) == counters["bus.events.queued"]
    assert counters["bus.events.backlog"] == 0


async def test_nats_down_the_backlog_grows_and_drains_when_it_is_back(tmp_path, own_nats):
    server = own_nats()
    bus = unique_bus(server.url, duplicate_window=60.0)
    rt, observer = bus_runtime(tmp_path, bus)
    rt_publisher = rt.events_publisher
    assert rt_publisher is not None
    rt_publisher.backoff.cap = 0.5  # a quick test: retry at least twice a second
    async with rt:
        await rt.store.append_inbox([message_event(1)], "2026-01-01T00:00:00Z")
        await rt.processor.drain()
        await wait_for(lambda: drained(rt), NATS_BOUND)
        server.stop()
        for n in range(2, 12):  # customers go on writing while NATS is down
            await rt.store.append_inbox([message_event(n, customer=f"+155501000{n:02d}")], "2026-01-01T00:00:00Z")
            await rt.processor.drain()
        down = await rt.stats()
        assert down["bus.events.backlog"] == down["bus.events.queued"] - down["bus.events.published"] > 10
        await wait_for(lambda: not rt_publisher.connected, NATS_BOUND)
        server.start()
        await wait_for(lambda: drained(rt), NATS_BOUND)
        up = await rt.stats()
    msgs = await stream_messages(bus)
    ids = [m.headers["Nats-Msg-Id"] for m in msgs]
    assert len(ids) == len(set(ids)) == up["bus.events.queued"] == len(observer.events)  # none lost, none twice
    assert set(ids) == {message_id(e.source, e.id) for e in observer.events}
    assert {e.id for e in map(parsed, msgs) if e.type == ev.TYPE_MESSAGE_RECEIVED} == {f"m-{n}" for n in range(1, 12)}
    await delete_streams(bus)


async def test_a_publish_repeated_after_a_lost_delete_is_dropped_by_the_server(tmp_path, bus_settings, monkeypatch):
    rt, observer = bus_runtime(tmp_path, bus_settings)
    publisher = rt.events_publisher
    publisher.lease = 0.3  # a pass that dies after its publishes: its rows come back this soon
    original = events_out._record
    lost = {"left": 1}

    def lose_the_delete(tx, *args):  # the publisher dies between the PubAck and the delete
        if lost["left"]:
            lost["left"] -= 1
            raise StoreError("the store went away before the delete")
        original(tx, *args)

    monkeypatch.setattr(events_out, "_record", lose_the_delete)
    async with rt:
        await rt.store.append_inbox([message_event(1)], "2026-01-01T00:00:00Z")
        await rt.processor.drain()
        await wait_for(lambda: drained(rt), NATS_BOUND)
        counters = await rt.stats()
    assert lost["left"] == 0
    msgs = await stream_messages(bus_settings)
    assert len(msgs) == len(observer.events) == counters["bus.events.published"]  # each once on the stream
    assert counters["bus.events.duplicates"] == len(observer.events)  # every one was published twice


async def test_an_event_too_big_for_the_server_is_marked_failed_and_the_others_go_on(tmp_path, own_nats):
    server = own_nats("max_payload: 4096\n")
    bus = unique_bus(server.url)
    rt, observer = bus_runtime(tmp_path, bus)
    async with rt:
        await rt.store.append_inbox([message_event(1, text="x" * 8000), message_event(2, customer="+15550100002")],
                                    "2026-01-01T00:00:00Z")
        await rt.processor.drain()
        await wait_for(lambda: drained(rt), NATS_BOUND)
        counters = await rt.stats()
        [failed] = await rt.store.transact(lambda tx: tx.bus_events(state="failed"))
    assert orjson.loads(failed.payload)["id"] == "m-1" and "max_payload" in failed.last_error
    msgs = await stream_messages(bus)
    published = [parsed(m) for m in msgs]
    assert [e for e in observer.events if e.id != "m-1"] == published  # only the big one is missing
    assert counters["bus.events.failed"] == 1 and counters["bus.events.backlog"] == 0
    await delete_streams(bus)


async def test_a_restart_keeps_the_limits_an_operator_set_on_the_stream(bus_settings):
    bus = await connect(bus_settings)
    try:
        config = (await bus.js.stream_info(bus_settings.events_stream)).config
        config.max_age = 3600.0  # nats stream edit --max-age 1h
        await bus.js.update_stream(config)
        await declare_streams(bus.js, bus_settings)  # the next start
        kept = (await bus.js.stream_info(bus_settings.events_stream)).config
        assert kept.max_age == 3600.0 and kept.subjects == [f"{bus_settings.events_subject}.>"]
        changed = bus_settings.model_copy(update={"duplicate_window": 30.0})
        await declare_streams(bus.js, changed)  # a changed window is applied, the limit still kept
        kept = (await bus.js.stream_info(bus_settings.events_stream)).config
        assert (kept.duplicate_window, kept.max_age) == (30.0, 3600.0)
    finally:
        await bus.close()
