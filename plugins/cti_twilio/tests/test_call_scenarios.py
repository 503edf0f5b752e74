"""Calls as voice interactions, end to end on recorded Twilio webhooks.

The real gateway (ASGI) and connector: recorded form bodies are signed as Twilio signs them
and POSTed to ``/webhooks/cti_twilio/acme``; agents work through the runtime's call controls;
the Calls REST API is respx-mocked (every update's form is checked); durable timers fire on a
manual clock.  Agents alice and bob each take one call (voice capacity 1).
"""

from __future__ import annotations

import pytest
from twilio_voice_rig import CALLER, INBOUND, OUTBOUND, SETTINGS, URL, Rig

from omnisdk.errors import StateError
from omnisdk.model import Case
from omnisdk.model import InteractionState as S
from omnisdk.outbound import OutboundError


@pytest.fixture
async def rig(tmp_path):
    async with Rig(tmp_path) as r:
        yield r


async def test_ring_answer_hold_transfer_hang_up_and_wrap_up_timeout(rig, recs):
    resp = await rig.post(recs["inbound_1_ringing"].body)
    assert resp.status_code == 200 and b"<Enqueue>omnisdk</Enqueue>" in resp.content
    inter = await rig.one()
    assert (inter.channel, inter.direction.value, inter.state) == ("voice", "inbound", S.OFFERED)
    assert (inter.customer, inter.business) == (CALLER, "+14155550100")
    first = inter.agent
    assert inter.context["caller"]["number"] == CALLER  # the offer carries who is calling
    assert rig.rt.engine.load[first]["voice"] == 1

    inter = await rig.rt.calls.answer(inter.id, first)
    assert inter.state is S.WORK_IN_PROGRESS and inter.context["call"]["state"] == "answered"
    call_id, form = rig.updates[-1]
    assert call_id == INBOUND and f"<Client>{first}</Client>" in form["Twiml"][0]
    assert 'record="record-from-answer-dual"' in form["Twiml"][0]

    inter = await rig.rt.calls.hold(inter.id, first)
    assert inter.state is S.ON_HOLD and "<Play loop=\"0\">" in rig.updates[-1][1]["Twiml"][0]
    with pytest.raises(StateError):  # the caller is on hold: answering again is no legal step
        await rig.rt.calls.answer(inter.id, first)

    other = "bob" if first == "alice" else "alice"
    inter = await rig.rt.calls.transfer(inter.id, to_agent=other, agent=first)  # cold: rings the target now
    assert inter.state is S.OFFERED and inter.agent == other
    assert [t["to"] for t in inter.context["call"]["transfers"]] == [f"agent:{other}"]
    assert f"<Client>{other}</Client>" in rig.updates[-1][1]["Twiml"][0]
    assert rig.rt.engine.load.get(first, {}).get("voice", 0) == 0
    sent = len(rig.updates)
    inter = await rig.rt.calls.answer(inter.id, other)  # already ringing them: no second dial
    assert inter.state is S.WORK_IN_PROGRESS and len(rig.updates) == sent
    assert inter.context["call"]["leg"] == 2

    inter = await rig.rt.calls.hang_up(inter.id, other)
    assert inter.state is S.WRAP_UP and rig.updates[-1][1] == {"Status": ["completed"]}
    await rig.post(recs["inbound_2_completed"].body)  # Twilio's completed callback: nothing more
    await rig.post(recs["inbound_3_recording"].body)
    inter = await rig.one(inter.id)
    assert inter.state is S.WRAP_UP
    [recording] = inter.context["call"]["recordings"]
    assert recording["duration"] == 87.0 and recording["url"].startswith("https://api.twilio.com/")

    await rig.tick(61)  # the wrap-up timer
    inter = await rig.one(inter.id)
    assert inter.state is S.CLOSED and inter.wrap_up_code == "Issue resolved"
    stats = await rig.stats()
    assert stats["calls.inbound"] == 1 and stats["calls.ended"] == 1 and stats["calls.recordings"] == 1


async def test_a_caller_who_hangs_up_before_an_answer_is_abandoned(rig, recs):
    await rig.post(recs["inbound_1_ringing"].body)
    inter = await rig.one()
    agent = inter.agent
    await rig.post(recs["inbound_2_completed"].body)
    inter = await rig.one(inter.id)
    assert inter.state is S.CLOSED and inter.wrap_up_code == "Abandoned call"
    assert rig.rt.engine.load[agent]["voice"] == 0


