"""The call controls over HTTP (/v1), with the real gateway, runtime and connector; the Calls
REST API is respx-mocked.  Alice's agent key acts only as alice."""

from __future__ import annotations

import jwt
import pytest
from twilio_voice_rig import API, SETTINGS, Rig

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Role
from omnisdk.events import now_rfc3339


async def key_for(rt, agent: str) -> dict[str, str]:
    key, row = new_api_key(name=agent, role=Role.AGENT, agent=agent, created_at=now_rfc3339())
    await rt.store.transact(lambda tx: tx.save_api_key(row))
    return {"x-api-key": key, "content-type": "application/json"}


@pytest.fixture
async def rig(tmp_path):
    async with Rig(tmp_path) as r:
        yield r


async def test_answer_hold_resume_hang_up_over_http(rig, recs):
    await rig.post(recs["inbound_1_ringing"].body)
    inter = await rig.one()
    me, other = inter.agent, "bob" if inter.agent == "alice" else "alice"
    mine, theirs = await key_for(rig.rt, me), await key_for(rig.rt, other)
    base = f"/v1/interactions/{inter.id}/call"
    resp = await rig.client.post(f"{base}/answer", headers=theirs, json={})
    assert resp.status_code == 403  # not offered to them: out of their reach
    resp = await rig.client.post(f"{base}/answer", headers=mine, json={})
    assert resp.status_code == 200 and resp.json()["state"] == "work_in_progress"
    assert (await rig.client.post(f"{base}/hold", headers=mine, json={})).json()["state"] == "on_hold"
    assert (await rig.client.post(f"{base}/resume", headers=mine, json={})).json()["state"] == "work_in_progress"
    resp = await rig.client.post(f"{base}/transfer", headers=mine, json={"to_number": "12345", "agent": me})
    assert resp.status_code == 400  # not E.164: refused before anything changes
    assert (await rig.client.post(f"{base}/hangup", headers=mine, json={})).json()["state"] == "wrap_up"
    assert [u[1].get("Status") for u in rig.updates][-1] == ["completed"]
    assert (await rig.client.post(f"{base}/hold", headers=mine, json={})).status_code == 409


async def test_a_refused_command_is_a_502_and_the_interaction_is_kept(rig, recs):
    await rig.post(recs["inbound_1_ringing"].body)
    inter = await rig.one()
    rig.fail_update = True
    resp = await rig.client.post(f"/v1/interactions/{inter.id}/call/answer", headers=await key_for(rig.rt, inter.agent),
                                 json={})
    assert resp.status_code == 502 and resp.json()["error"] == "provider_error"
    assert SETTINGS["auth_token"] not in resp.text
    assert (await rig.one(inter.id)).state.value == "work_in_progress"


async def test_dial_and_softphone_token_over_http(rig):
    alice = await key_for(rig.rt, "alice")
    resp = await rig.client.post("/v1/calls", headers=alice,
                                 json={"plugin": "cti_twilio", "account": "acme", "to": "+13125550167"})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["direction"], resp.json()["agent"]) == ("outbound", "alice")
    resp = await rig.client.post("/v1/calls", headers=alice,
                                 json={"plugin": "cti_twilio", "account": "acme", "to": "+13125550168", "agent": "bob"})
    assert resp.status_code == 403  # an agent dials only as themself
    resp = await rig.client.post("/v1/agents/alice/softphone-token", headers=alice,
                                 json={"plugin": "cti_twilio", "account": "acme"})
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    claims = jwt.decode(resp.json()["token"], SETTINGS["api_key_secret"], algorithms=["HS256"])
    assert claims["grants"]["identity"] == "alice"
    resp = await rig.client.post("/v1/agents/bob/softphone-token", headers=alice,
                                 json={"plugin": "cti_twilio", "account": "acme"})
    assert resp.status_code == 403
    assert API.startswith("https://")
