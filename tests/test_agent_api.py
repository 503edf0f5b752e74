"""The agent REST API (/v1, /openapi.json) and the CLI's live-state commands, over ASGI.

Agents in the default test settings: alice (chat 2) and bob (chat 1), one queue "support", most
available capacity first.  Customer messages come in through the sample plugin's webhook.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import api_access
import httpx
import pytest
import respx
from sample_wire import make_settings, msg, sample_body, sample_signature
from typer.testing import CliRunner

from omnisdk.cli import app as cli_app
from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime
from omnisdk.testkit.asgi_server import serve_in_task

WEBHOOK = "/webhooks/sample/acme"
CUSTOMER = "+15550100001"


@pytest.fixture
def app(runtime):
    return create_app(runtime, manage_runtime=False)


@pytest.fixture
async def client(app, runtime):
    """An admin's client (the role tests are in test_api_access.py)."""
    async with api_access.client(app, await api_access.api_key(runtime, "admin")) as c:
        yield c


@pytest.fixture
def provider():
    """The sample provider's send endpoint, answering a fresh message id each time."""
    ids = itertools.count(1)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("https://sample.test/messages").mock(
            side_effect=lambda request: httpx.Response(200, json={"id": f"out-{next(ids)}"}))
        mock.route(host="127.0.0.1").pass_through()  # a gateway the CLI test serves locally
        yield route


async def customer_writes(client, runtime, n, customer=CUSTOMER, text="hi"):
    body = sample_body([msg(n, customer=customer, text=text)])
    resp = await client.post(WEBHOOK, content=body, headers={"x-sample-signature": sample_signature(body),
                                                               "content-type": "application/json"})
    assert resp.status_code == 200
    await runtime.processor.drain()


async def ok(resp, status=200):
    assert resp.status_code == status, resp.text
    return resp.json()


async def listed(resp):
    """The items of a list answer (one page: these tests hold fewer than a page)."""
    page = await ok(resp)
    assert set(page) == {"items", "next_cursor"} and page["next_cursor"] is None, page
    return page["items"]


def error_of(resp, status, reason):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["error"] == reason, body
    assert "detail" in body
    return body


# --- the whole lifecycle over HTTP -----------------------------------------------------------


async def test_full_scenario_over_http(client, runtime, provider):
    await customer_writes(client, runtime, 1, text="my router is broken")
    [item] = await listed(await client.get("/v1/interactions", params={"active": "true"}))
    iid = item["id"]
    assert item["state"] == "offered" and item["agent"] == "alice" and item["queue"] == "support"

    # only the offered agent may accept
    error_of(await client.post(f"/v1/interactions/{iid}/accept", json={"agent": "bob"}), 409, "conflict")
    inter = await ok(await client.post(f"/v1/interactions/{iid}/accept", json={"agent": "alice"}))
    assert inter["state"] == "work_in_progress"

    agents = {a["id"]: a for a in await listed(await client.get("/v1/agents"))}
    assert agents["alice"]["load"] == {"chat": 1} and agents["alice"]["free_capacity"] == {"chat": 1}

    inter = await ok(await client.post(f"/v1/interactions/{iid}/hold", json={"agent": "alice"}))
    assert inter["state"] == "on_hold" and inter["agent"] == "alice"
    agents = {a["id"]: a for a in await listed(await client.get("/v1/agents"))}
    assert agents["alice"]["load"] == {}  # parked: capacity released

    # the customer writes again: back to its owner
    await customer_writes(client, runtime, 2, text="still broken")
    detail = await ok(await client.get(f"/v1/interactions/{iid}"))
    assert detail["interaction"]["state"] == "work_in_progress" and detail["interaction"]["agent"] == "alice"
    assert detail["history"][-1]["note"] == "customer replied; back to its owner"
    assert [m["body"]["text"] for m in detail["messages"]] == ["my router is broken", "still broken"]

    # transfer to bob, who accepts
    error_of(await client.post(f"/v1/interactions/{iid}/transfer", json={"to_agent": "bob", "agent": "bob"}), 409, "conflict")
    inter = await ok(await client.post(f"/v1/interactions/{iid}/transfer", json={"to_agent": "bob", "agent": "alice"}))
    assert inter["state"] == "offered" and inter["agent"] == "bob"
    agents = {a["id"]: a for a in await listed(await client.get("/v1/agents"))}
    assert agents["alice"]["load"] == {} and agents["bob"]["load"] == {"chat": 1}
    inter = await ok(await client.post(f"/v1/interactions/{iid}/accept"))  # no body: no agent check
    assert inter["state"] == "work_in_progress" and inter["agent"] == "bob"

    # a reply, then a case: the interaction closes with "Task created"
    assert (await ok(await client.post(f"/v1/interactions/{iid}/reply", json={"text": "looking into it"},
                                       headers={"Idempotency-Key": "r-1"}), 202)) == {"idempotency_key": "r-1"}
    while await runtime.outbox.run_once():  # the reply is sent (and recorded) before the case
        pass
    case = await ok(await client.post(f"/v1/interactions/{iid}/case", json={"subject": "Broken router", "agent": "bob"}), 201)
    assert case["number"] == "CS0000001" and case["subject"] == "Broken router"
    assert case["interaction_ids"] == [iid] and case["customer"] == CUSTOMER
    assert [m["body"]["text"] for m in case["history"]] == ["my router is broken", "still broken", "looking into it"]
    assert case["context"]["id"] == iid

    detail = await ok(await client.get(f"/v1/interactions/{iid}"))
    inter = detail["interaction"]
    assert inter["state"] == "closed" and inter["wrap_up_code"] == "Task created" and inter["case_id"] == case["id"]
    assert [h["to_state"] for h in detail["history"]] == [
        "new", "queued", "offered", "work_in_progress", "on_hold", "work_in_progress",
        "offered", "work_in_progress", "wrap_up", "closed",
    ]
    assert detail["history"][6]["agent"] == "bob"
    assert detail["history"][-1]["note"] == "case CS0000001"
    assert [c["number"] for c in await listed(await client.get("/v1/cases"))] == ["CS0000001"]
    agents = {a["id"]: a for a in await listed(await client.get("/v1/agents"))}
    assert agents["alice"]["load"] == {} and agents["bob"]["load"] == {}

    # the reply and the case notice went out through the provider
    for _ in range(100):
        await runtime.outbox.run_once()
        sent = [m for m in (await ok(await client.get(f"/v1/interactions/{iid}")))["messages"] if m["direction"] == "outbound"]
        if len(sent) == 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(m["body"]["text"] for m in sent) == [
        "We opened case CS0000001 for your request; we will keep you posted.", "looking into it"]
    assert provider.call_count == 2

    # closed for good; the listing filters agree
    error_of(await client.post(f"/v1/interactions/{iid}/close"), 409, "conflict")
    assert await listed(await client.get("/v1/interactions", params={"active": "true"})) == []
    assert [i["id"] for i in await listed(await client.get("/v1/interactions", params={"active": "false"}))] == [iid]
    assert [i["id"] for i in await listed(await client.get("/v1/interactions", params={"state": ["closed", "queued"]}))] == [iid]
    assert await listed(await client.get("/v1/interactions", params={"state": "offered"})) == []
    stats = await ok(await client.get("/v1/stats"))
    assert stats["events.accepted"] == 2


