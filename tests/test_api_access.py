"""Who may call the agent API: every /v1 route without credentials (401), without its scope
(403) and by the least role that holds it; what agents and supervisors reach; API keys made,
revoked and cached; rate limits; the audit log.

The world: queue ``billing`` (messages saying "invoice") served by bob, queue ``support``
(everything else) served by alice; carol supervises ``support``.  Customers write through the
sample plugin's signed webhook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import api_access
import httpx
import pytest
import respx
from sample_wire import make_settings, msg, sample_body, sample_signature

from omnisdk.access.principals import ROLE_RANK, ROLE_SCOPES, Role
from omnisdk.events import now_rfc3339
from omnisdk.gateway import create_app
from omnisdk.outbound.subscriptions import new_subscription
from omnisdk.runtime import Runtime

ROUTING = {
    "queues": [{"name": "billing", "keywords": ["invoice"]}, {"name": "support"}],
    "agents": [
        {"id": "alice", "queues": ["support"], "capacity": {"chat": 3}},
        {"id": "bob", "queues": ["billing"], "capacity": {"chat": 3}},
    ],
}


@dataclass
class World:
    runtime: Runtime
    app: Any
    keys: dict[str, str] = field(default_factory=dict)
    customers: int = 0

    def client(self, who: str | None) -> httpx.AsyncClient:
        """A client of ``who``: admin, carol (supervisor of support), alice, bob; None: no key."""
        return api_access.client(self.app, self.keys[who] if who else None)

    async def customer_writes(self, text: str = "hi") -> str:
        """A new customer writes; the id of the interaction it opened."""
        self.customers += 1
        body = sample_body([msg(f"w{self.customers}", customer=f"+1555010{self.customers:04d}", text=text)])
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://gw") as c:
            resp = await c.post("/webhooks/sample/acme", content=body, headers={
                "x-sample-signature": sample_signature(body), "content-type": "application/json"})
            assert resp.status_code == 200
        await self.runtime.processor.drain()
        [inter] = [i for i in await self.runtime.interactions() if i.customer == f"+1555010{self.customers:04d}"]
        return inter.id

    async def state(self, iid: str) -> tuple[str, str | None]:
        inter = (await self.runtime.interaction(iid))[0]
        return inter.state.value, inter.agent


async def make_world(tmp_path, **api: Any) -> World:
    settings = make_settings(tmp_path, **ROUTING)
    if api:
        settings = settings.model_copy(update={"api": settings.api.model_copy(update=api)})
    rt = Runtime(settings)
    await rt.start()
    world = World(rt, create_app(rt, manage_runtime=False))
    world.keys = {
        "admin": await api_access.api_key(rt, "admin", name="admin"),
        "carol": await api_access.api_key(rt, "supervisor", queues=["support"], name="carol"),
        "alice": await api_access.api_key(rt, "agent", agent="alice", name="alice"),
        "bob": await api_access.api_key(rt, "agent", agent="bob", name="bob"),
    }
    return world


@pytest.fixture
async def world(tmp_path):
    w = await make_world(tmp_path)
    yield w
    await w.runtime.stop()


# --- every route: 401 without credentials, 403 without its scope, 2xx for the least role ----


async def offered(w: World) -> dict[str, str]:
    return {"iid": await w.customer_writes()}


async def accepted(w: World) -> dict[str, str]:
    iid = await w.customer_writes()
    await w.runtime.accept(iid, "alice")
    return {"iid": iid}


async def queued(w: World) -> dict[str, str]:
    await w.runtime.set_presence("alice", "away")  # nobody takes it: it waits in support
    return {"iid": await w.customer_writes()}


async def drafted(w: World) -> dict[str, str]:
    inter, draft = await w.runtime.save_draft(agent="alice", plugin="sample", account="acme",
                                              customer="+15550199999", text="Hello", business="biz")
    return {"iid": inter.id, "draft": draft}


async def with_case(w: World) -> dict[str, str]:
    first = (await accepted(w))["iid"]
    case = await w.runtime.create_case(first, "Router", agent="alice")
    found = await accepted(w)
    return {**found, "case": case.number}


async def nothing(w: World) -> dict[str, str]:
    return {}


async def two_contacts(w: World) -> dict[str, str]:
    first, second = await w.customer_writes(), await w.customer_writes()
    ids = []
    for iid in (first, second):
        inter = (await w.runtime.interaction(iid))[0]
        ids.append(await w.runtime.store.transact(lambda tx, c=inter.customer: tx.contact_of("chat", c)))
    return {"contact": ids[0], "other": ids[1], "address": (await w.runtime.interaction(first))[0].customer}


async def merged(w: World) -> dict[str, str]:
    found = await two_contacts(w)
    row = await w.runtime.store.transact(lambda tx: tx.merge_contacts(found["contact"], found["other"],
                                                                      now_rfc3339(), "test"))
    return {**found, "merge": row.id}


async def flagged_profile(w: World) -> dict[str, str]:
    """A profile two directory users' number conflicts on, as the matching leaves it."""
    from omnisdk.model import DirectoryUser
    from omnisdk.store.rows import MessagingProfile

    users = [DirectoryUser("u-ann", "Ann", ("+15550107777",)), DirectoryUser("u-bob", "Bob", ("+15550107777",))]
    profile = MessagingProfile("p-access", "sms", "+15550107777", now_rfc3339(), conflict="two users")

    def save(tx):
        tx.save_directory_users(users)
        tx.save_profile(profile)

    await w.runtime.store.transact(save)
    return {"profile": profile.id}


