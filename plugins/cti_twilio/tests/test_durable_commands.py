"""Call commands are durable outbox rows (issue 11, item 4): written with the control's
lifecycle step, first attempted by the control itself, retried with the outbox's backoff while
Twilio is down, sent once when it is back, and counted in ``stats``."""

from __future__ import annotations

import httpx
import pytest
from twilio_voice_rig import INBOUND, Rig

from omnisdk.model import InteractionState as S
from omnisdk.outbound import OutboundError


class OutageRig(Rig):
    """Twilio's Calls API answers 503 while ``down``."""

    down = False

    def _update(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.updates.append(("503", {}))
            return httpx.Response(503, json={"code": 20500, "message": "Internal Server Error", "status": 503})
        return super()._update(request)


async def test_an_outage_delays_the_command_and_it_is_sent_once_when_twilio_is_back(tmp_path, recs):
    async with OutageRig(tmp_path) as rig:
        rig.adapter._sleep = _no_sleep  # the REST client's own retries, without waiting
        await rig.post(recs["inbound_1_ringing"].body)
        inter = await rig.one()
        rig.down = True
        inter = await rig.rt.calls.answer(inter.id, inter.agent)  # no 5xx for the agent: the step stands
        assert inter.state is S.WORK_IN_PROGRESS and rig.updates and {u[0] for u in rig.updates} == {"503"}
        stats = await rig.stats()
        assert (stats["connector_calls.backlog"], stats["connector_calls.retried"]) == (1, 1)
        assert await rig.flush_outbox() == 0  # not due yet: the outbox's backoff
        rig.down = False
        rig.clock.advance(30)
        assert await rig.flush_outbox() == 1
        connected = [u for u in rig.updates if u[0] == INBOUND]
        assert len(connected) == 1 and f"<Client>{inter.agent}</Client>" in connected[0][1]["Twiml"][0]
        assert await rig.flush_outbox() == 0
        stats = await rig.stats()
        assert (stats["connector_calls.sent"], stats["connector_calls.backlog"]) == (1, 0)


async def test_a_refused_command_fails_its_row_and_is_counted(tmp_path, recs):
    async with Rig(tmp_path) as rig:
        await rig.post(recs["inbound_1_ringing"].body)
        inter = await rig.one()
        rig.fail_update = True  # 404: the call is gone, no retry
        with pytest.raises(OutboundError) as refused:  # the agent learns at once (HTTP 502)
            await rig.rt.calls.answer(inter.id, inter.agent)
        assert refused.value.status_code == 404
        rig.clock.advance(3600)
        assert await rig.flush_outbox() == 0 and len(rig.updates) == 1
        stats = await rig.stats()
        assert (stats["connector_calls.failed"], stats["connector_calls.backlog"]) == (1, 0)


async def _no_sleep(seconds: float) -> None:
    return None