async def test_reject_wrap_up_close_and_case_link(client, runtime, provider):
    await customer_writes(client, runtime, 1, customer="+15550100001")
    [first] = await listed(await client.get("/v1/interactions"))
    assert first["agent"] == "alice"
    inter = await ok(await client.post(f"/v1/interactions/{first['id']}/reject", json={"agent": "alice"}))
    assert inter["state"] == "offered" and inter["agent"] == "bob" and inter["declined_by"] == ["alice"]
    await ok(await client.post(f"/v1/interactions/{first['id']}/accept", json={"agent": "bob"}))
    case = await ok(await client.post(f"/v1/interactions/{first['id']}/case"), 201)  # no body: default subject
    assert case["subject"] == f"chat request from {CUSTOMER}"

    await customer_writes(client, runtime, 2, customer="+15550100002")
    second = [i for i in await listed(await client.get("/v1/interactions", params={"active": "true"}))][0]
    await ok(await client.post(f"/v1/interactions/{second['id']}/accept"))
    linked = await ok(await client.post(f"/v1/interactions/{second['id']}/case-link", json={"case": "CS0000001"}))
    assert linked["interaction_ids"] == [first["id"], second["id"]]
    inter = await ok(await client.post(f"/v1/interactions/{second['id']}/wrap-up"))
    assert inter["state"] == "wrap_up"
    error_of(await client.post(f"/v1/interactions/{second['id']}/close", json={"wrap_up_code": "Made up"}), 400, "bad_request")
    inter = await ok(await client.post(f"/v1/interactions/{second['id']}/close", json={"wrap_up_code": "Issue resolved"}))
    assert inter["state"] == "closed" and inter["wrap_up_code"] == "Issue resolved" and inter["case_id"] == case["id"]


async def test_a_case_link_to_another_queues_case_is_for_whoever_sees_both(tmp_path, provider):
    """Alice (support) holds a chat whose customer names a case bob opened from billing: she may
    not see that case, so her link is an unknown case's 404 and nothing changes; an admin (or a
    supervisor of both queues) links it, and from then on the case is hers to see too."""
    rt = Runtime(make_settings(tmp_path, queues=[{"name": "billing", "keywords": ["invoice"]}, {"name": "support"}],
                               agents=[{"id": "alice", "queues": ["support"], "capacity": {"chat": 2}},
                                       {"id": "bob", "queues": ["billing"], "capacity": {"chat": 2}}]))
    await rt.start()
    try:
        app = create_app(rt, manage_runtime=False)
        async with api_access.client(app, await api_access.api_key(rt, "admin")) as admin, \
                api_access.client(app, await api_access.api_key(rt, "agent", agent="alice")) as alice:
            await customer_writes(admin, rt, 1, customer="+15550100001", text="my invoice is wrong")
            [billing] = await rt.interactions()
            assert billing.queue == "billing"
            await rt.accept(billing.id, "bob")
            case = await rt.create_case(billing.id, agent="bob")
            await customer_writes(admin, rt, 2, customer="+15550100001", text="about case CS0000001")
            [chat] = [i for i in await rt.interactions() if i.id != billing.id]
            assert chat.queue == "support"
            await ok(await alice.post(f"/v1/interactions/{chat.id}/accept"))

            error_of(await alice.post(f"/v1/interactions/{chat.id}/case-link", json={"case": case.number}),
                     404, "not_found")
            error_of(await alice.post(f"/v1/interactions/{chat.id}/case-link", json={"case": case.id}),
                     404, "not_found")
            assert (await rt.interaction(chat.id))[0].case_id is None
            assert (await ok(await admin.get(f"/v1/cases/{case.number}")))["interaction_ids"] == [billing.id]
            assert await listed(await alice.get("/v1/cases")) == []

            linked = await ok(await admin.post(f"/v1/interactions/{chat.id}/case-link", json={"case": case.number}))
            assert linked["interaction_ids"] == [billing.id, chat.id]
            assert [c["number"] for c in await listed(await alice.get("/v1/cases"))] == [case.number]
            seen = await ok(await alice.get(f"/v1/cases/{case.number}"))
            assert {i["id"]: i["readable"] for i in seen["interactions"]} == {billing.id: False, chat.id: True}
            # linking again is hers to do now, and changes nothing
            again = await ok(await alice.post(f"/v1/interactions/{chat.id}/case-link", json={"case": case.number}))
            assert again["interaction_ids"] == [billing.id, chat.id]
    finally:
        await rt.stop()


