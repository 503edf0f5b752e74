"""Messaging profiles and agent-initiated SMS over the agent API, with API keys
(tests/plugins_for_tests/api_access.py).

Customers write through the sms plugin's recorded Twilio webhook (inbound_sms.form, from
+12065550142 to the account's +14155550100, signed as Twilio signs it); sends go to a
respx-mocked Messages API.  alice and bob serve queue support; alice's key is an agent's.
"""

from __future__ import annotations

import api_access
import httpx
import pytest
import respx

from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.model import DirectoryUser
from omnisdk.recordings import load
from omnisdk.runtime import Runtime
from omnisdk_sms import TwilioSmsAdapter

PUBLIC = "https://hooks.example.com"
CUSTOMER, BUSINESS, SECOND = "+12065550142", "+14155550100", "+14155550199"
SMS = {**TwilioSmsAdapter.example_settings(), "numbers": [SECOND]}
MESSAGES = f"https://api.twilio.com/2010-04-01/Accounts/{SMS['account_sid']}/Messages.json"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def world(tmp_path):
    settings = Settings(
        store={"url": f"sqlite:///{tmp_path / 'omni.db'}", "synchronous": "NORMAL"},
        gateway={"public_url": PUBLIC},
        routing={"queues": [{"name": "support"}],
                 "agents": [{"id": "alice", "queues": ["support"], "capacity": {"sms": 2}},
                            {"id": "bob", "queues": ["support"], "capacity": {"sms": 2}}]},
        accounts={"sms": {"acme": SMS}},
    )
    rt = Runtime(settings)
    await rt.start()
    app = create_app(rt, manage_runtime=False)
    keys = {"alice": await api_access.api_key(rt, "agent", agent="alice", name="alice"),
            "bob": await api_access.api_key(rt, "agent", agent="bob", name="bob")}
    with respx.mock(assert_all_called=False) as mock:
        mock.post(MESSAGES).mock(return_value=httpx.Response(201, json=TwilioSmsAdapter.sandbox_reply(0)))
        yield rt, app, keys
    await rt.stop()


async def customer_writes(rt, app) -> str:
    body = {r.name: r for r in load(TwilioSmsAdapter.recordings)}["inbound_sms"].body
    adapter = rt.adapter("sms", "acme")
    async with api_access.client(app) as c:
        resp = await c.post("/webhooks/sms/acme", content=body,
                            headers={"content-type": FORM, **adapter.sign(f"{PUBLIC}/webhooks/sms/acme", body, FORM)})
        assert resp.status_code == 200, resp.text
    await rt.processor.drain()
    [inter] = [i for i in await rt.interactions(active_only=True) if i.customer == CUSTOMER]
    return inter.id


async def test_a_conflict_is_shown_and_an_agent_resolves_it_by_linking(world):
    rt, app, keys = world
    twins = [DirectoryUser("u-ann", "Ann", (CUSTOMER,)), DirectoryUser("u-ann-2", "Ann (work)", (CUSTOMER,))]
    await rt.store.transact(lambda tx: tx.save_directory_users(twins))
    iid = await customer_writes(rt, app)
    async with api_access.client(app, keys["alice"]) as alice:
        detail = (await alice.get(f"/v1/interactions/{iid}")).json()["interaction"]
        assert detail["requester"] is None and "2 directory users" in detail["profile_conflict"]
        [flagged] = (await alice.get("/v1/messaging-profiles", params={"flagged": "true"})).json()
        assert flagged["id"] == detail["messaging_profile"] and flagged["user_id"] is None
        contact = (await alice.get("/v1/contacts", params={"channel": "sms", "address": CUSTOMER})).json()
        assert [p["id"] for p in contact["messaging_profiles"]] == [flagged["id"]]

        for body, status in (({"user": "u-nobody"}, 404), ({"user": "u-ann", "merge": True}, 422),
                             ({"user": ""}, 422), ({}, 422)):
            refused = await alice.post(f"/v1/messaging-profiles/{flagged['id']}/link", json=body)
            assert refused.status_code == status, (body, refused.text)
        linked = await alice.post(f"/v1/messaging-profiles/{flagged['id']}/link", json={"user": "u-ann-2"})
        assert linked.status_code == 200, linked.text
        assert linked.json()["user"]["name"] == "Ann (work)" and linked.json()["conflict"] is None
        assert linked.json()["verified_by"].startswith("key:")
        after = (await alice.get(f"/v1/interactions/{iid}")).json()["interaction"]
        assert (after["requester"], after["profile_conflict"]) == ("u-ann-2", None)
        assert (await alice.get("/v1/messaging-profiles", params={"flagged": "true"})).json() == []
        one = (await alice.get(f"/v1/messaging-profiles/{flagged['id']}")).json()
        assert one["user"]["id"] == "u-ann-2"
        assert (await alice.get("/v1/messaging-profiles/nope")).status_code == 404


async def test_agent_initiated_sms_reuses_refuses_and_checks_the_number(world):
    rt, app, keys = world
    start = {"agent": "alice", "plugin": "sms", "account": "acme", "customer": CUSTOMER, "text": "Hi from us",
             "business": SECOND}
    async with api_access.client(app, keys["alice"]) as alice, api_access.client(app, keys["bob"]) as bob:
        made = await alice.post("/v1/interactions", json=start)
        assert made.status_code == 201 and made.headers["omnisdk-outcome"] == "created", made.text
        again = await alice.post("/v1/interactions", json={**start, "text": "One more thing"})
        assert again.status_code == 200 and again.headers["omnisdk-outcome"] == "reused"
        assert again.json()["id"] == made.json()["id"]

        held = await bob.post("/v1/interactions", json={**start, "agent": "bob"})
        assert held.status_code == 409
        assert held.json() | {"detail": None} == {"error": "held_by_another_agent", "detail": None,
                                                   "holder": "alice", "interaction_id": made.json()["id"]}
        for change, status in (({"business": "+14155550123"}, 400), ({"customer": "206 555 0142"}, 400),
                               ({"requester": "u-nobody", "business": BUSINESS}, 404)):
            refused = await alice.post("/v1/interactions", json={**start, **change})
            assert refused.status_code == status, (change, refused.text)
            assert refused.json()["error"] in {"bad_request", "not_found"}