async def test_unknown_call_sid_and_illegal_order_are_refused_and_counted(rig, recs):
    resp = await rig.post(recs["unanswered_busy_2_ended"].body)  # busy of a call nobody has
    assert resp.status_code == 200  # durable, then refused by the core
    assert await rig.rt.interactions() == []  # no phantom interaction
    stats = await rig.stats()
    assert stats["calls.unknown"] == 1 and stats["events.failed"] == 1

    await rig.post(recs["inbound_1_ringing"].body)
    inter = await rig.one()
    await rig.rt.calls.answer(inter.id, inter.agent)
    await rig.post(recs["inbound_2_completed"].body)  # hung up: wrap-up, the call is ended
    before = await rig.one(inter.id)
    assert before.state is S.WRAP_UP and before.context["call"]["state"] == "ended"
    answered = recs["outbound_3_answered"].body.replace(OUTBOUND.encode(), INBOUND.encode()) \
        .replace(b"outbound-api", b"inbound").replace(b"From=%2B14155550100", b"From=%2B12065550142") \
        .replace(b"To=%2B13125550167", b"To=%2B14155550100")
    assert (await rig.post(answered)).status_code == 200  # ended → answered: out of order
    assert (await rig.one(inter.id)) == before  # the interaction is untouched
    stats = await rig.stats()
    assert stats["calls.illegal"] == 1 and stats["events.failed"] == 2


async def test_an_illegal_step_never_changes_the_interaction(rig, recs):
    await rig.post(recs["inbound_1_ringing"].body)
    inter = await rig.one()
    inter = await rig.rt.calls.answer(inter.id, inter.agent)
    await rig.rt.calls.transfer(inter.id, to_queue="phones", agent=inter.agent)
    before = await rig.one(inter.id)
    with pytest.raises(StateError):  # transferred → held is not in CALL_TRANSITIONS
        await rig.rt.calls.hold(inter.id)
    assert (await rig.one(inter.id)) == before


async def test_click_to_dial_is_an_outbound_interaction(rig, recs):
    inter = await rig.rt.calls.dial(agent="alice", plugin="cti_twilio", account="acme", to="+13125550167")
    assert (inter.direction.value, inter.state, inter.agent) == ("outbound", S.WORK_IN_PROGRESS, "alice")
    assert inter.context["call"] == {**inter.context["call"], "call_id": OUTBOUND, "state": "ringing"}
    [form] = rig.created
    assert form["To"] == ["+13125550167"] and form["From"] == ["+14155550100"]
    assert form["StatusCallback"] == [f"{URL}?omnisdk_interaction={inter.id}"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "completed"]
    assert "omnisdk_agent=alice" in form["Url"][0]
    assert rig.rt.engine.load["alice"]["voice"] == 1

    query = {"omnisdk_interaction": inter.id}
    for name in ("outbound_1_initiated", "outbound_2_ringing"):
        assert (await rig.post(recs[name].body, query)).status_code == 200
    resp = await rig.post(recs["outbound_3_answered"].body, {**query, "omnisdk_agent": "alice"})
    assert b"<Client>alice</Client>" in resp.content  # the customer answered: ring the agent
    await rig.post(recs["outbound_4_completed"].body, query)
    inter = await rig.one(inter.id)
    assert inter.state is S.WRAP_UP and inter.context["call"]["state"] == "ended"
    assert (await rig.stats())["calls.repeated"] == 1  # the ringing callback after the dial


async def test_a_placed_call_nobody_answers_is_missed(rig, recs):
    inter = await rig.rt.calls.dial(agent="bob", plugin="cti_twilio", account="acme", to="+13125550167")
    ended = recs["unanswered_busy_2_ended"].body.replace(b"CA9a0b1c2d3e4f5061728394a5b6c7d8e9", OUTBOUND.encode())
    await rig.post(ended, {"omnisdk_interaction": inter.id})
    inter = await rig.one(inter.id)
    assert inter.state is S.CLOSED and inter.wrap_up_code == "Missed call"
    assert rig.rt.engine.load["bob"]["voice"] == 0


async def test_a_refused_dial_closes_its_interaction(rig):
    rig.fail_next = True
    with pytest.raises(OutboundError):
        await rig.rt.calls.dial(agent="bob", plugin="cti_twilio", account="acme", to="+13125550167")
    [inter] = await rig.rt.interactions()
    assert inter.state is S.CLOSED and inter.wrap_up_code == "Missed call"


async def test_bad_dials_fail_before_any_request(rig):
    for kwargs in ({"to": "555-0100"}, {"to": "+13125550167", "from_": "+19995550100"}):
        with pytest.raises(ValueError):
            await rig.rt.calls.dial(agent="bob", plugin="cti_twilio", account="acme", **kwargs)
    assert rig.created == [] and await rig.rt.interactions() == []


async def test_softphone_token(rig):
    import jwt

    doc = rig.rt.calls.softphone_token("alice", plugin="cti_twilio", account="acme")
    claims = jwt.decode(doc["token"], SETTINGS["api_key_secret"], algorithms=["HS256"])
    assert jwt.get_unverified_header(doc["token"])["cty"] == "twilio-fpa;v=1"
    assert claims["iss"] == SETTINGS["api_key_sid"] and claims["sub"] == SETTINGS["account_sid"]
    assert claims["grants"] == {"identity": "alice", "voice": {"incoming": {"allow": True},
                                                              "outgoing": {"application_sid": SETTINGS["twiml_app_sid"]}}}
    assert claims["exp"] - claims["iat"] == doc["expires_in"] == 600