async def test_transfer_to_a_queue_and_outbound(client, runtime, provider):
    await ok(await client.put("/v1/queues/vip", json={"name": "vip", "priority": 5}))
    await customer_writes(client, runtime, 1)
    [item] = await listed(await client.get("/v1/interactions"))
    await ok(await client.post(f"/v1/interactions/{item['id']}/accept"))
    inter = await ok(await client.post(f"/v1/interactions/{item['id']}/transfer", json={"to_queue": "vip"}))
    assert inter["queue"] == "vip" and inter["state"] == "offered"  # routed at once to a free agent
    queues = {q["name"]: q for q in await ok(await client.get("/v1/queues"))}
    assert set(queues) == {"support", "vip"} and queues["vip"]["priority"] == 5

    out = await ok(await client.post("/v1/interactions", json={
        "agent": "bob", "plugin": "sample", "account": "acme", "customer": "+15550109999",
        "text": "Your order shipped", "business": "biz"}), 201)
    assert out["direction"] == "outbound" and out["state"] == "work_in_progress" and out["agent"] == "bob"
    # an account without a business address of its own needs one
    error_of(await client.post("/v1/interactions", json={
        "agent": "alice", "plugin": "sample", "account": "acme", "customer": "+15550108888", "text": "hi"}),
        400, "bad_request")


# --- errors --------------------------------------------------------------------------------------


async def test_illegal_moves_are_409(client, runtime):
    await customer_writes(client, runtime, 1)
    [item] = await listed(await client.get("/v1/interactions"))
    iid = item["id"]
    for action in ("hold", "resume", "wrap-up"):  # it is only offered
        error_of(await client.post(f"/v1/interactions/{iid}/{action}"), 409, "conflict")
    await ok(await client.post(f"/v1/interactions/{iid}/accept"))
    error_of(await client.post(f"/v1/interactions/{iid}/accept"), 409, "conflict")
    error_of(await client.post(f"/v1/interactions/{iid}/reject"), 409, "conflict")
    error_of(await client.post(f"/v1/interactions/{iid}/hold", json={"agent": "bob"}), 409, "conflict")
    # nothing changed
    assert (await ok(await client.get(f"/v1/interactions/{iid}")))["interaction"]["state"] == "work_in_progress"


async def test_no_capacity_is_409(client, runtime, provider):
    await ok(await client.put("/v1/agents/alice/presence", json={"presence": "away"}))
    await customer_writes(client, runtime, 1, customer="+15550100001")
    [a] = await listed(await client.get("/v1/interactions"))
    assert a["agent"] == "bob"
    await ok(await client.post(f"/v1/interactions/{a['id']}/accept"))
    await ok(await client.post(f"/v1/interactions/{a['id']}/hold"))
    await customer_writes(client, runtime, 2, customer="+15550100002")  # bob's one slot is taken again
    b = [i for i in await listed(await client.get("/v1/interactions")) if i["id"] != a["id"]][0]
    assert b["agent"] == "bob" and b["state"] == "offered"
    body = error_of(await client.post(f"/v1/interactions/{a['id']}/resume"), 409, "no_capacity")
    assert "bob" in body["detail"]
    error_of(await client.post("/v1/interactions", json={
        "agent": "bob", "plugin": "sample", "account": "acme", "customer": "+15550107777", "text": "hi",
        "business": "biz"}), 409, "no_capacity")
    await ok(await client.put("/v1/agents/alice/presence", json={"presence": "available"}))
    await ok(await client.post(f"/v1/interactions/{b['id']}/accept"))
    await ok(await client.post(f"/v1/interactions/{b['id']}/hold"))
    await ok(await client.post(f"/v1/interactions/{a['id']}/resume"))  # now it fits
    # transfer to an agent with no free capacity: refused, nothing changed
    error_of(await client.post(f"/v1/interactions/{b['id']}/transfer", json={"to_agent": "bob"}), 409, "no_capacity")
    assert (await ok(await client.get(f"/v1/interactions/{b['id']}")))["interaction"]["state"] == "on_hold"


async def test_unknown_ids_are_404(client, runtime):
    await customer_writes(client, runtime, 1)
    [item] = await listed(await client.get("/v1/interactions"))
    iid = item["id"]
    error_of(await client.get("/v1/interactions/nope"), 404, "not_found")
    for action in ("accept", "reject", "hold", "resume", "wrap-up", "close", "case"):
        error_of(await client.post(f"/v1/interactions/nope/{action}"), 404, "not_found")
    error_of(await client.post("/v1/interactions/nope/reply", json={"text": "x"}), 404, "not_found")
    error_of(await client.post("/v1/interactions/nope/transfer", json={"to_queue": "support"}), 404, "not_found")
    error_of(await client.post("/v1/interactions/nope/case-link", json={"case": "CS0000001"}), 404, "not_found")
    error_of(await client.post(f"/v1/interactions/{iid}/case-link", json={"case": "CS0000099"}), 404, "not_found")
    error_of(await client.post(f"/v1/interactions/{iid}/transfer", json={"to_agent": "zoe"}), 404, "not_found")
    error_of(await client.post(f"/v1/interactions/{iid}/transfer", json={"to_queue": "nowhere"}), 404, "not_found")
    error_of(await client.put("/v1/agents/zoe/presence", json={"presence": "away"}), 404, "not_found")
    error_of(await client.post("/v1/interactions", json={
        "agent": "alice", "plugin": "sample", "account": "nobody", "customer": "+1555", "text": "hi"}), 404, "not_found")
    error_of(await client.post("/v1/interactions", json={
        "agent": "zoe", "plugin": "sample", "account": "acme", "customer": "+1555", "text": "hi"}), 404, "not_found")
    error_of(await client.get("/v1/no-such-thing"), 404, "not_found")
    error_of(await client.delete("/v1/agents"), 405, "method_not_allowed")
    # nothing was touched by the refused transfers
    assert (await ok(await client.get(f"/v1/interactions/{iid}")))["interaction"]["state"] == "offered"


