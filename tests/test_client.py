"""omnisdk.client: the typed client of the agent API, against the real app in process
(``httpx.ASGITransport``), against a real server (uvicorn: the live stream, the sync client), and
against ``httpx.MockTransport`` for errors and retries (a fake sleep: nothing really waits)."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import itertools
import json
import logging
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import api_access
import httpx
import pytest
import respx
from pydantic import ValidationError
from sample_wire import make_settings, msg, sample_body, sample_signature

from omnisdk.client import (
    AgentClient,
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncAgentClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InteractionStateChanged,
    InternalServerError,
    MessageAdded,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    Ready,
    Reset,
    RetryPolicy,
    UnknownEvent,
    UnprocessableEntityError,
)
from omnisdk.client.live_events import live_event
from omnisdk.client.retries import retry_delay, should_retry
from omnisdk.client.sse import SSEDecoder, iter_sse
from omnisdk.gateway import create_app
from omnisdk.model import Interaction
from omnisdk.routing.model import Agent, Queue
from omnisdk.runtime import Runtime
from omnisdk.testkit.asgi_server import serve_in_task

BASE = api_access.BASE_URL
WEBHOOK = "/webhooks/sample/acme"
CUSTOMER = "+15550100001"
SECRET_KEY = "omk_0123456789ab_" + "s3cr3t" * 6
TOKEN = "eyJhbGciOi.secret-token-payload.signature"


@pytest.fixture
def app(runtime):
    return create_app(runtime, manage_runtime=False)


def in_process(app, key: str | None, **kwargs) -> AsyncAgentClient:
    return AsyncAgentClient(BASE, api_key=key, transport=httpx.ASGITransport(app=app), **kwargs)


@pytest.fixture
async def admin(app, runtime):
    async with in_process(app, await api_access.api_key(runtime, "admin")) as api:
        yield api


@pytest.fixture
def provider():
    """The sample provider's send endpoint (outbound replies), and a local server let through."""
    ids = itertools.count(1)
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post("https://sample.test/messages").mock(
            side_effect=lambda request: httpx.Response(200, json={"id": f"out-{next(ids)}"}))
        mock.route(host="127.0.0.1").pass_through()
        yield route


