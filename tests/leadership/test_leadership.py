"""Leadership (omnisdk.leadership.standby) over a scripted lease: on_lead / on_lose run once per
term, a lost lease stops the leader's work at once, a failing on_lead gives the lease up, and the
fence answers from the clock."""

from __future__ import annotations

import asyncio

from omnisdk.leadership import Leadership, LocalLease
from omnisdk.leadership.lease import Confirmations
from omnisdk.testkit.polling import wait_for


class ScriptedLease:
    """A shared lease whose availability and health the test sets."""

    shared = True
    domain = "scripted"

    def __init__(self) -> None:
        self.free = True
        self.healthy = True
        self.held = False
        self.releases = 0

    async def try_acquire(self) -> bool:
        if self.held:
            return True
        if self.free:
            self.held, self.free = True, False
        return self.held

    async def keepalive(self) -> bool:
        if not self.healthy:
            await self.release()
        return self.held

    def valid(self) -> bool:
        return self.held

    async def release(self) -> None:
        if self.held:
            self.held, self.free = False, True
            self.releases += 1


def recorder():
    calls: list[str] = []

    async def lead() -> None:
        calls.append("lead")

    async def lose() -> None:
        calls.append("lose")

    return calls, lead, lose


async def test_a_free_lease_is_led_before_start_returns_and_given_up_at_stop():
    lease = ScriptedLease()
    calls, lead, lose = recorder()
    leadership = Leadership(lease, on_lead=lead, on_lose=lose, keepalive_interval=0.01, retry_interval=0.01)
    await leadership.start()
    assert calls == ["lead"] and leadership.state == "leader" and leadership.valid()
    await leadership.stop()
    assert calls == ["lead", "lose"] and not lease.held and leadership.state == "standby"


async def test_a_held_lease_stands_by_then_takes_over_when_it_frees():
    lease = ScriptedLease()
    lease.free = False  # another process holds it
    calls, lead, lose = recorder()
    leadership = Leadership(lease, on_lead=lead, on_lose=lose, keepalive_interval=0.01, retry_interval=0.01)
    await leadership.start()
    try:
        await asyncio.sleep(0.05)
        assert calls == [] and leadership.state == "standby" and not leadership.valid()
        lease.free = True  # the other leader died
        await wait_for(lambda: leadership.state == "leader", interval=0.01)
        assert calls == ["lead"] and leadership.terms == 1
    finally:
        await leadership.stop()


async def test_losing_the_lease_stops_the_leaders_work_and_it_leads_again_later():
    lease = ScriptedLease()
    calls, lead, lose = recorder()
    leadership = Leadership(lease, on_lead=lead, on_lose=lose, keepalive_interval=0.01, retry_interval=0.01)
    await leadership.start()
    try:
        lease.healthy = False
        await wait_for(lambda: calls[-1:] == ["lose"], interval=0.01)
        assert not leadership.valid()
        lease.healthy = True
        await wait_for(lambda: calls.count("lead") == 2 and leadership.state == "leader", interval=0.01)
        assert calls == ["lead", "lose", "lead"] and leadership.terms == 2
    finally:
        await leadership.stop()
    assert calls == ["lead", "lose", "lead", "lose"]


async def test_a_failing_on_lead_gives_the_lease_up_for_someone_else():
    lease = ScriptedLease()
    calls: list[str] = []

    async def lead() -> None:
        calls.append("lead")
        raise RuntimeError("store down while restoring")

    async def lose() -> None:
        calls.append("lose")

    leadership = Leadership(lease, on_lead=lead, on_lose=lose, keepalive_interval=0.01, retry_interval=5)
    await leadership.start()
    try:
        assert calls == ["lead", "lose"] and leadership.state == "standby" and lease.free
    finally:
        await leadership.stop()


async def test_the_local_lease_always_leads_and_has_no_watch_task():
    calls, lead, lose = recorder()
    leadership = Leadership(LocalLease(), on_lead=lead, on_lose=lose)
    await leadership.start()
    assert not leadership.shared and leadership._task is None and leadership.state == "leader"
    await leadership.stop()
    assert calls == ["lead", "lose"]


def test_a_confirmation_is_trusted_for_the_validity_only_even_without_any_io():
    now = [100.0]
    conf = Confirmations(validity=2.0, clock=lambda: now[0])
    assert not conf.valid()
    conf.confirm(conf.started())
    now[0] = 101.9
    assert conf.valid()
    now[0] = 102.0  # a pause of the whole process: the loop never ran, the clock did
    assert not conf.valid()


async def test_a_stop_during_a_loss_still_finishes_stopping_the_work():
    lease = ScriptedLease()
    began, finished = asyncio.Event(), []

    async def lead() -> None:
        pass

    async def lose() -> None:
        began.set()
        await asyncio.sleep(0.2)
        finished.append(True)

    leadership = Leadership(lease, on_lead=lead, on_lose=lose, keepalive_interval=0.01, retry_interval=5)
    await leadership.start()
    lease.healthy = False
    await began.wait()
    await leadership.stop()  # cancels the watch in the middle of on_lose
    assert finished == [True] and not lease.held