async def subscribed(w: World) -> dict[str, str]:
    row = new_subscription(url="https://93.184.215.14/hook", event_types=["*"], created_at=now_rfc3339())
    await w.runtime.store.transact(lambda tx: tx.save_subscription(row))
    return {"sub": row.id}


START = {"agent": "alice", "plugin": "sample", "account": "acme", "customer": "+15550188888", "text": "hi",
         "business": "biz"}
AGENT_DOC = {"id": "erin", "capacity": {"chat": 1}}
QUEUE_DOC = {"name": "vip"}
DIAL = {"plugin": "sample", "account": "acme", "to": "+15550188888"}
TOKEN = {"plugin": "sample", "account": "acme"}

ROUTES: dict[tuple[str, str], tuple[str, str, Any, Any, int]] = {
    # (method, path): (scope, least role, setup, body, status for that role)
    ("GET", "/v1/interactions"): ("interactions:read", "alice", nothing, None, 200),
    ("POST", "/v1/interactions"): ("interactions:work", "alice", nothing, START, 201),
    ("POST", "/v1/interactions/drafts"): ("interactions:work", "alice", nothing, {**START, "text": "draft"}, 201),
    ("POST", "/v1/interactions/{interaction_id}/drafts/{draft_id}/send"): (
        "interactions:work", "alice", drafted, {"agent": "alice"}, 200),
    ("GET", "/v1/interactions/{interaction_id}"): ("interactions:read", "alice", offered, None, 200),
    ("GET", "/v1/interactions/{interaction_id}/summary"): ("interactions:read", "alice", offered, None, 200),
    ("POST", "/v1/interactions/{interaction_id}/accept"): ("interactions:work", "alice", offered, {}, 200),
    ("POST", "/v1/interactions/{interaction_id}/assign"): (
        "interactions:assign", "carol", queued, {"agent": "alice"}, 200),
    ("POST", "/v1/interactions/{interaction_id}/reject"): ("interactions:work", "alice", offered, {}, 200),
    ("POST", "/v1/interactions/{interaction_id}/hold"): ("interactions:work", "alice", accepted, {}, 200),
    ("POST", "/v1/interactions/{interaction_id}/resume"): ("interactions:work", "alice", accepted, None, 409),
    ("POST", "/v1/interactions/{interaction_id}/wrap-up"): ("interactions:work", "alice", accepted, {}, 200),
    ("POST", "/v1/interactions/{interaction_id}/transfer"): (
        "interactions:work", "alice", accepted, {"to_queue": "billing"}, 200),
    ("POST", "/v1/interactions/{interaction_id}/close"): ("interactions:work", "alice", accepted, {}, 200),
    ("POST", "/v1/interactions/{interaction_id}/reply"): (
        "interactions:work", "alice", accepted, {"text": "on it"}, 202),
    ("POST", "/v1/interactions/{interaction_id}/case"): (
        "interactions:work", "alice", accepted, {"subject": "Router"}, 201),
    ("POST", "/v1/interactions/{interaction_id}/case-link"): (
        "interactions:work", "alice", with_case, "case", 200),
    ("GET", "/v1/cases"): ("cases:read", "alice", nothing, None, 200),
    ("POST", "/v1/cases/{case_id}/state"): ("cases:write", "alice", with_case, {"state": "in_progress"}, 200),
    ("GET", "/v1/cases/{case_id}"): ("cases:read", "alice", with_case, None, 200),
    # the world has no email account: past the credentials, the resolution is a 404 (no email account)
    ("POST", "/v1/cases/{case_id}/resolution"): ("cases:write", "alice", with_case, {"text": "Fixed."}, 404),
    ("GET", "/v1/agents"): ("agents:read", "alice", nothing, None, 200),
    ("PUT", "/v1/agents/{agent_id}"): ("agents:admin", "admin", nothing, AGENT_DOC, 200),
    ("PUT", "/v1/agents/{agent_id}/presence"): ("agents:presence", "alice", nothing, {"presence": "away"}, 200),
    ("GET", "/v1/queues"): ("queues:read", "alice", nothing, None, 200),
    ("PUT", "/v1/queues/{queue_name}"): ("queues:admin", "admin", nothing, QUEUE_DOC, 200),
    ("GET", "/v1/stats"): ("stats:read", "carol", nothing, None, 200),
    ("GET", "/v1/keys"): ("keys:admin", "admin", nothing, None, 200),
    ("POST", "/v1/keys"): ("keys:admin", "admin", nothing, {"name": "crm", "role": "supervisor"}, 201),
    ("DELETE", "/v1/keys/{key_id}"): ("keys:admin", "admin", nothing, None, 204),
    ("GET", "/v1/audit"): ("audit:read", "admin", nothing, None, 200),
    ("GET", "/v1/events"): ("interactions:read", "alice", nothing, "stale-id", 400),
    ("GET", "/v1/me"): ("interactions:read", "alice", nothing, None, 200),
    ("GET", "/v1/subscriptions"): ("webhooks:admin", "admin", subscribed, None, 200),
    ("POST", "/v1/subscriptions"): ("webhooks:admin", "admin", nothing,
                                    {"url": "https://93.184.215.14/hook", "event_types": ["*"]}, 201),
    ("GET", "/v1/subscriptions/{subscription_id}"): ("webhooks:admin", "admin", subscribed, None, 200),
    ("PUT", "/v1/subscriptions/{subscription_id}/state"): ("webhooks:admin", "admin", subscribed,
                                                           {"state": "disabled"}, 200),
    ("DELETE", "/v1/subscriptions/{subscription_id}"): ("webhooks:admin", "admin", subscribed, None, 204),
    ("GET", "/v1/subscriptions/{subscription_id}/deliveries"): ("webhooks:admin", "admin", subscribed, None, 200),
    ("POST", "/v1/subscriptions/{subscription_id}/redeliver"): ("webhooks:admin", "admin", subscribed, {}, 202),
    ("GET", "/v1/contacts"): ("interactions:read", "alice", two_contacts, "by-address", 200),
    ("GET", "/v1/contacts/{contact_id}"): ("interactions:read", "alice", two_contacts, None, 200),
    ("POST", "/v1/contacts/{contact_id}/merge"): ("contacts:merge", "alice", two_contacts, "other", 200),
    ("POST", "/v1/contacts/merges/{merge_id}/undo"): ("contacts:merge", "alice", merged, {}, 200),
    ("GET", "/v1/messaging-profiles"): ("interactions:read", "alice", flagged_profile, None, 200),
    ("GET", "/v1/messaging-profiles/{profile_id}"): ("interactions:read", "alice", flagged_profile, None, 200),
    ("POST", "/v1/messaging-profiles/{profile_id}/link"): (
        "contacts:merge", "alice", flagged_profile, {"user": "u-ann"}, 200),
    ("POST", "/v1/interactions/{interaction_id}/call/answer"): ("interactions:work", "alice", accepted, {}, 409),
    ("POST", "/v1/interactions/{interaction_id}/call/hold"): ("interactions:work", "alice", accepted, {}, 409),
    ("POST", "/v1/interactions/{interaction_id}/call/resume"): ("interactions:work", "alice", accepted, {}, 409),
    ("POST", "/v1/interactions/{interaction_id}/call/transfer"): (
        "interactions:work", "alice", accepted, {"to_queue": "billing"}, 409),
    ("POST", "/v1/interactions/{interaction_id}/call/hangup"): ("interactions:work", "alice", accepted, {}, 409),
    ("POST", "/v1/calls"): ("interactions:work", "alice", nothing, DIAL, 404),
    ("POST", "/v1/agents/{agent_id}/softphone-token"): ("interactions:work", "alice", nothing, TOKEN, 404),
}
"""Every /v1 route.  ``resume`` of accepted work is the least role's 409 (it is not on hold),
as are the call controls of a chat interaction (it is no call), and the dial and softphone
routes' 404 (the sample plugin is no CTI connector):
the call got past authentication and reach to the lifecycle's own refusal.  The live stream
never ends, so here its least role sends a Last-Event-ID it was never given (400, after
authentication); tests/test_api_live.py reads the stream itself."""


