"""Warm and cold transfer of a call to an outside number (issue 11, item 1) on recorded Twilio
webhooks: the warm one is Twilio's conference-based transfer (the caller and the agent in a
named conference, the number dialled into it through the Participants API, the agent taken out
when the number answers or when they hang up first); the call record follows CALL_TRANSITIONS;
a number that is not E.164 is a typed error (400 over the API) before anything is written."""

from __future__ import annotations

from urllib.parse import parse_qs, quote

import httpx
import pytest
from twilio_voice_rig import INBOUND, SETTINGS, URL, Rig

from omnisdk.errors import PhoneNumberError, StateError
from omnisdk.model import InteractionState as S

ACCOUNT = SETTINGS["account_sid"]
NUMBER = "+13125550167"  # the To of the recorded outbound callbacks: the number we transfer to
ROOM_SID = "CF" + "ab" * 16


class ConferenceRig(Rig):
    """The rig, plus Twilio's Conferences and Participants resources (respx)."""

    async def __aenter__(self) -> ConferenceRig:
        await super().__aenter__()
        self.participants: list[tuple[str, dict[str, list[str]]]] = []
        self.deleted: list[str] = []
        self.listed: list[dict[str, str]] = []
        base = f"/2010-04-01/Accounts/{ACCOUNT}/Conferences"
        self.mock.post(path__regex=rf"{base}/[^/]+/Participants\.json").mock(side_effect=self._participant)
        self.mock.get(f"{base}.json").mock(side_effect=self._list)
        self.mock.delete(path__regex=rf"{base}/CF[0-9a-f]{{32}}/Participants/[^/]+\.json").mock(side_effect=self._delete)
        return self

    def _participant(self, request: httpx.Request) -> httpx.Response:
        room = request.url.raw_path.decode().split("/Conferences/")[1].split("/")[0]
        self.participants.append((room, parse_qs(request.content.decode())))
        return httpx.Response(201, json={"call_sid": "CA" + f"{len(self.participants):032x}",
                                         "conference_sid": ROOM_SID, "label": self.participants[-1][1]["Label"][0]})

    def _list(self, request: httpx.Request) -> httpx.Response:
        self.listed.append(dict(request.url.params))
        return httpx.Response(200, json={"conferences": [{"sid": ROOM_SID, "status": "in-progress"}]})

    def _delete(self, request: httpx.Request) -> httpx.Response:
        self.deleted.append(request.url.path)
        return httpx.Response(204)


@pytest.fixture
async def rig(tmp_path):
    async with ConferenceRig(tmp_path) as r:
        yield r


async def answered(rig, recs):
    await rig.post(recs["inbound_1_ringing"].body)
    inter = await rig.one()
    return await rig.rt.calls.answer(inter.id, inter.agent)


def leg_answered(recs) -> bytes:
    """Twilio's status callback of the number's leg, answered (the recorded outbound
    ``in-progress`` callback: From our number, To the number)."""
    return recs["outbound_3_answered"].body


async def test_warm_transfer_to_a_number_is_a_conference_and_the_agent_leaves_when_it_answers(rig, recs):
    inter = await answered(rig, recs)
    agent = inter.agent
    inter = await rig.rt.calls.transfer(inter.id, to_number=NUMBER, mode="warm", agent=agent)
    # the agent consults: still working, the call record not yet transferred
    assert inter.state is S.WORK_IN_PROGRESS and inter.agent == agent
    call = inter.context["call"]
    assert call["state"] == "answered" and call["pending_transfer"]["to"] == f"number:{NUMBER}"

    room = f"omnisdk-{inter.id}"
    update = rig.updates[-1]
    assert update[0] == INBOUND
    twiml = update[1]["Twiml"][0]  # built with xml.etree: the caller joins the named conference
    assert 'endConferenceOnExit="true"' in twiml and f">{room}</Conference></Dial>" in twiml
    [(r1, agent_leg), (r2, number_leg)] = rig.participants
    assert r1 == r2 == quote(room, safe="")
    assert (agent_leg["To"], agent_leg["Label"], agent_leg["EndConferenceOnExit"]) == ([f"client:{agent}"], ["agent"],
                                                                                     ["false"])
    assert (number_leg["To"], number_leg["From"], number_leg["Label"]) == ([NUMBER], ["+14155550100"], ["transfer"])
    callback = number_leg["StatusCallback"][0]
    assert callback.startswith(URL) and "omnisdk_leg=transfer" in callback and f"omnisdk_call={INBOUND}" in callback
    assert number_leg["StatusCallbackEvent"] == ["answered completed"]

    with pytest.raises(StateError):  # hold music would take the caller out of the conference
        await rig.rt.calls.hold(inter.id, agent)

    # the number answers: Twilio's signed status callback of its leg
    query = {"omnisdk_interaction": inter.id, "omnisdk_leg": "transfer", "omnisdk_call": INBOUND}
    assert (await rig.post(leg_answered(recs), query)).status_code == 200
    inter = await rig.one(inter.id)
    assert inter.state is S.WRAP_UP and inter.context["call"]["state"] == "transferred"
    assert inter.context["call"]["transfers"][-1] == {"to": f"number:{NUMBER}", "mode": "warm",
                                                      "at": "2026-12-01T10:02:09Z"}
    # the LEAVE command is an outbox row, sent by the worker: the agent's participant is removed
    assert await rig.flush_outbox() == 1
    assert rig.listed == [{"FriendlyName": room, "Status": "in-progress"}]
    assert rig.deleted == [f"/2010-04-01/Accounts/{ACCOUNT}/Conferences/{ROOM_SID}/Participants/agent.json"]

    # the same callback again changes nothing; the caller's call ends later: nothing either
    await rig.post(leg_answered(recs), query)
    await rig.post(recs["inbound_2_completed"].body)
    inter = await rig.one(inter.id)
    assert inter.state is S.WRAP_UP and inter.context["call"]["state"] == "ended"
    assert await rig.flush_outbox() == 0 and len(rig.deleted) == 1


