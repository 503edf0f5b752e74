"""Click-to-dial through the outbox (issue 11): Twilio's create-call request is an outbox row
written in the transaction that opens the outbound voice interaction, under an idempotency
reference made once (``dial:{interaction}``), retried with the outbox's backoff while Twilio is
down, made once after a crash between the commit and the call, and a dial that fails for good
closes its interaction with the missed-call code."""

from __future__ import annotations

import httpx
import pytest
from twilio_voice_rig import OUTBOUND, Rig

from omnisdk.model import InteractionState as S

TO = "+13125550167"


class DialRig(Rig):
    """Twilio's create-call answers 503 while ``down``; every create's Idempotency-Key is kept."""

    down = False

    def __init__(self, tmp_path) -> None:
        super().__init__(tmp_path)
        self.keys: list[str | None] = []

    def _create(self, request: httpx.Request) -> httpx.Response:
        self.keys.append(request.headers.get("Idempotency-Key"))
        if self.down:
            self.created.append({})
            return httpx.Response(503, json={"code": 20500, "message": "Internal Server Error", "status": 503})
        return super()._create(request)


async def _no_sleep(_: float) -> None:
    return None


async def outbox_rows(rig):
    def read(tx):
        return [(r[0], r[1], r[2]) for r in tx.c.execute(
            "SELECT idempotency_key, state, provider_message_id FROM outbox ORDER BY id")]
    return await rig.rt.store.transact(read)


@pytest.fixture
async def rig(tmp_path):
    async with DialRig(tmp_path) as r:
        r.adapter._sleep = _no_sleep  # the REST client's own retries, without waiting
        yield r


async def test_the_dial_is_written_with_the_interaction_and_made_once_after_a_crash(rig, monkeypatch, recs):
    async def killed():  # the process dies after the commit, before the control's first attempt
        raise SystemExit("killed between the commit and the call")

    monkeypatch.setattr(rig.rt.calls.outbox, "run_pass", killed)
    with pytest.raises(SystemExit):
        await rig.rt.calls.dial(agent="alice", plugin="cti_twilio", account="acme", to=TO)
    [inter] = await rig.rt.interactions()
    assert (inter.direction.value, inter.state, inter.context["call"]["call_id"]) == ("outbound", S.WORK_IN_PROGRESS,
                                                                                      None)
    assert rig.created == [] and await outbox_rows(rig) == [(f"dial:{inter.id}", "pending", None)]

    monkeypatch.undo()  # "restarted": the worker finds the row and makes the call, once
    assert await rig.flush_outbox() == 1 and await rig.flush_outbox() == 0
    assert len(rig.created) == 1 and rig.keys == [f"dial:{inter.id}"]
    assert rig.created[0]["To"] == [TO] and rig.created[0]["StatusCallback"][0].endswith(inter.id)
    assert await outbox_rows(rig) == [(f"dial:{inter.id}", "sent", OUTBOUND)]
    stats = await rig.stats()
    assert (stats["connector_calls.sent"], stats["connector_calls.backlog"]) == (1, 0)

    # the call's own ringing callback (it names our interaction) binds the call id
    await rig.post(recs["outbound_2_ringing"].body, {"omnisdk_interaction": inter.id})
    inter = await rig.one(inter.id)
    assert inter.context["call"]["call_id"] == OUTBOUND and inter.context["call"]["state"] == "ringing"


async def test_an_outage_delays_the_dial_with_the_same_reference(rig):
    rig.down = True
    inter = await rig.rt.calls.dial(agent="alice", plugin="cti_twilio", account="acme", to=TO)
    assert inter.state is S.WORK_IN_PROGRESS and inter.context["call"]["call_id"] is None  # no 5xx for the agent
    stats = await rig.stats()
    assert (stats["connector_calls.backlog"], stats["connector_calls.retried"]) == (1, 1)
    assert await rig.flush_outbox() == 0  # not due yet: the outbox's backoff
    rig.down = False
    rig.clock.advance(30)
    assert await rig.flush_outbox() == 1
    assert set(rig.keys) == {f"dial:{inter.id}"} and len(rig.keys) >= 2  # one reference, every attempt
    assert [c for c in rig.created if c] and len([c for c in rig.created if c]) == 1
    assert await outbox_rows(rig) == [(f"dial:{inter.id}", "sent", OUTBOUND)]


async def test_a_dial_that_fails_for_good_after_its_retries_closes_the_interaction(rig):
    rig.down = True
    inter = await rig.rt.calls.dial(agent="bob", plugin="cti_twilio", account="acme", to=TO)
    for _ in range(10):
        rig.clock.advance(600)
        await rig.flush_outbox()
    inter = await rig.one(inter.id)
    assert inter.state is S.CLOSED and inter.wrap_up_code == "Missed call"
    assert rig.rt.engine.load["bob"]["voice"] == 0
    [(key, state, _)] = await outbox_rows(rig)
    assert (key, state) == (f"dial:{inter.id}", "failed")
    assert (await rig.stats())["connector_calls.failed"] == 1


async def test_a_dial_the_connector_would_refuse_writes_nothing(rig):
    rig.adapter.settings = rig.adapter.settings.model_copy(update={"webhook_url": None})
    with pytest.raises(ValueError, match="set webhook_url"):  # check_call, before the transaction
        await rig.rt.calls.dial(agent="alice", plugin="cti_twilio", account="acme", to=TO)
    assert rig.created == [] and await rig.rt.interactions() == [] and await outbox_rows(rig) == []