def url_of(w: World, path: str, found: dict[str, str]) -> str:
    return (path.replace("{interaction_id}", found.get("iid", "nope"))
            .replace("{draft_id}", found.get("draft", "nope"))
            .replace("{case_id}", found.get("case", "CS0000001"))
            .replace("{agent_id}", "erin" if path.endswith("{agent_id}") else "alice")
            .replace("{queue_name}", "vip")
            .replace("{key_id}", found.get("key_id", "nope"))
            .replace("{subscription_id}", found.get("sub", "nope"))
            .replace("{contact_id}", found.get("contact", "nope"))
            .replace("{merge_id}", found.get("merge", "nope"))
            .replace("{profile_id}", found.get("profile", "nope"))
            + (f"?channel=chat&address={quote(found.get('address', ''))}" if path == "/v1/contacts" else ""))


async def call(c: httpx.AsyncClient, method: str, url: str, body: Any, found: dict[str, str]) -> httpx.Response:
    if body == "case":
        body = {"case": found["case"]}
    elif body == "other":
        body = {"contact": found["other"]}
    elif body == "by-address":
        body = None
    if method == "GET":
        return await c.get(url, headers={"last-event-id": "not-an-id"} if body == "stale-id" else None)
    if method == "DELETE":
        return await c.delete(url)
    return await c.request(method, url, json=body if body is not None else {})