async def test_the_agent_hanging_up_during_the_consultation_completes_the_transfer(rig, recs):
    inter = await answered(rig, recs)
    inter = await rig.rt.calls.transfer(inter.id, to_number=NUMBER, mode="warm", agent=inter.agent)
    before = len(rig.updates)
    inter = await rig.rt.calls.hang_up(inter.id, inter.agent)
    assert inter.state is S.WRAP_UP and inter.context["call"]["state"] == "transferred"
    assert len(rig.updates) == before  # no Status=completed: the caller stays for the number
    assert rig.deleted and rig.deleted[-1].endswith("/Participants/agent.json")
    # the number answers afterwards: reported again, nothing changes
    query = {"omnisdk_interaction": inter.id, "omnisdk_leg": "transfer", "omnisdk_call": INBOUND}
    await rig.post(leg_answered(recs), query)
    assert (await rig.one(inter.id)).state is S.WRAP_UP and (await rig.stats())["calls.repeated"] == 1


async def test_an_unanswered_number_leaves_the_agent_with_the_caller(rig, recs):
    inter = await answered(rig, recs)
    inter = await rig.rt.calls.transfer(inter.id, to_number=NUMBER, mode="warm", agent=inter.agent)
    busy = recs["unanswered_busy_2_ended"].body
    query = {"omnisdk_interaction": inter.id, "omnisdk_leg": "transfer", "omnisdk_call": INBOUND}
    assert (await rig.post(busy, query)).status_code == 200
    after = await rig.one(inter.id)
    assert after.state is S.WORK_IN_PROGRESS and after.context["call"]["pending_transfer"]


async def test_cold_transfer_to_a_number_dials_it_and_wraps_up(rig, recs):
    inter = await answered(rig, recs)
    inter = await rig.rt.calls.transfer(inter.id, to_number=NUMBER, agent=inter.agent)
    assert inter.state is S.WRAP_UP and inter.context["call"]["state"] == "transferred"
    assert f"<Number>{NUMBER}</Number>" in rig.updates[-1][1]["Twiml"][0] and rig.participants == []


@pytest.mark.parametrize("bad", ["3125550167", "+1 312 555 0167", "+999123", "tel:+13125550167"])
async def test_a_number_that_is_not_e164_is_a_typed_error_before_anything_is_written(rig, recs, bad):
    inter = await answered(rig, recs)
    updates = list(rig.updates)
    for mode in ("cold", "warm"):
        with pytest.raises(PhoneNumberError):
            await rig.rt.calls.transfer(inter.id, to_number=bad, mode=mode, agent=inter.agent)
    assert rig.updates == updates and rig.participants == [] and (await rig.one(inter.id)) == inter


async def test_a_bad_number_is_a_400_over_the_api_and_a_warm_one_goes_through(rig, recs):
    from omnisdk.access.api_keys import new_api_key
    from omnisdk.access.principals import Role
    from omnisdk.events import now_rfc3339

    inter = await answered(rig, recs)
    key, row = new_api_key(name=inter.agent, role=Role.AGENT, agent=inter.agent, created_at=now_rfc3339())
    await rig.rt.store.transact(lambda tx: tx.save_api_key(row))
    headers = {"x-api-key": key, "content-type": "application/json"}
    url = f"/v1/interactions/{inter.id}/call/transfer"
    resp = await rig.client.post(url, headers=headers, json={"to_number": "555-0167", "mode": "warm"})
    assert resp.status_code == 400 and resp.json()["error"] == "bad_request" and "E.164" in resp.text
    resp = await rig.client.post(url, headers=headers, json={"to_number": NUMBER, "mode": "warm"})
    assert resp.status_code == 200 and resp.json()["context"]["call"]["pending_transfer"]["to"] == f"number:{NUMBER}"