@pytest.mark.parametrize("method, path, kwargs, status, reason", [
    ("post", "/v1/interactions/X/reply", {"content": b"nope"}, 400, "malformed_payload"),
    ("post", "/v1/interactions/X/reply", {"content": b"{", "headers": {"content-type": "application/json"}}, 400, "malformed_payload"),
    ("post", "/v1/interactions/X/reply", {"content": b'{"text": "hi"}', "headers": {"content-type": "text/plain"}}, 415, "unsupported_media_type"),
    ("post", "/v1/interactions/X/reply", {"json": {"text": ""}}, 422, "validation_error"),
    ("post", "/v1/interactions/X/reply", {"json": {"text": 5}}, 422, "validation_error"),
    ("post", "/v1/interactions/X/reply", {"json": [1, 2]}, 422, "validation_error"),
    ("post", "/v1/interactions/X/reply", {"json": {"text": "hi"}, "headers": {"Idempotency-Key": ""}}, 422, "validation_error"),
    ("post", "/v1/interactions/X/transfer", {"json": {"to_agent": "bob", "to_queue": "support"}}, 422, "validation_error"),
    ("post", "/v1/interactions/X/transfer", {"json": {}}, 422, "validation_error"),
    ("post", "/v1/interactions/X/accept", {"json": {"agnet": "alice"}}, 422, "validation_error"),
    ("post", "/v1/interactions/X/accept", {"json": "alice"}, 422, "validation_error"),
    ("post", "/v1/interactions/X/close", {"json": {"wrap_up_code": "Nope"}}, 400, "bad_request"),
    ("put", "/v1/agents/alice/presence", {"json": {"presence": "busy"}}, 422, "validation_error"),
    ("put", "/v1/agents/alice", {"json": {"id": "bob", "capacity": {"chat": 1}}}, 400, "bad_request"),
    ("put", "/v1/agents/alice", {"json": {"id": "alice", "capacity": {"pigeon": 1}}}, 400, "bad_request"),
    ("put", "/v1/agents/alice", {"json": {"id": "alice", "capacity": {"Pigeon!": 1}}}, 422, "validation_error"),
    ("put", "/v1/queues/vip", {"json": {"name": "vip", "channels": ["pigeon"]}}, 400, "bad_request"),
    ("put", "/v1/agents/alice", {"json": {"id": "alice", "max_units": -1}}, 422, "validation_error"),
    ("put", "/v1/queues/vip", {"json": {"name": "other"}}, 400, "bad_request"),
    ("put", "/v1/queues/vip", {"json": {"name": "vip", "offer_timeout": 0}}, 422, "validation_error"),
    ("get", "/v1/interactions", {"params": {"state": "sleeping"}}, 422, "validation_error"),
    ("get", "/v1/interactions", {"params": {"active": "perhaps"}}, 422, "validation_error"),
    ("post", "/v1/interactions", {"json": {"agent": "alice"}}, 422, "validation_error"),
    ("post", "/v1/interactions/X/reply", {"content": b"x" * ((1 << 20) + 1), "headers": {"content-type": "application/json"}}, 413, "payload_too_large"),
])
async def test_bad_requests_are_4xx_with_a_json_error(client, runtime, method, path, kwargs, status, reason):
    await customer_writes(client, runtime, 1)
    [item] = await listed(await client.get("/v1/interactions"))
    resp = await client.request(method.upper(), path.replace("/X/", f"/{item['id']}/"), **kwargs)
    body = error_of(resp, status, reason)
    if status == 422:
        assert isinstance(body["detail"], list) and body["detail"][0]["loc"]
        assert all("input" not in e for e in body["detail"])


async def test_a_streamed_body_over_the_limit_is_413(client, runtime):
    async def chunks():
        for _ in range(20):
            yield b"x" * 65536  # no Content-Length: counted while read

    resp = await client.post("/v1/interactions/whatever/reply", content=chunks(),
                             headers={"content-type": "application/json"})
    error_of(resp, 413, "payload_too_large")


async def test_garbage_never_yields_a_500(client, runtime):
    await customer_writes(client, runtime, 1)
    [item] = await listed(await client.get("/v1/interactions"))
    bodies = [b"", b"null", b"0", b'""', b"[]", b"{}", b'{"agent": null}', b'{"agent": ["x"]}',
              b'{"text": null}', b"\xff\xfe", b'{"presence": 1}', b'{"id": {}}', b'{"name": 3}',
              b'{"to_agent": ""}', b'{"case": "%"}', b'{"wrap_up_code": ""}']
    paths = [("POST", f"/v1/interactions/{item['id']}/{a}") for a in
             ("accept", "reject", "hold", "resume", "wrap-up", "transfer", "close", "reply", "case", "case-link")]
    paths += [("POST", "/v1/interactions"), ("PUT", "/v1/agents/alice"), ("PUT", "/v1/agents/alice/presence"),
              ("PUT", "/v1/queues/support"), ("PUT", "/v1/agents/%00"), ("POST", "/v1/interactions/%2F..%2F/accept")]
    for method, path in paths:
        for body in bodies:
            resp = await client.request(method, path, content=body, headers={"content-type": "application/json"})
            assert resp.status_code < 500, (method, path, body, resp.text)
            if resp.status_code >= 400:
                assert "error" in resp.json()


