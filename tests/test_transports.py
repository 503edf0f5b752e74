"""Pull-based inbound transports (:mod:`omnisdk.inbox.transports`) run by the runtime: what they
deliver is in the inbox and processed, the source is acknowledged only after the commit, a
failed commit leaves the item unacknowledged (and it is delivered later), stop ends the task."""

from __future__ import annotations

import asyncio

from probe_transport import Probe
from sample_wire import message_event

from omnisdk.adapters import InboundTransport
from omnisdk.bus.settings import BusSettings
from omnisdk.inbox.commit import commit_inbox
from omnisdk.inbox.transports import (
    Backoff,
    LeaderTransports,
    is_exclusive,
    placement,
    sleep_or_stop,
)
from omnisdk.runtime import Runtime
from omnisdk.testkit.polling import wait_for


class FakeTransport:
    """An in-memory source: ``items`` (id → events); acknowledged ids go to ``acked``."""

    def __init__(self, items: dict[str, list], name: str = "fake:acme", exclusive: bool = True) -> None:
        self.name = name
        self.exclusive = exclusive
        self.items = dict(items)
        self.acked: list[str] = []
        self.log: list[str] = []
        self.stopped = False

    async def run(self, deliver, stop, count) -> None:
        while not stop.is_set():
            for key in [k for k in self.items if k not in self.acked]:
                try:
                    await deliver(self.items[key], "2026-01-01T00:00:00Z")
                except Exception:
                    self.log.append(f"failed {key}")
                    count("retries")
                    break
                self.log.append(f"ack {key}")  # only after deliver returned: after the commit
                self.acked.append(key)
            if await sleep_or_stop(stop, 0.01):
                break
        self.stopped = True


def _runtime(settings, transport) -> Runtime:
    rt = Runtime(settings)
    rt.adapters[("sample", "acme")].transports = lambda: [transport]  # type: ignore[method-assign]
    return rt


def test_the_fake_satisfies_the_protocol():
    assert isinstance(FakeTransport({}), InboundTransport)


async def test_delivered_events_are_in_the_inbox_and_processed(settings):
    fake = FakeTransport({"a": [message_event(1, customer="+15550100001")],
                          "b": [message_event(2, customer="+15550100002")]})
    rt = _runtime(settings, fake)
    await rt.start()
    try:
        async def two():
            return len(await rt.interactions()) == 2
        await wait_for(two)
        assert fake.acked == ["a", "b"]
        stats = await rt.stats()
        assert stats["transport.fake:acme.delivered"] == 2
        assert stats["events.accepted"] == 2
    finally:
        await rt.stop()
    assert fake.stopped


async def test_the_ack_happens_only_after_the_commit(settings):
    fake = FakeTransport({"a": [message_event(1)]})
    rt = _runtime(settings, fake)
    real = rt.store.append_inbox
    calls = []

    async def flaky(events, received_at):
        calls.append(len(fake.acked))  # nothing acknowledged before the commit is asked for
        if len(calls) == 1:
            raise OSError("disk is gone")
        return await real(events, received_at)

    rt.store.append_inbox = flaky  # type: ignore[method-assign]
    await rt.start()
    try:
        async def one():
            return len(await rt.interactions()) == 1
        await wait_for(one)
        assert fake.log[0] == "failed a" and fake.log[1] == "ack a"
        assert calls == [0, 0]
        stats = await rt.stats()
        assert stats["transport.fake:acme.failed"] == 1
        assert stats["transport.fake:acme.retries"] == 1
        assert stats["transport.fake:acme.delivered"] == 1
    finally:
        await rt.stop()


async def test_redelivery_after_a_crash_before_the_ack_adds_nothing(settings):
    fake = FakeTransport({"a": [message_event(1)]})
    rt = _runtime(settings, fake)
    await rt.start()
    try:
        async def one():
            return len(await rt.interactions()) == 1
        await wait_for(one)
        fake.acked.clear()  # as if the process died between the commit and the ack
        await wait_for(lambda: _acked(fake))
        await asyncio.sleep(0.05)
        assert len(await rt.interactions()) == 1
        assert (await rt.stats())["events.deduplicated"] >= 1
    finally:
        await rt.stop()


async def _acked(fake) -> bool:
    return bool(fake.acked)


async def test_stop_ends_the_task_and_a_crashing_transport_never_takes_the_runtime_down(settings):
    class Crashing:
        name = "crash:acme"
        exclusive = False  # run by the runtime's own runner (an exclusive one: a leader worker)
        runs = 0

        async def run(self, deliver, stop, count):
            Crashing.runs += 1
            raise RuntimeError("bug")

    rt = _runtime(settings, Crashing())
    await rt.start()
    await asyncio.sleep(0.05)
    task = rt.transports.tasks[0]
    assert not task.done() and Crashing.runs == 1  # waits out a backoff before the next run
    await rt.stop()
    assert task.done() and not task.cancelled()


async def test_a_transport_that_ignores_stop_is_cancelled(settings):
    class Stubborn:
        name = "stubborn:acme"
        exclusive = False  # run by the runtime's own runner (an exclusive one: a leader worker)

        async def run(self, deliver, stop, count):
            await asyncio.sleep(3600)

    rt = _runtime(settings, Stubborn())
    rt.transports.stop_timeout = 0.05
    await rt.start()
    task = rt.transports.tasks[0]
    await asyncio.sleep(0.02)  # it runs
    await rt.stop()
    assert task.cancelled()