async def test_the_offer_carries_the_callers_contact_open_cases_and_recent_work(rig, recs):
    from datetime import UTC, datetime

    from omnisdk.model import Interaction

    then = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    sms = Interaction(id="0" * 31 + "1", channel="sms", direction="inbound", state="closed",
                      conversation_key="sms/acme:sms:+14155550100:" + CALLER, source="/sms/acme", customer=CALLER,
                      business="+14155550100", case_id="case-1", wrap_up_code="Task created", created_at=then,
                      updated_at=then, closed_at=then)

    def seed(tx):
        tx.upsert_contact("sms", CALLER, "Ada Lovelace", "2026-11-30T15:00:00Z")
        tx.save_interaction(sms)
        tx.save_case(Case(id="case-1", number="CS0000042", subject="Router keeps rebooting",
                          state="in_progress", customer=CALLER, interaction_ids=[sms.id],
                          created_at="2026-11-30T15:00:00Z"))

    await rig.rt.store.transact(seed)
    await rig.post(recs["inbound_1_ringing"].body)
    [inter] = [i for i in await rig.rt.interactions(active_only=True) if i.channel == "voice"]
    caller = inter.context["caller"]
    assert caller["contact"]["display_name"] == "Ada Lovelace"
    assert {"channel": "sms", "value": CALLER} in caller["contact"]["addresses"]
    assert [c["number"] for c in caller["open_cases"]] == ["CS0000042"]
    assert [(r["channel"], r["wrap_up_code"]) for r in caller["recent_interactions"]] == [("sms", "Task created")]


async def test_the_offers_open_cases_are_newest_first_once_each_without_the_closed_ones(rig, recs):
    from datetime import UTC, datetime, timedelta

    from omnisdk.model import Interaction

    then = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)

    def past(n: int, case_id: str) -> Interaction:  # a higher n is a newer interaction (a higher id)
        at = then + timedelta(minutes=n)
        return Interaction(id=f"{n:032x}", channel="sms", direction="inbound", state="closed",
                           conversation_key="sms/acme:sms:+14155550100:" + CALLER, source="/sms/acme",
                           customer=CALLER, business="+14155550100", case_id=case_id, created_at=at, updated_at=at,
                           closed_at=at)

    def case(n: int, state: str) -> Case:
        return Case(id=f"case-{n}", number=f"CS{n:07d}", subject=f"subject {n}", state=state, customer=CALLER,
                    created_at="2026-11-30T15:00:00Z")

    def seed(tx):
        tx.upsert_contact("sms", CALLER, "Ada Lovelace", "2026-11-30T15:00:00Z")
        for n, case_id in ((1, "case-41"), (2, "case-42"), (3, "case-43"), (4, "case-41"), (5, "case-gone")):
            tx.save_interaction(past(n, case_id))
        for n, state in ((41, "in_progress"), (42, "closed"), (43, "new")):
            tx.save_case(case(n, state))

    await rig.rt.store.transact(seed)
    await rig.post(recs["inbound_1_ringing"].body)
    [inter] = [i for i in await rig.rt.interactions(active_only=True) if i.channel == "voice"]
    caller = inter.context["caller"]
    assert caller["open_cases"] == [
        {"id": "case-41", "number": "CS0000041", "subject": "subject 41", "state": "in_progress"},
        {"id": "case-43", "number": "CS0000043", "subject": "subject 43", "state": "new"}]
    assert [r["case_id"] for r in caller["recent_interactions"]] == [
        "case-gone", "case-41", "case-43", "case-42", "case-41"]


async def test_warm_transfer_holds_the_caller_until_the_target_answers(rig, recs):
    await rig.post(recs["inbound_1_ringing"].body)
    inter = await rig.one()
    first = inter.agent
    other = "bob" if first == "alice" else "alice"
    await rig.rt.calls.answer(inter.id, first)
    inter = await rig.rt.calls.transfer(inter.id, to_agent=other, mode="warm", agent=first)
    assert inter.state is S.OFFERED and '<Play loop="0">' in rig.updates[-1][1]["Twiml"][0]
    inter = await rig.rt.calls.answer(inter.id, other)
    assert inter.state is S.WORK_IN_PROGRESS and f"<Client>{other}</Client>" in rig.updates[-1][1]["Twiml"][0]


async def test_cold_transfer_to_a_number_hands_the_call_over_and_wraps_up(rig, recs):
    await rig.post(recs["inbound_1_ringing"].body)
    inter = await rig.one()
    await rig.rt.calls.answer(inter.id, inter.agent)
    with pytest.raises(ValueError):  # not E.164 (a warm one: test_warm_transfer_number.py)
        await rig.rt.calls.transfer(inter.id, to_number="13125550199")
    inter = await rig.rt.calls.transfer(inter.id, to_number="+13125550199", agent=inter.agent)
    assert inter.state is S.WRAP_UP
    twiml = rig.updates[-1][1]["Twiml"][0]
    assert "<Number>+13125550199</Number>" in twiml and 'callerId="+14155550100"' in twiml
    assert inter.context["call"]["transfers"][-1]["to"] == "number:+13125550199"