# --- agents, presence, queues -------------------------------------------------------------------


async def test_presence_change_drains_the_backlog(client, runtime):
    for agent in ("alice", "bob"):
        a = await ok(await client.put(f"/v1/agents/{agent}/presence", json={"presence": "away"}))
        assert a["presence"] == "away" and all(v == 0 for v in a["free_capacity"].values())
    for n in range(3):
        await customer_writes(client, runtime, n, customer=f"+1555010000{n}")
    assert {i["state"] for i in await listed(await client.get("/v1/interactions"))} == {"queued"}
    [support] = await ok(await client.get("/v1/queues"))
    assert support["name"] == "support" and support["waiting"] == 3

    alice = await ok(await client.put("/v1/agents/alice/presence", json={"presence": "available"}))
    assert alice["load"] == {"chat": 2} and alice["free_capacity"] == {"chat": 0}
    assert (await ok(await client.get("/v1/queues")))[0]["waiting"] == 1
    bob = await ok(await client.put("/v1/agents/bob/presence", json={"presence": "available"}))
    assert bob["load"] == {"chat": 1}
    assert (await ok(await client.get("/v1/queues")))[0]["waiting"] == 0
    items = await listed(await client.get("/v1/interactions", params={"state": "offered"}))
    assert sorted(i["agent"] for i in items) == ["alice", "alice", "bob"]
    # offline stops new offers but keeps what the agent holds
    bob = await ok(await client.put("/v1/agents/bob/presence", json={"presence": "offline"}))
    assert bob["presence"] == "offline" and bob["load"] == {"chat": 1}


async def test_put_agent_adds_an_agent_who_takes_waiting_work(client, runtime):
    await ok(await client.put("/v1/agents/alice/presence", json={"presence": "offline"}))
    await ok(await client.put("/v1/agents/bob/presence", json={"presence": "offline"}))
    await customer_writes(client, runtime, 1)
    carol = await ok(await client.put("/v1/agents/carol", json={
        "id": "carol", "name": "Carol", "skills": {"billing": 3}, "capacity": {"chat": 3, "voice": 1}, "max_units": 2}))
    assert carol["load"] == {"chat": 1} and carol["free_capacity"] == {"chat": 2, "voice": 1}
    assert carol["skills"] == {"billing": 3}
    [item] = await listed(await client.get("/v1/interactions"))
    assert item["agent"] == "carol" and item["state"] == "offered"
    ids = [a["id"] for a in await listed(await client.get("/v1/agents"))]
    assert ids == ["alice", "bob", "carol"]
    # a queue with a skill carol lacks at that level
    q = await ok(await client.put("/v1/queues/billing", json={"name": "billing", "skills": {"billing": 4}}))
    assert q["waiting"] == 0 and q["skills"] == {"billing": 4}


# --- idempotency keys are scoped to the interaction (issue 8, B5) ----------------------------


async def two_accepted(client, runtime):
    # the tests send with outbox.run_once(): the runtime's own worker would race them for the
    # rows (a row it holds in flight is not due for run_once, which then returns 0 too early)
    await runtime.outbox.stop()
    await customer_writes(client, runtime, 1, customer="+15550100001", text="first")
    await customer_writes(client, runtime, 2, customer="+15550100002", text="second")
    items = await listed(await client.get("/v1/interactions"))
    for item in items:
        await ok(await client.post(f"/v1/interactions/{item['id']}/accept"))
    return [i["id"] for i in reversed(items)]  # oldest first


async def test_the_readme_reply_key_on_two_interactions_sends_both(client, runtime, provider):
    first, second = await two_accepted(client, runtime)
    for iid in (first, second):  # the README's example, run for each interaction
        answer = await ok(await client.post(f"/v1/interactions/{iid}/reply", json={"text": "Hello!"},
                                            headers={"Idempotency-Key": "r-1"}), 202)
        assert answer == {"idempotency_key": "r-1"}
    while await runtime.outbox.run_once():
        pass
    sent = sorted(json.loads(c.request.content)["to"] for c in provider.calls)
    assert sent == ["+15550100001", "+15550100002"]
    assert len({c.request.headers["idempotency-key"] for c in provider.calls}) == 2  # distinct at the provider
    for iid in (first, second):
        detail = await ok(await client.get(f"/v1/interactions/{iid}"))
        assert [m["body"]["text"] for m in detail["messages"] if m["direction"] == "outbound"] == ["Hello!"]


async def test_a_reused_key_with_the_same_body_is_a_no_op_and_with_another_body_409(client, runtime, provider):
    first, _ = await two_accepted(client, runtime)
    reply = lambda text: client.post(f"/v1/interactions/{first}/reply", json={"text": text},  # noqa: E731
                                     headers={"Idempotency-Key": "r-1"})
    assert (await ok(await reply("Hello!"), 202)) == {"idempotency_key": "r-1"}
    assert (await ok(await reply("Hello!"), 202)) == {"idempotency_key": "r-1"}  # a retry
    body = error_of(await reply("Something else"), 409, "idempotency_conflict")
    assert "different request" in body["detail"]
    while await runtime.outbox.run_once():
        pass
    assert [json.loads(c.request.content)["text"] for c in provider.calls] == ["Hello!"]
    # the refused request changed nothing: no message, no history step
    detail = await ok(await client.get(f"/v1/interactions/{first}"))
    assert [m["body"]["text"] for m in detail["messages"] if m["direction"] == "outbound"] == ["Hello!"]