def test_the_table_holds_every_v1_route_and_each_one_requires_credentials(tmp_path):
    rt = Runtime(make_settings(tmp_path))
    doc = create_app(rt, manage_runtime=False).state.api.openapi()
    assert set(doc["components"]["securitySchemes"]) == {"ApiKey", "OidcBearer"}
    routes = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops if p.startswith("/v1")}
    assert routes == set(ROUTES)
    for p, ops in doc["paths"].items():
        for op in ops.values():
            assert op["security"] == [{"ApiKey": []}, {"OidcBearer": []}], p
            assert {"401", "403", "429"} <= set(op["responses"]), p
    for scope, role, *_ in ROUTES.values():  # the "least role" of the table is the least one
        least = {"admin": Role.ADMIN, "carol": Role.SUPERVISOR}.get(role, Role.AGENT)
        assert scope in ROLE_SCOPES[least]
        assert all(scope not in ROLE_SCOPES[r] for r in Role if ROLE_RANK[r] < ROLE_RANK[least])


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_without_credentials_every_route_is_401_and_changes_nothing(world, route):
    method, path = route
    scope, role, setup, body, _ = ROUTES[route]
    found = await setup(world)
    before = [(i.id, i.state, i.agent) for i in await world.runtime.interactions()]
    async with world.client(None) as c:
        resp = await call(c, method, url_of(world, path, found), body, found)
    assert resp.status_code == 401, resp.text
    assert resp.json()["error"] == "unauthorized"
    assert resp.headers["www-authenticate"].startswith("Bearer")
    assert [(i.id, i.state, i.agent) for i in await world.runtime.interactions()] == before


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_a_key_without_the_routes_scope_is_403(world, route):
    method, path = route
    scope, role, setup, body, _ = ROUTES[route]
    found = await setup(world)
    others = sorted(ROLE_SCOPES[Role.ADMIN] - {scope})
    key = await api_access.api_key(world.runtime, "admin", scopes=others, name="all-but-one")
    async with api_access.client(world.app, key) as c:
        resp = await call(c, method, url_of(world, path, found), body, found)
    assert resp.status_code == 403, resp.text
    assert resp.json() == {"error": "forbidden", "detail": f"this call needs the scope {scope} (role admin)"}


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_the_least_role_holding_the_scope_gets_its_answer(world, route):
    method, path = route
    scope, role, setup, body, status = ROUTES[route]
    found = await setup(world)
    if path == "/v1/keys/{key_id}":
        found["key_id"] = world.keys["bob"].split("_")[1]
    async with world.client(role) as c:
        resp = await call(c, method, url_of(world, path, found), body, found)
    assert resp.status_code == status, resp.text