async def test_an_ingress_runs_transports_and_a_core_does_not(settings):
    fake_in, fake_core = FakeTransport({"a": [message_event(1)]}), FakeTransport({"a": [message_event(1)]})
    ingress = Runtime(settings, role="ingress")
    ingress.adapters[("sample", "acme")].transports = lambda: [fake_in]  # type: ignore[method-assign]
    await ingress.start()
    try:
        await wait_for(lambda: _acked(fake_in))
    finally:
        await ingress.stop()
    core = Runtime(settings, role="core")
    core.adapters[("sample", "acme")].transports = lambda: [fake_core]  # type: ignore[method-assign]
    await core.start()
    try:
        assert core.transports.tasks == []
        async def one():
            return len(await core.interactions()) == 1  # the core processes what the ingress stored
        await wait_for(one)
    finally:
        await core.stop()


def test_a_transport_is_exclusive_unless_it_says_otherwise():
    class Older:  # written before the attribute existed
        name = "older:acme"

        async def run(self, deliver, stop, count) -> None: ...

    assert is_exclusive(Older()) and is_exclusive(Probe("mail:acme", True))
    assert not is_exclusive(Probe("feed:acme", False))
    assert isinstance(Probe("mail:acme", True), InboundTransport)


async def test_in_role_all_an_exclusive_transport_is_a_leader_worker_and_the_others_are_not(settings):
    mail, feed = Probe("mail:acme", exclusive=True), Probe("feed:acme", exclusive=False)
    rt = Runtime(settings)
    rt.adapters[("sample", "acme")].transports = lambda: [mail, feed]  # type: ignore[method-assign]
    await rt.start()
    try:
        [worker] = [w for w in rt.leader_workers if isinstance(w, LeaderTransports)]
        assert [t for _, t in worker.transports] == [mail]
        assert [t.get_name() for t in rt.transports.tasks] == ["omnisdk-transport-feed:acme"]
        await wait_for(lambda: _is(mail.running and feed.running))  # SQLite: this process always leads
    finally:
        await rt.stop()
    assert not mail.running and not feed.running and worker.runner is None


def test_each_role_reads_a_mailbox_in_one_place_only():
    # (role, exclusive, bus) -> where; exclusive: a mailbox whose reads change it (IMAP)
    table = {
        ("all", True, False): "leader", ("all", False, False): "task",
        ("all", True, True): "leader", ("all", False, True): "task",
        ("ingress", True, False): "task", ("ingress", False, False): "task",
        ("core", True, False): "none", ("core", False, False): "none",  # its ingress reads them
        ("core", True, True): "leader", ("core", False, True): "none",  # its gateways leave the mailbox to it
        ("gateway", True, True): "none", ("gateway", False, True): "task",  # no lease: never the mailbox
    }
    assert {key: placement(key[0], key[1], bus=key[2]) for key in table} == table


def _bus(settings):
    return settings.model_copy(update={"bus": BusSettings(url="nats://127.0.0.1:4222")})


async def test_with_the_bus_the_core_leader_reads_the_mailbox_and_the_gateways_do_not(settings):
    mail, feed = Probe("mail:acme", exclusive=True), Probe("feed:acme", exclusive=False)
    core = Runtime(_bus(settings), role="core")  # nothing connects before start()
    core.adapters[("sample", "acme")].transports = lambda: [mail, feed]  # type: ignore[method-assign]
    core._start_transports()
    [worker] = [w for w in core.leader_workers if isinstance(w, LeaderTransports)]
    assert [t for _, t in worker.transports] == [mail] and core.transports.tasks == []
    gateway = Runtime(_bus(settings), role="gateway")
    gateway.adapters[("sample", "acme")].transports = lambda: [mail, feed]  # type: ignore[method-assign]
    gateway._start_transports()
    try:
        assert [t.get_name() for t in gateway.transports.tasks] == ["omnisdk-transport-feed:acme"]
        assert not [w for w in gateway.leader_workers if isinstance(w, LeaderTransports)]
        await wait_for(lambda: _is(feed.running))
        assert mail.runs == 0
    finally:
        await gateway.transports.stop()


async def test_leader_transports_run_for_each_term_of_leadership(runtime):
    mail = Probe("mail:acme", exclusive=True)
    worker = LeaderTransports(runtime.store, [(runtime.adapter("sample", "acme"), mail)], stop_timeout=0.5)
    for term in (1, 2):  # lead, lose, lead again
        await worker.start()
        await worker.start()  # a second start in one term starts nothing more
        await wait_for(lambda: _is(mail.running))
        assert mail.runs == term
        await worker.stop()
        assert not mail.running and worker.runner is None
    await worker.stop()  # not leading: nothing to stop


async def _is(value: bool) -> bool:
    return value


async def test_commit_refuses_a_foreign_business_address(runtime):
    import pytest

    from omnisdk.inbox.commit import ForeignAddressError

    adapter = runtime.adapter("sample", "acme")
    with pytest.raises(ForeignAddressError):
        await commit_inbox(runtime.store, adapter, [message_event(1, business="not-ours")], "2026-01-01T00:00:00Z")
    assert (await commit_inbox(runtime.store, adapter, [], "2026-01-01T00:00:00Z")).accepted == 0


def test_backoff_doubles_up_to_its_cap_and_resets():
    b = Backoff(1.0, 4.0)
    steps = [b.next_delay() for _ in range(5)]
    assert 0.5 <= steps[0] <= 1.0 and 1.0 <= steps[1] <= 2.0 and all(2.0 <= s <= 4.0 for s in steps[2:])
    b.reset()
    assert b.next_delay() <= 1.0