async def test_a_key_is_scoped_to_its_caller_two_api_clients_never_collide(client, app, runtime, provider):
    """Two API clients (two keys) that happen to pick the same Idempotency-Key on one
    interaction send two replies; each client's own retry is still a no-op (issue 8, B5)."""
    first, _ = await two_accepted(client, runtime)
    async with api_access.client(app, await api_access.api_key(runtime, "admin", name="other")) as other:
        for c, text in ((client, "From the first tool"), (other, "From the second tool"), (other, "From the second tool")):
            answer = await ok(await c.post(f"/v1/interactions/{first}/reply", json={"text": text},
                                           headers={"Idempotency-Key": "r-1"}), 202)
            assert answer == {"idempotency_key": "r-1"}
        # within one caller the key still guards the body
        error_of(await other.post(f"/v1/interactions/{first}/reply", json={"text": "changed"},
                                  headers={"Idempotency-Key": "r-1"}), 409, "idempotency_conflict")
    while await runtime.outbox.run_once():
        pass
    assert sorted(json.loads(c.request.content)["text"] for c in provider.calls) == [
        "From the first tool", "From the second tool"]


# --- lists that work on a busy day (issue 8, B7) --------------------------------------------------


async def test_interactions_come_newest_first_a_page_at_a_time(client, runtime):
    for n in range(1, 6):
        await customer_writes(client, runtime, n, customer=f"+1555010000{n}", text=f"hello {n}")
    everything = [i["customer"] for i in await listed(await client.get("/v1/interactions"))]
    assert everything == [f"+1555010000{n}" for n in range(5, 0, -1)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await ok(await client.get("/v1/interactions", params=params))
        assert len(page["items"]) <= 2
        seen += [i["customer"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    # filters apply in the store, before the limit: the oldest queued one is still found
    queued = await ok(await client.get("/v1/interactions", params={"state": "queued", "limit": 1}))
    assert [i["state"] for i in queued["items"]] == ["queued"] and queued["next_cursor"]  # 3 offered, 2 queued
    more = await ok(await client.get("/v1/interactions", params={"state": "queued", "limit": 1,
                                                                 "cursor": queued["next_cursor"]}))
    assert [i["state"] for i in more["items"]] == ["queued"] and more["next_cursor"] is None
    assert await listed(await client.get("/v1/interactions", params={"channel": "sms"})) == []
    assert len(await listed(await client.get("/v1/interactions", params={"channel": "chat"}))) == 5
    assert len(await listed(await client.get("/v1/interactions", params={"agent": "alice"}))) == 2
    assert len(await listed(await client.get("/v1/interactions", params={"queue": "support"}))) == 5
    assert await listed(await client.get("/v1/interactions", params={"updated_since": "2999-01-01T00:00:00Z"})) == []
    assert len(await listed(await client.get("/v1/interactions", params={"updated_since": "2000-01-01T00:00:00"}))) == 5
    oldest = everything[-1]
    [match] = await listed(await client.get("/v1/interactions", params={"id_match": (await listed(
        await client.get("/v1/interactions", params={"limit": 500})))[-1]["id"][-12:]}))
    assert match["customer"] == oldest
    error_of(await client.get("/v1/interactions", params={"cursor": "not-a-cursor"}), 400, "bad_request")
    error_of(await client.get("/v1/interactions", params={"limit": 501}), 422, "validation_error")
    error_of(await client.get("/v1/interactions", params={"limit": 0}), 422, "validation_error")


async def test_cases_and_agents_come_a_page_at_a_time(client, runtime, provider):
    for n in (1, 2):
        await customer_writes(client, runtime, n, customer=f"+1555010000{n}")
    for item in await listed(await client.get("/v1/interactions")):
        await ok(await client.post(f"/v1/interactions/{item['id']}/accept"))
        await ok(await client.post(f"/v1/interactions/{item['id']}/case", json={}), 201)
    page = await ok(await client.get("/v1/cases", params={"limit": 1}))
    assert [c["number"] for c in page["items"]] == ["CS0000002"] and page["next_cursor"]
    rest = await ok(await client.get("/v1/cases", params={"limit": 1, "cursor": page["next_cursor"]}))
    assert [c["number"] for c in rest["items"]] == ["CS0000001"] and rest["next_cursor"] is None
    error_of(await client.get("/v1/cases", params={"cursor": page["next_cursor"][:-2]}), 400, "bad_request")

    await ok(await client.put("/v1/agents/carol", json={"id": "carol", "capacity": {"chat": 1}, "presence": "away"}))
    page = await ok(await client.get("/v1/agents", params={"limit": 2}))
    assert [a["id"] for a in page["items"]] == ["alice", "bob"] and page["next_cursor"]
    rest = await ok(await client.get("/v1/agents", params={"limit": 2, "cursor": page["next_cursor"]}))
    assert [a["id"] for a in rest["items"]] == ["carol"] and rest["next_cursor"] is None
    assert [a["id"] for a in await listed(await client.get("/v1/agents", params={"presence": "away"}))] == ["carol"]


# --- the document and the raw routes ------------------------------------------------------------

REQUIRED = {
    "/v1/interactions": {"get", "post"},
    "/v1/interactions/{interaction_id}": {"get"},
    **{f"/v1/interactions/{{interaction_id}}/{a}": {"post"} for a in
       ("accept", "reject", "hold", "resume", "wrap-up", "transfer", "close", "reply", "case", "case-link")},
    "/v1/cases": {"get"},
    "/v1/agents": {"get"},
    "/v1/agents/{agent_id}": {"put"},
    "/v1/agents/{agent_id}/presence": {"put"},
    "/v1/queues": {"get"},
    "/v1/queues/{queue_name}": {"put"},
    "/v1/stats": {"get"},
}


async def test_openapi_document(client):
    resp = await client.get("/openapi.json")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("application/json")
    doc = json.loads(resp.text)
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] == "omnisdk agent API"
    for path, methods in REQUIRED.items():
        assert path in doc["paths"], path
        assert methods <= set(doc["paths"][path]), path
    assert not any(p.startswith(("/webhooks", "/healthz")) for p in doc["paths"])
    schemas = doc["components"]["schemas"]
    for name in ("Interaction", "InteractionDetail", "AgentStatus", "QueueStatus", "Agent", "Queue",
                 "TransferRequest", "ReplyRequest", "ErrorBody", "ValidationErrorBody", "CaseDetail"):
        assert name in schemas, name
    # every request body field is described
    for name in ("AgentAction", "TransferRequest", "CloseRequest", "ReplyRequest", "CaseRequest",
                 "CaseLinkRequest", "OutboundRequest", "PresenceRequest"):
        for field, spec in schemas[name]["properties"].items():
            assert spec.get("description"), f"{name}.{field}"
    reply = doc["paths"]["/v1/interactions/{interaction_id}/reply"]["post"]
    assert "202" in reply["responses"] and {"404", "409", "422"} <= set(reply["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in reply["parameters"])
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)


async def test_other_methods_on_the_webhook_path_are_405(client):
    for method in ("PUT", "DELETE", "PATCH"):
        resp = await client.request(method, WEBHOOK, content=b"{}")
        error_of(resp, 405, "method_not_allowed")
        assert "POST" in resp.headers["allow"]
    error_of(await client.get("/webhooks/sample"), 404, "not_found")


async def test_docs_and_health(client):
    assert (await client.get("/docs")).status_code == 200
    assert (await client.get("/healthz")).json() == {"status": "ok"}


def test_webhooks_stay_a_raw_starlette_route(app, runtime):
    from fastapi.routing import APIRoute
    from starlette.routing import Mount, Route

    first, other_methods, link_page, link_answer, health, ready, metrics, api = app.routes
    assert type(first) is Route and first.path == "/webhooks/{plugin}/{account}"
    assert (link_page.path, link_page.methods, link_answer.methods) == (
        "/links/cases/{token}", {"GET", "HEAD"}, {"POST"})  # the case links' pages, outside the API
    assert first.methods == {"GET", "HEAD", "POST"}
    assert not isinstance(first, APIRoute) and first.endpoint.__self__.runtime is runtime
    assert type(other_methods) is Route and other_methods.path == first.path
    assert type(health) is Route and health.path == "/healthz"
    assert (type(ready), ready.path, type(metrics), metrics.path) == (Route, "/readyz", Route, "/metrics")
    assert isinstance(api, Mount)  # everything else: the FastAPI app
    assert app.user_middleware == []


async def test_python_api_unknown_interaction_is_not_found(runtime):
    from omnisdk.errors import NotFoundError, StateError

    with pytest.raises(NotFoundError):
        await runtime.interaction("nope")
    with pytest.raises(NotFoundError):
        await runtime.accept("nope")
    assert issubclass(NotFoundError, StateError)


# --- the CLI's live state ------------------------------------------------------------------------


def write_config(tmp_path: Path, settings) -> Path:
    path = tmp_path / "omnisdk.toml"
    agents = "".join(
        f'\n[[routing.agents]]\nid = "{a.id}"\ncapacity = {{ {", ".join(f"{c} = {n}" for c, n in a.capacity.items())} }}\n'
        for a in settings.routing.agents)
    path.write_text(f'[store]\nurl = "{settings.store.url}"\n\n[[routing.queues]]\nname = "support"\n{agents}')
    return path


def cli(*args: str):
    """The CLI as a user runs it: a program of its own, with no event loop of its own running
    (this test's loop is the server's; it waits meanwhile)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(CliRunner().invoke, cli_app, list(args)).result()


async def scenario_state(client, runtime):
    """Three customers: one case (closed), one on hold with alice, one waiting (everyone busy)."""
    await ok(await client.put("/v1/agents/bob/presence", json={"presence": "away"}))
    await customer_writes(client, runtime, 1, customer="+15550100001", text="first")
    await customer_writes(client, runtime, 2, customer="+15550100002", text="second")
    b, a = await listed(await client.get("/v1/interactions"))  # newest first
    await ok(await client.post(f"/v1/interactions/{a['id']}/accept"))
    await ok(await client.post(f"/v1/interactions/{a['id']}/case", json={"subject": "Refund"}), 201)
    await ok(await client.post(f"/v1/interactions/{b['id']}/accept"))
    await ok(await client.post(f"/v1/interactions/{b['id']}/hold"))
    await ok(await client.put("/v1/agents/alice/presence", json={"presence": "away"}))
    await customer_writes(client, runtime, 3, customer="+15550100003", text="third")
    return a["id"], b["id"]


async def test_cli_live_state_from_the_store(client, runtime, settings, tmp_path, provider):
    closed_id, held_id = await scenario_state(client, runtime)
    await ok(await client.put("/v1/agents/bob/presence", json={"presence": "available"}))  # takes the waiting one
    await ok(await client.put("/v1/agents/dave", json={"id": "dave", "capacity": {"email": 2}, "presence": "offline"}))
    await ok(await client.put("/v1/queues/vip", json={"name": "vip", "priority": 3}))
    config = str(write_config(tmp_path, settings))

    result = cli("agents", "--config", config, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == await listed(await client.get("/v1/agents"))
    bob = [a for a in json.loads(result.stdout) if a["id"] == "bob"][0]
    assert bob["load"] == {"chat": 1} and bob["presence"] == "available"

    result = cli("queues", "--config", config, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == await ok(await client.get("/v1/queues"))

    result = cli("interaction", closed_id, "--config", config, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == await ok(await client.get(f"/v1/interactions/{closed_id}"))

    result = cli("cases", "--config", config, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == await listed(await client.get("/v1/cases"))
    assert [c["number"] for c in json.loads(result.stdout)] == ["CS0000001"]

    # the tables a person reads
    result = cli("agents", "--config", config)
    assert result.exit_code == 0 and "alice" in result.stdout and "dave" in result.stdout and "away" in result.stdout
    result = cli("queues", "--config", config)
    assert result.exit_code == 0 and "support" in result.stdout and "vip" in result.stdout
    result = cli("interaction", held_id[-12:], "--config", config)  # the suffix `interactions` shows
    assert result.exit_code == 0, result.output
    assert "on_hold" in result.stdout and "second" in result.stdout and "history" in result.stdout
    result = cli("cases", "--config", config)
    assert result.exit_code == 0 and "CS0000001" in result.stdout and "Refund" in result.stdout

    result = cli("interaction", "no-such-id", "--config", config)
    assert result.exit_code == 1 and "no interaction" in result.stderr


async def test_cli_waiting_counts_from_the_store(client, runtime, settings, tmp_path, provider):
    await scenario_state(client, runtime)
    config = str(write_config(tmp_path, settings))
    result = cli("queues", "--config", config, "--json")
    assert [(q["name"], q["waiting"]) for q in json.loads(result.stdout)] == [("support", 1)]
    result = cli("agents", "--config", config, "--json")
    loads = {a["id"]: (a["presence"], a["load"]) for a in json.loads(result.stdout)}
    assert loads == {"alice": ("away", {}), "bob": ("away", {})}  # the case closed one, the other is parked


async def test_cli_against_a_running_gateway(app, client, runtime, monkeypatch, provider):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    closed_id, _ = await scenario_state(client, runtime)
    monkeypatch.setenv("OMNISDK_API_KEY", client.headers["x-api-key"])
    async with serve_in_task(app) as url:
        for args, path in ((["agents"], "/v1/agents"), (["queues"], "/v1/queues"), (["cases"], "/v1/cases"),
                           (["interaction", closed_id], f"/v1/interactions/{closed_id}")):
            result = await asyncio.to_thread(cli, *args, "--url", url, "--json")
            assert result.exit_code == 0, result.output
            answer = await ok(await client.get(path))
            assert json.loads(result.stdout) == (answer["items"] if "items" in answer else answer)
        result = await asyncio.to_thread(cli, "interaction", closed_id[-10:], "--url", url)
        assert result.exit_code == 0 and "Task created" in result.stdout
        result = await asyncio.to_thread(cli, "interaction", "nope", "--url", url)
        assert result.exit_code == 1
    result = await asyncio.to_thread(cli, "agents", "--url", url)  # the gateway is gone
    assert result.exit_code == 1 and "cannot reach" in result.stderr


async def test_an_externally_routed_interaction_moves_between_ccaas_agents_the_core_does_not_know(tmp_path):
    """The CCaaS owns its agents: assign and transfer over REST name agents the core has never
    seen, and the transfer reaches the connector (the core checks agents only for its own routing)."""
    from sample_wire import make_settings

    from omnisdk.hookspecs import hookimpl
    from omnisdk.runtime import Runtime

    class Connector:
        transfers: list = []

        @hookimpl
        def omnisdk_external_transfer(self, interaction, to_agent, to_queue, queue, target_queue):
            self.transfers.append((interaction.id, to_agent))

    settings = make_settings(tmp_path, queues=[{"name": "genesys", "routing_source": "external",
                                                "connector": "genesys"}],
                             agents=[{"id": "alice", "capacity": {"chat": 2}}])
    rt = Runtime(settings)
    rt.host.allow.add("genesys")
    connector = Connector()
    assert rt.host.register(connector, "genesys")
    await rt.start()
    try:
        async with api_access.client(create_app(rt, manage_runtime=False), await api_access.api_key(rt)) as client:
            await customer_writes(client, rt, 1)
            [item] = await listed(await client.get("/v1/interactions"))
            iid = item["id"]
            assert item["state"] == "queued" and item["routing_source"] == "external"
            offered = await ok(await client.post(f"/v1/interactions/{iid}/assign", json={"agent": "gen-7"}))
            assert offered["state"] == "offered" and offered["agent"] == "gen-7"
            await ok(await client.post(f"/v1/interactions/{iid}/accept", json={"agent": "gen-7"}))
            moved = await ok(await client.post(f"/v1/interactions/{iid}/transfer", json={"to_agent": "gen-9"}))
            assert moved["state"] == "offered" and moved["agent"] == "gen-9"
            await asyncio.sleep(0)  # the connector is told after the commit
            assert connector.transfers == [(iid, "gen-9")]
            assert rt.engine.load["alice"] == {}, "a CCaaS agent's work holds no core capacity"
    finally:
        await rt.stop()