# --- reach: agents act on their own work, supervisors on their queues' -----------------------


async def test_an_agent_sees_and_works_only_their_queues_and_their_own_work(world):
    mine = await world.customer_writes("hello")
    theirs = await world.customer_writes("my invoice is wrong")
    assert await world.state(mine) == ("offered", "alice") and await world.state(theirs) == ("offered", "bob")
    async with world.client("alice") as alice:
        page = (await alice.get("/v1/interactions")).json()
        assert [i["id"] for i in page["items"]] == [mine]
        assert (await alice.get("/v1/interactions", params={"queue": "billing"})).json()["items"] == []
        assert (await alice.get(f"/v1/interactions/{theirs}")).status_code == 403
        assert (await alice.get(f"/v1/interactions/{theirs[-8:]}", params={})).status_code == 404
        assert (await alice.get("/v1/interactions", params={"id_match": theirs[-8:]})).json()["items"] == []
        refused = await alice.post(f"/v1/interactions/{theirs}/accept", json={})
        assert refused.status_code == 403 and "not offered to or held by this agent" in refused.json()["detail"]
        assert (await alice.post(f"/v1/interactions/{mine}/accept", json={"agent": "bob"})).status_code == 403
        assert (await alice.put("/v1/agents/bob/presence", json={"presence": "away"})).status_code == 403
        assert [q["name"] for q in (await alice.get("/v1/queues")).json()] == ["support"]
        assert (await alice.post("/v1/interactions", json={**START, "agent": "bob"})).status_code == 403
        assert (await alice.post(f"/v1/interactions/{mine}/accept", json={})).status_code == 200
    assert await world.state(theirs) == ("offered", "bob") and await world.state(mine) == ("work_in_progress", "alice")


async def test_a_transferred_interaction_leaves_the_agents_reach(world):
    mine = (await accepted(world))["iid"]
    async with world.client("alice") as alice:
        assert (await alice.post(f"/v1/interactions/{mine}/transfer", json={"to_queue": "billing"})).status_code == 200
        assert await world.state(mine) == ("offered", "bob")
        assert (await alice.get(f"/v1/interactions/{mine}")).status_code == 403
    async with world.client("bob") as bob:
        assert (await bob.get(f"/v1/interactions/{mine}")).status_code == 200