async def customer_writes(app, runtime, n, customer=CUSTOMER, text="hi"):
    body = sample_body([msg(n, customer=customer, text=text)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as raw:
        resp = await raw.post(WEBHOOK, content=body, headers={"x-sample-signature": sample_signature(body),
                                                             "content-type": "application/json"})
    assert resp.status_code == 200
    await runtime.processor.drain()


async def send_outbox(runtime):
    while await runtime.outbox.run_once():
        pass


# --- a whole lifecycle ----------------------------------------------------------------------------


async def test_a_whole_lifecycle_through_the_async_client(app, runtime, admin, provider):
    await runtime.outbox.stop()  # sent by run_once below, not raced by the worker
    await customer_writes(app, runtime, 1, text="my router is broken")
    page = await admin.list_interactions(active=True)
    [item] = page.items
    assert isinstance(item, Interaction) and page.next_cursor is None
    assert (item.state.value, item.agent, item.queue) == ("offered", "alice", "support")

    with pytest.raises(ConflictError) as refused:
        await admin.accept(item.id, agent="bob")
    assert (refused.value.status, refused.value.reason) == (409, "conflict") and refused.value.detail
    assert (await admin.accept(item.id, agent="alice")).state.value == "work_in_progress"
    alice = {a.id: a for a in (await admin.list_agents()).items}["alice"]
    assert alice.load == {"chat": 1} and alice.free_capacity == {"chat": 1}

    assert (await admin.hold(item.id, agent="alice")).state.value == "on_hold"
    assert (await admin.resume(item.id, agent="alice")).state.value == "work_in_progress"
    await customer_writes(app, runtime, 2, text="still broken")
    detail = await admin.get_interaction(item.id)
    assert [m.body["text"] for m in detail.messages] == ["my router is broken", "still broken"]
    assert "router" in (await admin.summary(item.id)).summary

    moved = await admin.transfer(item.id, to_agent="bob", agent="alice")
    assert (moved.state.value, moved.agent) == ("offered", "bob")
    assert (await admin.reject(item.id, agent="bob")).declined_by == ["bob"]
    await admin.accept(item.id)
    first = await admin.reply(item.id, "looking into it")
    assert uuid.UUID(first.idempotency_key).version == 4  # made by the client
    again = await admin.reply(item.id, "looking into it", idempotency_key=first.idempotency_key)
    assert again.idempotency_key == first.idempotency_key
    await send_outbox(runtime)
    assert provider.call_count == 1  # the same key twice: one message

    case = await admin.create_case(item.id, subject="Broken router")
    assert case.number == "CS0000001" and case.interaction_ids == [item.id] and case.context.id == item.id
    case = await admin.move_case(case.number, "in_progress", agent="alice")
    assert case.state.value == "in_progress"
    with pytest.raises(ConflictError):
        await admin.close(item.id)  # the case closed it
    assert [c.number async for c in admin.iter_cases()] == ["CS0000001"]

    # a second customer: assigned by hand, wrapped up, linked to the case, closed with a code
    await admin.set_presence("alice", "away")
    await admin.set_presence("bob", "away")
    await customer_writes(app, runtime, 3, customer="+15550100002")
    [waiting] = (await admin.list_interactions(state="queued")).items
    await admin.set_presence("bob", "available")
    [waiting] = (await admin.list_interactions(state=["offered", "queued"], agent="bob")).items
    await admin.accept(waiting.id, agent="bob")
    assert (await admin.link_case(waiting.id, "CS0000001")).interaction_ids == [item.id, waiting.id]
    view = await admin.get_case("CS0000001")  # the case with both interactions and their messages
    assert [(i.id, i.readable) for i in view.interactions] == [(item.id, True), (waiting.id, True)]
    assert [h.to_state.value for h in view.state_history] == ["in_progress"]
    assert view.interactions[0].messages[0].body["text"] == "my router is broken"
    with pytest.raises(NotFoundError, match="no email account"):  # this gateway has none
        await admin.send_case_resolution("CS0000001", "Replace the router.", agent="alice")
    with pytest.raises(NotFoundError):
        await admin.get_case("CS0000099")
    assert (await admin.wrap_up(waiting.id)).state.value == "wrap_up"
    with pytest.raises(BadRequestError) as bad:
        await admin.close(waiting.id, wrap_up_code="Made up")
    assert bad.value.reason == "bad_request"
    closed = await admin.close(waiting.id, wrap_up_code="Issue resolved")
    assert (closed.state.value, closed.wrap_up_code) == ("closed", "Issue resolved")

    # agents, queues, outbound work, drafts, stats
    carol = await admin.put_agent(Agent(id="carol", capacity={"chat": 1}, presence="available"))
    assert carol.id == "carol" and carol.free_capacity == {"chat": 1}
    vip = await admin.put_queue(Queue(name="vip", priority=5))
    assert (vip.name, vip.priority, vip.waiting) == ("vip", 5, 0)
    assert {q.name for q in await admin.list_queues()} == {"support", "vip"}
    out = await admin.start_outbound(agent="carol", plugin="sample", account="acme", customer="+15550109999",
                                     text="Your order shipped", business="biz")
    assert (out.direction.value, out.state.value, out.agent) == ("outbound", "work_in_progress", "carol")
    saved = await admin.save_draft(agent="alice", plugin="sample", account="acme", customer="+15550108888",
                                   text="Hello", business="biz")
    assert saved.interaction.state.value == "new" and saved.interaction.drafts[0].id == saved.draft_id
    await admin.set_presence("alice", "available")
    sent = await admin.send_draft(saved.interaction.id, saved.draft_id, agent="alice")
    assert sent.state.value == "work_in_progress"
    assert (await admin.stats())["events.accepted"] == 3

    # keys and the audit log
    made = await admin.create_key(name="bot", role="agent", agent="bob")
    assert made.key.startswith("omk_") and made.role.value == "agent"
    assert made.id in {k.id for k in await admin.list_keys()}
    async with in_process(app, made.key) as bot:
        assert [a.id for a in (await bot.list_agents(limit=1)).items] == ["alice"]
        with pytest.raises(PermissionDeniedError) as denied:
            await bot.list_keys()
        assert (denied.value.status, denied.value.reason) == (403, "forbidden")
    await admin.revoke_key(made.id)
    async with in_process(app, made.key) as bot:
        with pytest.raises(AuthenticationError):
            await bot.list_agents()
    with pytest.raises(NotFoundError):
        await admin.revoke_key(made.id)
    entries = [e async for e in admin.iter_audit(limit=5)]
    assert entries[0].method == "DELETE" and entries[0].status == 404
    assert len(entries) == len({e.seq for e in entries}) > 5
    assert {"POST", "PUT", "DELETE"} <= {e.method for e in entries}


async def test_the_filters_reach_the_api(app, runtime, admin):
    await customer_writes(app, runtime, 1)
    assert (await admin.list_interactions(channel="sms")).items == []
    assert len((await admin.list_interactions(channel="chat", queue="support", active=True)).items) == 1
    assert (await admin.list_interactions(active=False)).items == []
    assert (await admin.list_interactions(updated_since="2999-01-01T00:00:00Z")).items == []
    assert len((await admin.list_interactions(updated_since=datetime(2000, 1, 1))).items) == 1
    iid = (await admin.list_interactions()).items[0].id
    assert [i.id for i in (await admin.list_interactions(id_match=iid[-12:])).items] == [iid]
    assert [a.id for a in (await admin.list_agents(presence="available", queue="support")).items] == ["alice", "bob"]


# --- pages -----------------------------------------------------------------------------------------


class Counting(httpx.AsyncBaseTransport):
    """An ASGI transport that records the queries it carries."""

    def __init__(self, app) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.queries: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.queries.append(f"{request.url.path}?{request.url.query.decode()}")
        return await self.inner.handle_async_request(request)


async def test_the_iterators_follow_the_cursors(app, runtime, provider):
    for n in range(1, 6):
        await customer_writes(app, runtime, n, customer=f"+1555010000{n}")
    transport = Counting(app)
    async with AsyncAgentClient(BASE, api_key=await api_access.api_key(runtime), transport=transport) as api:
        everyone = [i.customer for i in (await api.list_interactions()).items]
        assert everyone == [f"+1555010000{n}" for n in range(5, 0, -1)]
        transport.queries.clear()
        assert [i.customer async for i in api.iter_interactions(limit=2)] == everyone
        assert len(transport.queries) == 3 and "cursor=" in transport.queries[1] and "cursor=" in transport.queries[2]
        assert all("limit=2" in q for q in transport.queries)
        assert [i.customer async for i in api.iter_interactions(state="queued", limit=1)] == [
            f"+1555010000{n}" for n in (5, 4)]  # alice 2, bob 1: the two newest wait

        await api.put_agent(Agent(id="carol", capacity={"chat": 1}, presence="away"))
        assert [a.id async for a in api.iter_agents(limit=2)] == ["alice", "bob", "carol"]
        for item in (await api.list_interactions(state="offered")).items:
            await api.accept(item.id)
            await api.create_case(item.id)
        assert [c.number async for c in api.iter_cases(limit=1)] == ["CS0000003", "CS0000002", "CS0000001"]
        audit = [e.seq async for e in api.iter_audit(limit=2)]
        assert audit == sorted(audit, reverse=True) and len(audit) == 7  # 1 put + 3 accepts + 3 cases


def test_the_sync_iterators_follow_the_cursors():
    pages = {None: (["a", "b"], "c1"), "c1": (["c", "d"], "c2"), "c2": (["e"], None)}
    seen = []

    def answer(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        seen.append((request.url.params.get("limit"), cursor))
        ids, nxt = pages[cursor]
        return httpx.Response(200, json={"items": [{"number": "CS0000001", "id": i, "subject": "s", "customer": "c",
                                                     "created_at": "2026-01-01T00:00:00Z"} for i in ids],
                                         "next_cursor": nxt})

    with AgentClient(BASE, api_key=SECRET_KEY, transport=httpx.MockTransport(answer)) as api:
        assert [c.id for c in api.iter_cases(limit=2)] == ["a", "b", "c", "d", "e"]
    assert seen == [("2", None), ("2", "c1"), ("2", "c2")]


# --- errors ------------------------------------------------------------------------------------------


ERRORS = [
    (400, "malformed_payload", BadRequestError),
    (401, "unauthorized", AuthenticationError),
    (403, "forbidden", PermissionDeniedError),
    (404, "not_found", NotFoundError),
    (409, "idempotency_conflict", ConflictError),
    (413, "payload_too_large", APIStatusError),
    (415, "unsupported_media_type", APIStatusError),
    (422, "validation_error", UnprocessableEntityError),
    (429, "rate_limited", RateLimitError),
    (500, "internal_error", InternalServerError),
    (503, "auth_unavailable", InternalServerError),
]


@pytest.mark.parametrize(("status", "reason", "cls"), ERRORS)
async def test_every_error_status_is_its_class_with_reason_and_detail(status, reason, cls):
    detail = [{"loc": ["query", "limit"], "msg": "too big", "type": "less_than_equal"}] if status == 422 else "why"
    headers = {"retry-after": "3"} if status == 429 else {}
    transport = httpx.MockTransport(lambda r: httpx.Response(status, json={"error": reason, "detail": detail},
                                                             headers=headers))
    async with AsyncAgentClient(BASE, api_key=SECRET_KEY, transport=transport, retry=RetryPolicy(max_attempts=1)) as api:
        with pytest.raises(cls) as caught:
            await api.get_interaction("i-1")
    exc = caught.value
    assert type(exc) is cls and isinstance(exc, APIStatusError)
    assert (exc.status, exc.status_code, exc.reason, exc.detail) == (status, status, reason, detail)
    assert f"GET /v1/interactions/i-1 answered {status} {reason}" in str(exc)
    assert exc.retry_after == (3.0 if status == 429 else None)


async def test_errors_of_the_real_api(app, runtime, admin):
    with pytest.raises(NotFoundError) as missing:
        await admin.get_interaction("nope")
    assert (missing.value.reason, missing.value.detail) == ("not_found", "no interaction nope")
    with pytest.raises(UnprocessableEntityError) as invalid:
        await admin.list_cases(limit=0)
    assert invalid.value.reason == "validation_error" and invalid.value.detail[0]["loc"] == ["query", "limit"]
    with pytest.raises(BadRequestError) as bad:
        await admin.list_cases(cursor="not-a-cursor")
    assert bad.value.reason == "bad_request"
    async with in_process(app, None) as anonymous:
        with pytest.raises(AuthenticationError) as anon:
            await anonymous.stats()
    assert anon.value.reason == "unauthorized"
    agent = await api_access.api_key(runtime, "agent", agent="alice")
    async with in_process(app, agent) as alice:
        with pytest.raises(PermissionDeniedError):
            await alice.stats()
    with pytest.raises(ValidationError):  # refused before anything is sent
        await admin.transfer("i-1", to_agent="bob", to_queue="support")


async def test_a_2xx_that_is_not_the_schema_is_a_response_validation_error():
    transport = httpx.MockTransport(lambda r: httpx.Response(200, text="<html>proxy</html>"))
    async with AsyncAgentClient(BASE, api_key=SECRET_KEY, transport=transport) as api:
        with pytest.raises(APIResponseValidationError) as caught:
            await api.stats()
    assert caught.value.status == 200


# --- retries ------------------------------------------------------------------------------------------


class Script:
    """Answers in turn (an exception is raised), recording each request."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def fake_sleeps():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return slept, sleep


def busy(seconds: str = "7") -> httpx.Response:
    return httpx.Response(429, json={"error": "rate_limited", "detail": "slow down"}, headers={"retry-after": seconds})


async def test_a_429_is_retried_after_its_retry_after():
    script = Script(busy("7"), busy("2"), httpx.Response(200, json={"events.accepted": 3}))
    slept, sleep = fake_sleeps()
    async with AsyncAgentClient(BASE, api_key=SECRET_KEY, transport=httpx.MockTransport(script), sleep=sleep) as api:
        assert await api.stats() == {"events.accepted": 3}
    assert slept == [7.0, 2.0] and len(script.requests) == 3


def test_the_sync_client_retries_a_429_after_its_retry_after_too():
    script = Script(busy("4"), httpx.Response(200, json=[]))
    slept: list[float] = []
    with AgentClient(BASE, api_key=SECRET_KEY, transport=httpx.MockTransport(script), sleep=slept.append) as api:
        assert api.list_queues() == []
    assert slept == [4.0]


async def test_a_retry_after_beyond_the_cap_fails_at_once():
    script = Script(busy("3600"))
    slept, sleep = fake_sleeps()
    async with AsyncAgentClient(BASE, transport=httpx.MockTransport(script), sleep=sleep) as api:
        with pytest.raises(RateLimitError) as caught:
            await api.stats()
    assert caught.value.retry_after == 3600 and slept == [] and len(script.requests) == 1


async def test_gets_give_up_after_the_attempts_with_backoff_and_never_retry_other_4xx():
    unavailable = httpx.Response(503, json={"error": "auth_unavailable", "detail": "the identity provider is down"})
    script = Script(httpx.ConnectError("refused"), unavailable, unavailable)
    slept, sleep = fake_sleeps()
    policy = RetryPolicy(max_attempts=3, initial_backoff=0.5, max_backoff=8.0)
    async with AsyncAgentClient(BASE, transport=httpx.MockTransport(script), sleep=sleep, retry=policy) as api:
        with pytest.raises(InternalServerError) as caught:
            await api.list_queues()
    assert caught.value.reason == "auth_unavailable" and len(script.requests) == 3
    assert len(slept) == 2 and 0 <= slept[0] <= 0.5 and 0 <= slept[1] <= 1.0  # full jitter, doubling

    script = Script(httpx.Response(404, json={"error": "not_found", "detail": "no interaction x"}))
    async with AsyncAgentClient(BASE, transport=httpx.MockTransport(script), sleep=sleep) as api:
        with pytest.raises(NotFoundError):
            await api.get_interaction("x")
    assert len(script.requests) == 1


@pytest.mark.parametrize("failure", [
    httpx.Response(503, json={"error": "auth_unavailable", "detail": "down"}),
    httpx.Response(429, json={"error": "rate_limited", "detail": "slow"}, headers={"retry-after": "1"}),
    httpx.ConnectError("reset"),
    httpx.ReadTimeout("slow"),
])
async def test_a_post_without_idempotency_key_is_never_sent_twice(failure):
    script = Script(failure, httpx.Response(200, json={}))
    slept, sleep = fake_sleeps()
    async with AsyncAgentClient(BASE, transport=httpx.MockTransport(script), sleep=sleep) as api:
        with pytest.raises((InternalServerError, RateLimitError, APIConnectionError)):
            await api.transfer("i-1", to_queue="billing")
    assert len(script.requests) == 1 and slept == []


async def test_reply_makes_one_idempotency_key_and_sends_it_on_every_retry():
    down = httpx.Response(503, json={"error": "internal_error", "detail": "unexpected error (see the log)"})
    script = Script(down, httpx.ReadTimeout("slow"),
                    httpx.Response(202, json={"idempotency_key": "echo"}))
    slept, sleep = fake_sleeps()
    async with AsyncAgentClient(BASE, api_key=SECRET_KEY, transport=httpx.MockTransport(script), sleep=sleep) as api:
        assert (await api.reply("i-1", "Hello!")).idempotency_key == "echo"
        keys = [r.headers["idempotency-key"] for r in script.requests]
        assert len(keys) == 3 and len(set(keys)) == 1 and uuid.UUID(keys[0]).version == 4
        assert [json.loads(r.content) for r in script.requests] == [{"text": "Hello!"}] * 3

        script.answers = [down, httpx.Response(202, json={"idempotency_key": "mine"})]
        await api.reply("i-1", "Hello!", idempotency_key="mine")
        assert [r.headers["idempotency-key"] for r in script.requests[3:]] == ["mine", "mine"]

        script.answers = [httpx.Response(202, json={"idempotency_key": "x"})]
        await api.reply("i-1", "Hello!")
        assert script.requests[-1].headers["idempotency-key"] not in {keys[0], "mine"}  # a new call, a new key


def test_the_decision_is_apart_from_the_delay():
    policy = RetryPolicy(max_attempts=3, initial_backoff=1.0, max_backoff=4.0, max_retry_after=60)
    limited = RateLimitError("x", provider="p", status_code=429, retry_after=5.0)
    down = InternalServerError("x", provider="p", status_code=502)
    conflict = ConflictError("x", provider="p", status_code=409)
    assert should_retry(limited, resendable=True, policy=policy)
    assert should_retry(down, resendable=True, policy=policy)
    assert should_retry(APITimeoutError("x", provider="p"), resendable=True, policy=policy)
    assert not should_retry(down, resendable=False, policy=policy)
    assert not should_retry(conflict, resendable=True, policy=policy)
    assert retry_delay(limited, 1, policy) == 5.0
    top = lambda low, high: high  # noqa: E731
    assert [retry_delay(down, n, policy, jitter=top) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 4.0]


# --- what goes on the wire -------------------------------------------------------------------------------


async def test_every_state_change_is_sent_as_json_with_the_credentials():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204) if request.method == "DELETE" else httpx.Response(
            200, json={"idempotency_key": "k"} if request.url.path.endswith("/reply") else {})

    async with AsyncAgentClient(BASE, bearer_token=TOKEN, transport=httpx.MockTransport(answer),
                                retry=RetryPolicy(max_attempts=1)) as api:
        for call in (lambda: api.accept("i/1"), lambda: api.close("i-1"), lambda: api.reply("i-1", "hi"),
                     lambda: api.set_presence("alice", "away"), lambda: api.revoke_key("k1"),
                     lambda: api.move_case("CS1", "closed")):
            with contextlib.suppress(APIResponseValidationError):  # {} is not an Interaction
                await call()
        with contextlib.suppress(APIResponseValidationError):
            await api.list_interactions(state=["queued", "offered"], active=False)
    *changes, listing = seen
    assert [(r.method, r.url.raw_path.decode()) for r in changes] == [
        ("POST", "/v1/interactions/i%2F1/accept"), ("POST", "/v1/interactions/i-1/close"),
        ("POST", "/v1/interactions/i-1/reply"), ("PUT", "/v1/agents/alice/presence"),
        ("DELETE", "/v1/keys/k1"), ("POST", "/v1/cases/CS1/state")]
    assert all(r.headers["content-type"] == "application/json" for r in changes)
    assert [r.content for r in changes] == [b"{}", b"{}", b'{"text":"hi"}', b'{"presence":"away"}', b"",
                                            b'{"state":"closed"}']
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" and "x-api-key" not in r.headers for r in seen)
    assert "content-type" not in listing.headers
    assert listing.url.query.decode() == "active=false&state=queued&state=offered"


async def test_credentials_never_show_in_reprs_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    script = Script(httpx.ConnectError(f"boom {SECRET_KEY}"),
                    httpx.Response(503, json={"error": "internal_error", "detail": "no"}),
                    httpx.Response(401, json={"error": "unauthorized", "detail": "credentials required"}))
    slept, sleep = fake_sleeps()
    api = AsyncAgentClient(BASE, api_key=SECRET_KEY, transport=httpx.MockTransport(script), sleep=sleep)
    bearer = AgentClient(BASE, bearer_token=TOKEN)
    errors: list[BaseException] = []
    try:
        with pytest.raises(AuthenticationError) as caught:
            await api.reply("i-1", "hi")
        errors.append(caught.value)
        script.answers = [httpx.ConnectError(f"refused {SECRET_KEY}")]
        with pytest.raises(APIConnectionError) as lost:
            await api.accept("i-1")
        errors.append(lost.value)
        assert lost.value.cause == "ConnectError"
    finally:
        await api.aclose()
        bearer.close_connections()
    assert len(script.requests) == 4 and script.requests[0].headers["x-api-key"] == SECRET_KEY
    shown = [repr(api), str(api), repr(bearer), str(bearer), caplog.text]
    for exc in errors:
        shown += [str(exc), repr(exc), repr(exc.args), repr(vars(exc)), repr(exc.__cause__), repr(exc.__context__)]
    assert "retrying" in caplog.text
    for text in shown:
        assert SECRET_KEY not in text and "s3cr3t" not in text and TOKEN not in text, text
    assert repr(api) == "AsyncAgentClient(base_url='http://127.0.0.1', auth='api_key')"
    assert repr(bearer) == "AgentClient(base_url='http://127.0.0.1', auth='bearer_token')"
    with pytest.raises(ValueError, match="not both"):
        AgentClient(BASE, api_key=SECRET_KEY, bearer_token=TOKEN)


# --- the live stream ---------------------------------------------------------------------------------------

RECORDED = (
    ": a comment, then the stream\r\n"
    "event: ready\r\n"
    "id: 0.0\r\n"
    "data: {}\r\n"
    "\r\n"
    ": ping - 2026-12-03 09:12:00\r\n"
    "\r\n"
    "event: interaction.state\r\n"
    "id: 1.0\r\n"
    'data: {"interaction_id": "i-1", "from_state": "queued", "to_state": "offered", "agent": "alice",\r\n'
    'data:  "queue": "support", "note": null, "at": "2026-12-03T09:12:00.123Z"}\r\n'
    "\r\n"
    "event: message.added\n"
    "id: 1.1\n"
    'data:{"interaction_id": "i-1", "message_id": "m-1", "direction": "inbound", "kind": "text", '
    '"text": "still broken", "at": "2026-12-03T09:12:01Z", "new_field": 1}\n'
    "\n"
    "event: no-data-so-dropped\n"
    "\n"
    "retry: 3000\n"
    "event: typing\n"
    "data: line one\n"
    "data\n"
    "data: line three\n"
    "\n"
    "event: reset\n"
    "data: {}\n"
    "\n"
    "event: unfinished\n"
    "data: {}\n"
)


def test_the_parser_reads_a_recorded_stream():
    lines = httpx.Response(200, text=RECORDED).iter_lines()
    raw = list(iter_sse(lines))
    assert [(e.event, e.id) for e in raw] == [("ready", "0.0"), ("interaction.state", "1.0"),
                                               ("message.added", "1.1"), ("typing", "1.1"), ("reset", "1.1")]
    assert raw[3].data == "line one\n\nline three" and raw[3].retry == 3000
    assert json.loads(raw[1].data)["queue"] == "support"  # two data lines, joined

    typed = [live_event(e) for e in raw]
    ready, state, message, typing, reset = typed
    assert isinstance(ready, Ready) and ready.id == "0.0"
    assert isinstance(state, InteractionStateChanged)
    assert (state.interaction_id, state.from_state.value, state.to_state.value, state.agent, state.note) == (
        "i-1", "queued", "offered", "alice", None)
    assert isinstance(message, MessageAdded) and message.text == "still broken" and message.id == "1.1"
    assert isinstance(typing, UnknownEvent) and typing.event == "typing" and typing.data.startswith("line one")
    assert isinstance(reset, Reset)


def test_the_parser_keeps_the_last_id_and_ignores_what_the_standard_ignores():
    decoder = SSEDecoder()
    fed = [decoder.decode(line) for line in ("id: 7.1", "data: x", "", "id: bad\0id", "data: y", "", "data",
                                             "", "retry: soon", ": data: not data", "", "id", "data: z", "")]
    events = [e for e in fed if e is not None]
    assert [(e.data, e.id) for e in events] == [("x", "7.1"), ("y", "7.1"), ("", "7.1"), ("z", "")]
    assert all(e.retry is None for e in events) and decoder.last_event_id == ""


@pytest.fixture
async def served(tmp_path, monkeypatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    rt = Runtime(make_settings(tmp_path))
    await rt.start()
    app = create_app(rt, manage_runtime=False)
    app.state.api.state.live.interval = 0.01
    try:
        async with serve_in_task(app) as url:
            yield rt, app, url
    finally:
        await rt.stop()


async def next_event(events, timeout: float = 5.0):
    return await asyncio.wait_for(anext(events), timeout)


async def test_the_async_client_reads_the_live_stream_of_a_real_server_and_resumes(served):
    rt, app, url = served
    key = await api_access.api_key(rt, "agent", agent="alice", name="alice")
    async with AsyncAgentClient(url, api_key=key) as alice:
        async with contextlib.aclosing(alice.events()) as events:
            ready = await next_event(events)
            assert isinstance(ready, Ready) and ready.id == "0.0"
            await customer_writes(app, rt, 1, text="my router is broken")
            got = [await next_event(events)]
            while not isinstance(got[-1], MessageAdded):
                got.append(await next_event(events))
        *changes, message = got
        assert all(isinstance(e, InteractionStateChanged) for e in changes)
        assert [e.to_state.value for e in changes][-2:] == ["queued", "offered"]
        offered = changes[-1]
        assert offered.agent == "alice" and message.text == "my router is broken"
        assert message.interaction_id == offered.interaction_id and len({e.id for e in got}) == len(got)

        await alice.accept(offered.interaction_id)
        async with contextlib.aclosing(alice.events(last_event_id=offered.id)) as events:
            assert (await next_event(events)).id == offered.id  # ready, where it left off
            missed = [await next_event(events) for _ in range(2)]
        # each kind comes in its own order; between the two kinds the feed promises none (a
        # resume may replay the message, then the accept the live read finds)
        (state,) = [e for e in missed if isinstance(e, InteractionStateChanged)]
        (again,) = [e for e in missed if isinstance(e, MessageAdded)]
        assert state.to_state.value == "work_in_progress" and again.message_id == message.message_id

        with pytest.raises(BadRequestError):
            async for _ in alice.events(last_event_id="not-an-id"):
                pass
    async with AsyncAgentClient(url) as anonymous:
        with pytest.raises(AuthenticationError):
            await anext(anonymous.events())


async def test_the_sync_client_against_a_real_server(served, provider):
    rt, app, url = served
    key = await api_access.api_key(rt, "admin")
    await customer_writes(app, rt, 1)

    def work() -> tuple[str, object, list[str], list[str]]:
        with AgentClient(url, api_key=key) as api:
            [item] = api.list_interactions().items
            accepted = api.accept(item.id)
            replied = api.reply(item.id, "hello")
            with contextlib.closing(api.events()) as events:
                first = next(events)
            agents = [a.id for a in api.iter_agents(limit=1)]
            return accepted.state.value, first, agents, [replied.idempotency_key]

    state, first, agents, _ = await asyncio.to_thread(work)
    assert state == "work_in_progress" and isinstance(first, Ready) and agents == ["alice", "bob"]
    server_gone = AgentClient("http://127.0.0.1:9", api_key=key, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(APIConnectionError) as caught:
        await asyncio.to_thread(server_gone.stats)
    assert caught.value.cause == "ConnectError"


# --- what importing the client costs -------------------------------------------------------------------------

CLIENT = Path(__file__).parent.parent / "src" / "omnisdk" / "client"


def test_the_client_modules_import_no_server_code():
    for path in CLIENT.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("fastapi", "starlette", "uvicorn", "sse_starlette", "omnisdk.runtime",
                                            "omnisdk.store", "omnisdk.gateway.api", "omnisdk.gateway.app")), (path, name)
                assert not name.startswith("omnisdk.gateway") or name in (
                    "omnisdk.gateway.schemas", "omnisdk.gateway.access_schemas", "omnisdk.gateway.call_schemas",
                    "omnisdk.gateway.case_schemas"), (path, name)


def test_importing_the_client_imports_no_web_framework_nor_runtime():
    probe = ("import sys, omnisdk.client; "
             "print([m for m in ('fastapi', 'starlette', 'uvicorn', 'omnisdk.runtime') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
