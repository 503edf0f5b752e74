"""KitRuntime driven by hand on a ManualClock: what a plugin's own scenario tests build on."""

from __future__ import annotations

import pytest
from sample_plugin import SampleAdapter, SampleSettings
from sample_wire import msg, sample_body

from omnisdk.model import InteractionState as S
from omnisdk.testkit import KitRuntime, ManualClock


def kit(tmp_path, **kwargs):
    return KitRuntime(lambda: SampleAdapter("acme", SampleSettings(**SampleAdapter.example_settings())),
                      tmp_path, "https://hooks.example.test/webhooks/sample/acme", **kwargs)


async def test_signed_webhooks_open_work_and_a_manual_clock_fires_its_timers(tmp_path):
    clock = ManualClock()
    async with kit(tmp_path, agents=[{"id": "alice", "capacity": {"chat": 1}}],
                   lifecycle={"wrap_up_timeout": 10}, clock=clock, loops=False) as rt:
        resp = await rt.deliver_body(sample_body([msg(1)]), "application/json")
        assert resp.status_code == 200
        [inter] = await rt.runtime.interactions()
        assert inter.state is S.OFFERED and inter.agent == "alice"
        await rt.runtime.accept(inter.id)
        await rt.runtime.wrap_up(inter.id)
        await rt.tick(9)
        assert (await rt.runtime.interaction(inter.id))[0].state is S.WRAP_UP
        await rt.tick(2)
        closed = (await rt.runtime.interaction(inter.id))[0]
        assert closed.state is S.CLOSED and closed.wrap_up_code == "Issue resolved"


async def test_tick_needs_a_manual_clock(tmp_path):
    async with kit(tmp_path, loops=False) as rt:
        with pytest.raises(TypeError, match="ManualClock"):
            await rt.tick(1)