async def test_a_supervisor_assigns_transfers_and_watches_only_their_queues(world):
    support = (await queued(world))["iid"]
    await world.runtime.set_presence("bob", "away")
    billing = await world.customer_writes("invoice please")
    assert await world.state(billing) == ("queued", None)
    async with world.client("carol") as carol:
        assert {i["id"] for i in (await carol.get("/v1/interactions")).json()["items"]} == {support}
        assert (await carol.post(f"/v1/interactions/{billing}/assign", json={"agent": "bob"})).status_code == 403
        assert (await carol.post(f"/v1/interactions/{support}/assign", json={"agent": "bob"})).status_code == 403
        assert (await carol.post(f"/v1/interactions/{support}/assign", json={"agent": "alice"})).status_code == 200
        assert (await carol.put("/v1/agents/alice/presence", json={"presence": "away"})).status_code == 200
        assert (await carol.put("/v1/agents/bob/presence", json={"presence": "available"})).status_code == 403
        assert (await carol.put("/v1/agents/erin", json=AGENT_DOC)).status_code == 403
        assert [q["name"] for q in (await carol.get("/v1/queues")).json()] == ["support"]
    assert await world.state(support) == ("offered", "alice") and await world.state(billing) == ("queued", None)


# --- case link: the caller must see the case as well as hold the interaction ----------------


async def billing_case(w: World) -> str:
    """Bob opens a case from a billing interaction (out of alice's and carol's reach)."""
    iid = await w.customer_writes("my invoice is wrong")
    await w.runtime.accept(iid, "bob")
    return (await w.runtime.create_case(iid, "Invoice", agent="bob")).number


async def support_case(w: World) -> str:
    """A case opened from a support interaction (alice's queue, carol's)."""
    iid = (await accepted(w))["iid"]
    return (await w.runtime.create_case(iid, "Router", agent="alice")).number


async def orphan_case(w: World) -> str:
    """A case none of whose interactions is left (their rows purged): no one's to read."""
    number = await billing_case(w)
    case = await w.runtime.store.transact(lambda tx: tx.get_case(number))
    await w.runtime.store.transact(lambda tx: tx.save_case(case.model_copy(update={"interaction_ids": ["gone"]})))
    return number


async def billing_work(w: World) -> str:
    iid = await w.customer_writes("another invoice")
    await w.runtime.accept(iid, "bob")
    return iid


async def support_work(w: World) -> str:
    return (await accepted(w))["iid"]


CASE_LINK_REACH = [
    # who, the interaction they hold, the case they name, the answer
    ("alice", support_work, support_case, 200),
    ("alice", support_work, billing_case, 404),  # a colleague's case from another queue
    ("alice", support_work, orphan_case, 404),
    ("bob", billing_work, billing_case, 200),
    ("bob", billing_work, support_case, 404),
    ("carol", support_work, support_case, 200),
    ("carol", support_work, billing_case, 404),  # a supervisor of support only
    ("admin", support_work, billing_case, 200),
    ("admin", support_work, orphan_case, 200),
]


@pytest.mark.parametrize("who, work, make_case, status", CASE_LINK_REACH,
                         ids=[f"{r[0]}-{r[1].__name__}-{r[2].__name__}" for r in CASE_LINK_REACH])
async def test_a_case_link_reaches_only_cases_the_caller_may_see(world, who, work, make_case, status):
    number = await make_case(world)
    iid = await work(world)
    async with world.client(who) as c:
        resp = await c.post(f"/v1/interactions/{iid}/case-link", json={"case": number})
        unknown = await c.post(f"/v1/interactions/{iid}/case-link", json={"case": "CS9999999"})
    assert resp.status_code == status, resp.text
    case = await world.runtime.store.transact(lambda tx: tx.get_case(number))
    inter = (await world.runtime.interaction(iid))[0]
    if status == 404:  # word for word an unknown case's answer, and nothing linked
        assert resp.json() == {"error": "not_found", "detail": f"no case {number}"}
        assert unknown.json() == {"error": "not_found", "detail": "no case CS9999999"}
        assert iid not in case.interaction_ids and inter.case_id is None
    else:
        assert resp.json()["number"] == number and case.interaction_ids[-1] == iid and inter.case_id == case.id


# --- API keys ---------------------------------------------------------------------------------


