"""Contacts across channels: a contact's page lists its addresses and its interactions on every
channel; an agent merges two contacts and the merge is recorded and undone.

Customers write through the sample plugin's signed webhook; a second channel's address is the
one a mail from the same person would add (``upsert_contact``, as threading does).
"""

from __future__ import annotations

import api_access
import pytest
from sample_wire import make_settings, msg, sample_body, sample_signature

from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime

A, B = "+15550100001", "+15550100002"
ROUTING = {"queues": [{"name": "billing", "keywords": ["invoice"]}, {"name": "support"}],
           "agents": [{"id": "alice", "queues": ["support"], "capacity": {"chat": 3}},
                      {"id": "bob", "queues": ["billing"], "capacity": {"chat": 3}}]}


@pytest.fixture
async def runtime(tmp_path):
    rt = Runtime(make_settings(tmp_path, **ROUTING))
    await rt.start()
    yield rt
    await rt.stop()


@pytest.fixture
async def world(runtime):
    app = create_app(runtime, manage_runtime=False)
    keys = {"alice": await api_access.api_key(runtime, "agent", agent="alice", name="alice"),
            "admin": await api_access.api_key(runtime, "admin")}
    for n, customer, text in ((1, A, "hello"), (2, B, "my invoice")):  # A: support (alice), B: billing (bob)
        body = sample_body([msg(n, customer=customer, text=text)])
        async with api_access.client(app) as c:
            resp = await c.post("/webhooks/sample/acme", content=body,
                                headers={"x-sample-signature": sample_signature(body)})
            assert resp.status_code == 200
    await runtime.processor.drain()
    await runtime.store.transact(lambda tx: tx.upsert_contact("email", "ada@example.com", "Ada", "2026-12-03T10:00:00Z"))
    return runtime, app, keys


async def test_a_merge_joins_two_contacts_and_its_undo_parts_them(world):
    runtime, app, keys = world
    async with api_access.client(app, keys["admin"]) as admin:
        a = (await admin.get("/v1/contacts", params={"channel": "chat", "address": A})).json()
        b = (await admin.get("/v1/contacts", params={"channel": "chat", "address": B})).json()
        mail = (await admin.get("/v1/contacts", params={"channel": "email", "address": "ada@example.com"})).json()
        assert a["id"] != b["id"] and [i["customer"] for i in a["interactions"]] == [A]

        merged = await admin.post(f"/v1/contacts/{a['id']}/merge", json={"contact": b["id"]})
        assert merged.status_code == 200, merged.text
        assert merged.json()["addresses"] == [{"channel": "chat", "value": B}]
        assert merged.json()["by"].startswith("key:") and merged.json()["undone_at"] is None
        await admin.post(f"/v1/contacts/{a['id']}/merge", json={"contact": mail["id"]})
        page = (await admin.get(f"/v1/contacts/{a['id']}")).json()
        assert page["addresses"] == [{"channel": "chat", "value": A}, {"channel": "chat", "value": B},
                                     {"channel": "email", "value": "ada@example.com"}]
        assert sorted(i["customer"] for i in page["interactions"]) == [A, B]
        assert (await admin.get("/v1/contacts", params={"channel": "chat", "address": B})).json()["id"] == a["id"]

        undone = await admin.post(f"/v1/contacts/merges/{merged.json()['id']}/undo", json={})
        assert undone.status_code == 200 and undone.json()["undone_at"] is not None
        assert (await admin.get("/v1/contacts", params={"channel": "chat", "address": B})).json()["id"] == b["id"]
        again = await admin.post(f"/v1/contacts/merges/{merged.json()['id']}/undo", json={})
        assert again.status_code == 409
        assert (await admin.post(f"/v1/contacts/{a['id']}/merge", json={"contact": a["id"]})).status_code == 400
        assert (await admin.post(f"/v1/contacts/{a['id']}/merge", json={"contact": "nope"})).status_code == 404
        audit = (await admin.get("/v1/audit")).json()["items"]
        done = [(e["path"].rsplit("/", 1)[-1], e["status"]) for e in reversed(audit) if "/contacts/" in e["path"]]
        assert done == [("merge", 200), ("merge", 200), ("undo", 200), ("undo", 409), ("merge", 400), ("merge", 404)]


async def test_an_agent_sees_only_the_interactions_in_reach(world):
    runtime, app, keys = world
    mine, theirs = sorted(await runtime.interactions(), key=lambda i: i.customer)
    assert (mine.agent, theirs.agent) == ("alice", "bob")
    async with api_access.client(app, keys["alice"]) as alice:
        page = (await alice.get("/v1/contacts", params={"channel": "chat", "address": B})).json()
        assert page["addresses"] == [{"channel": "chat", "value": B}] and page["interactions"] == []
        page = (await alice.get("/v1/contacts", params={"channel": "chat", "address": A})).json()
        assert [i["id"] for i in page["interactions"]] == [mine.id]
        missing = await alice.get("/v1/contacts", params={"channel": "chat", "address": "+19999999999"})
        assert missing.status_code == 404
