"""``GET /v1/events``: an agent's live stream over a real server (uvicorn on 127.0.0.1), with a
reconnect in the middle that resumes from ``Last-Event-ID`` and loses nothing."""

from __future__ import annotations

import asyncio
import json

import api_access
import httpx
import pytest
from sample_wire import make_settings, msg, sample_body, sample_signature

from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime
from omnisdk.testkit.asgi_server import serve_in_task

ROUTING = {
    "queues": [{"name": "billing", "keywords": ["invoice"]}, {"name": "support"}],
    "agents": [
        {"id": "alice", "queues": ["support"], "capacity": {"chat": 3}},
        {"id": "bob", "queues": ["billing"], "capacity": {"chat": 3}},
    ],
}


class Stream:
    """Reads server-sent events off one streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, timeout: float = 5.0) -> dict[str, str]:
        event: dict[str, str] = {}
        while True:
            line = (await asyncio.wait_for(anext(self.lines), timeout)).rstrip("\r")
            if not line:
                if "event" in event:
                    return event
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")

    async def until(self, count: int) -> list[dict[str, str]]:
        return [await self.next() for _ in range(count)]


def brief(events: list[dict[str, str]]) -> list[tuple[str, str | None, str | None]]:
    out = []
    for e in events:
        data = json.loads(e["data"])
        out.append((e["event"], data.get("to_state") or data.get("text"), data.get("agent")))
    return out


@pytest.fixture
async def served(tmp_path):
    rt = Runtime(make_settings(tmp_path, **ROUTING))
    await rt.start()
    app = create_app(rt, manage_runtime=False)
    app.state.api.state.live.interval = 0.01
    keys = {who: await api_access.api_key(rt, "agent", agent=who, name=who) for who in ("alice", "bob")}
    keys["admin"] = await api_access.api_key(rt, "admin")
    try:
        async with serve_in_task(app) as url:
            yield rt, url, keys
    finally:
        await rt.stop()


async def customer_writes(rt, url, n, text="hi", customer="+15550100001"):
    body = sample_body([msg(n, customer=customer, text=text)])
    async with httpx.AsyncClient() as c:
        resp = await c.post(f"{url}/webhooks/sample/acme", content=body, headers={
            "x-sample-signature": sample_signature(body), "content-type": "application/json"})
    assert resp.status_code == 200
    await rt.processor.drain()


async def test_an_agent_resumes_after_a_reconnect_and_misses_nothing(served):
    rt, url, keys = served
    alice = api_access.headers(keys["alice"])
    async with httpx.AsyncClient(base_url=url, timeout=10) as c:
        async with c.stream("GET", "/v1/events", headers=alice) as resp:
            assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
            stream = Stream(resp)
            ready = await stream.next()
            assert ready["event"] == "ready" and ready["id"] == "0.0"
            await customer_writes(rt, url, 1, "my router is broken")
            first = await stream.until(3)
            assert brief(first) == [("interaction.state", "queued", None), ("interaction.state", "offered", "alice"),
                                    ("message.added", "my router is broken", None)]
            last_seen = first[1]["id"]  # the client drops after the offer: it never read the message
        iid = json.loads(first[0]["data"])["interaction_id"]

        # while alice is away: she accepts from another screen, and the customer writes again
        assert (await c.post(f"/v1/interactions/{iid}/accept", json={}, headers=alice)).status_code == 200
        await customer_writes(rt, url, 2, "still broken")
        await customer_writes(rt, url, 3, "invoice wrong", customer="+15550100002")  # bob's: not hers

        async with c.stream("GET", "/v1/events", headers={**alice, "last-event-id": last_seen}) as resp:
            stream = Stream(resp)
            assert (await stream.next())["id"] == last_seen
            missed = await stream.until(3)
            assert brief(missed) == [("interaction.state", "work_in_progress", "alice"),
                                     ("message.added", "my router is broken", None),
                                     ("message.added", "still broken", None)]
            ids = [e["id"] for e in first[:2] + missed]
            assert len(set(ids)) == len(ids)
            # and live again
            assert (await c.post(f"/v1/interactions/{iid}/hold", json={}, headers=alice)).status_code == 200
            assert brief([await stream.next()]) == [("interaction.state", "on_hold", "alice")]


async def test_each_agent_sees_only_their_reach_and_a_bad_last_event_id_is_400(served):
    rt, url, keys = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as c:
        async with c.stream("GET", "/v1/events", headers=api_access.headers(keys["bob"])) as resp:
            stream = Stream(resp)
            await stream.next()  # ready
            await customer_writes(rt, url, 1, "hello")  # alice's
            await customer_writes(rt, url, 2, "invoice please", customer="+15550100002")  # bob's
            got = await stream.until(3)
            assert brief(got) == [("interaction.state", "queued", None), ("interaction.state", "offered", "bob"),
                                  ("message.added", "invoice please", None)]
            assert all(json.loads(e["data"])["queue"] == "billing" for e in got if e["event"] == "interaction.state")
        refused = await c.get("/v1/events", headers={**api_access.headers(keys["bob"]), "last-event-id": "x"})
        assert refused.status_code == 400
        assert (await c.get("/v1/events")).status_code == 401