async def test_a_key_made_through_the_api_is_shown_once_and_revoked_at_once(world):
    async with world.client("admin") as admin:
        made = await admin.post("/v1/keys", json={"name": "crm", "role": "agent", "agent": "alice"})
        assert made.status_code == 201
        key = made.json()["key"]
        assert key.startswith("omk_") and made.json()["id"] == key.split("_")[1]
        listed = (await admin.get("/v1/keys")).json()
        assert all("key" not in k and "secret_hash" not in k for k in listed)
        assert key not in (await admin.get("/v1/keys")).text
        async with api_access.client(world.app, key) as crm:
            assert (await crm.get("/v1/interactions")).status_code == 200
            assert (await admin.delete(f"/v1/keys/{made.json()['id']}")).status_code == 204
            gone = await crm.get("/v1/interactions")
            assert gone.status_code == 401 and "revoked" in gone.json()["detail"]
        assert (await admin.delete(f"/v1/keys/{made.json()['id']}")).status_code == 404
        bad = await admin.post("/v1/keys", json={"name": "x", "role": "agent", "scopes": ["keys:admin"], "agent": "a"})
        assert bad.status_code == 400 and "does not grant keys:admin" in bad.json()["detail"]


@pytest.mark.parametrize("headers, why", [
    ({"x-api-key": "omk_123"}, "malformed API key"),
    ({"x-api-key": "omk_0123456789ab_" + "A" * 43}, "unknown API key"),
    ({"authorization": "Basic YWxpY2U6c2VjcmV0"}, "credentials required"),
    ({"authorization": "Bearer not-a-jwt"}, "bearer tokens are not configured"),
])
async def test_bad_credentials_are_401_and_never_echoed(world, headers, why):
    async with world.client(None) as c:
        resp = await c.get("/v1/agents", headers=headers)
    assert resp.status_code == 401 and why in resp.json()["detail"]
    for value in headers.values():
        assert value.split()[-1] not in resp.text


async def test_a_wrong_secret_for_a_known_key_is_401_and_the_right_one_still_works(world):
    good = world.keys["alice"]
    wrong = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
    async with api_access.client(world.app, wrong) as c:
        resp = await c.get("/v1/agents")
    assert resp.status_code == 401 and "does not verify" in resp.json()["detail"]
    async with world.client(None) as c:
        assert (await c.get("/v1/agents", headers={"authorization": f"Bearer {good}"})).status_code == 200


# --- rate limits, the audit log ----------------------------------------------------------------


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after(tmp_path):
    w = await make_world(tmp_path, rate_limit_per_key="3/minute", rate_limit_per_ip=None)
    try:
        async with w.client("alice") as alice, w.client("bob") as bob:
            assert [(await alice.get("/v1/agents")).status_code for _ in range(4)] == [200, 200, 200, 429]
            limited = await alice.get("/v1/agents")
            assert limited.json()["error"] == "rate_limited" and 1 <= int(limited.headers["retry-after"]) <= 60
            assert (await bob.get("/v1/agents")).status_code == 200  # per key
    finally:
        await w.runtime.stop()


async def test_an_address_over_its_rate_limit_gets_429_even_without_credentials(tmp_path):
    w = await make_world(tmp_path, rate_limit_per_ip="2/minute", rate_limit_per_key=None)
    try:
        async with w.client(None) as guesser:
            statuses = [(await guesser.get("/v1/agents", headers={"x-api-key": f"omk_0123456789ab_{'A' * 42}{i}"}))
                        .status_code for i in range(3)]
        assert statuses == [401, 401, 429]
    finally:
        await w.runtime.stop()


async def test_every_state_changing_call_is_audited_and_reads_are_not(world):
    iid = await world.customer_writes()
    async with world.client("alice") as alice, world.client(None) as anonymous, world.client("admin") as admin:
        assert (await alice.post(f"/v1/interactions/{iid}/accept", json={})).status_code == 200
        assert (await alice.get(f"/v1/interactions/{iid}")).status_code == 200
        assert (await alice.post(f"/v1/interactions/{iid}/accept", json={})).status_code == 409
        assert (await anonymous.post(f"/v1/interactions/{iid}/close", json={})).status_code == 401
        assert (await alice.put("/v1/queues/vip", json=QUEUE_DOC)).status_code == 403
        first = (await admin.get("/v1/audit", params={"limit": 2})).json()
        rest = (await admin.get("/v1/audit", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    alice_id = world.keys["alice"].split("_")[1]
    entries = [(e["subject"], e["role"], e["method"], e["path"], e["status"], e["remote"])
               for e in first["items"] + rest["items"]]
    assert entries == [
        (f"key:{alice_id}", "agent", "PUT", "/v1/queues/vip", 403, "127.0.0.1"),
        ("anonymous", None, "POST", f"/v1/interactions/{iid}/close", 401, "127.0.0.1"),
        (f"key:{alice_id}", "agent", "POST", f"/v1/interactions/{iid}/accept", 409, "127.0.0.1"),
        (f"key:{alice_id}", "agent", "POST", f"/v1/interactions/{iid}/accept", 200, "127.0.0.1"),
    ]
    assert rest["next_cursor"] is None and all(e["at"].endswith("Z") for e in first["items"])


# --- browser safety -------------------------------------------------------------------------------


@pytest.mark.parametrize("host, status", [
    ("127.0.0.1:8080", 200), ("localhost", 200), ("[::1]:8080", 200), ("cx.example.test", 200),
    ("attacker.example", 421), ("127.0.0.1.attacker.example", 421), ("cx.example.test.evil", 421),
])
async def test_the_api_answers_only_to_its_own_host_names(tmp_path, host, status):
    w = await make_world(tmp_path, allowed_hosts=["cx.example.test"])
    try:
        async with w.client("admin") as admin:
            resp = await admin.get("/v1/agents", headers={"host": host})
        assert resp.status_code == status, resp.text
        if status == 421:
            assert resp.json()["error"] == "misdirected_request"
    finally:
        await w.runtime.stop()


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonp"])
async def test_state_changing_calls_need_a_json_content_type(world, content_type):
    iid = await world.customer_writes()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url=api_access.BASE_URL) as c:
        headers = {"x-api-key": world.keys["alice"], **({"content-type": content_type} if content_type else {})}
        resp = await c.post(f"/v1/interactions/{iid}/accept", content=b"{}", headers=headers)
    assert resp.status_code == 415 and resp.json()["error"] == "unsupported_media_type"
    assert await world.state(iid) == ("offered", "alice")


async def test_answers_carry_the_security_headers_and_no_cors_unless_configured(world):
    async with world.client("admin") as admin:
        resp = await admin.get("/v1/agents", headers={"origin": "https://evil.example"})
        preflight = await admin.options("/v1/agents", headers={
            "origin": "https://evil.example", "access-control-request-method": "POST"})
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "access-control-allow-origin" not in resp.headers
    assert "access-control-allow-origin" not in preflight.headers


async def test_cors_answers_only_the_configured_origins(tmp_path):
    w = await make_world(tmp_path, cors_origins=["https://console.example.test"])
    try:
        async with w.client("admin") as admin:
            ok = await admin.options("/v1/agents", headers={
                "origin": "https://console.example.test", "access-control-request-method": "POST",
                "access-control-request-headers": "x-api-key, content-type"})
            other = await admin.options("/v1/agents", headers={
                "origin": "https://evil.example", "access-control-request-method": "POST"})
        assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == "https://console.example.test"
        assert "access-control-allow-origin" not in other.headers
    finally:
        await w.runtime.stop()


async def test_the_cli_says_how_to_authenticate_when_the_gateway_answers_401(monkeypatch):
    from typer.testing import CliRunner

    from omnisdk.cli import app as cli_app

    monkeypatch.delenv("OMNISDK_API_KEY", raising=False)
    with respx.mock() as mock:
        mock.get("http://gw.test/v1/agents").respond(401, json={"error": "unauthorized", "detail": "credentials required"})
        result = CliRunner().invoke(cli_app, ["agents", "--url", "http://gw.test"])
    assert result.exit_code == 1 and "set OMNISDK_API_KEY" in result.stderr
