"""Outgoing webhooks: subscriptions through the API, Standard Webhooks signatures checked with
the ``standardwebhooks`` package's own verifier, a receiver that fails then recovers gets every
event, repeated failure disables a subscription, 410 disables at once, and the SSRF guard.

The receiver is a real HTTP server (uvicorn on 127.0.0.1, allowed by ``[webhooks]
allowed_networks``); customers write through the sample plugin's signed webhook.
"""

from __future__ import annotations

import asyncio

import api_access
import httpx
import pytest
from sample_wire import make_settings, msg, sample_body, sample_signature
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from omnisdk.gateway import create_app
from omnisdk.outbound.ssrf import (
    InsecureTargetError,
    UnsafeTargetError,
    check_addresses,
    check_scheme,
    networks,
)
from omnisdk.outbound.subscriptions import check_event_types, matches
from omnisdk.outbound.webhook_delivery import Outcome, outcome, retry_delay
from omnisdk.runtime import Runtime
from omnisdk.testkit.asgi_server import serve_in_task


class Receiver:
    """Answers ``statuses`` in turn (then 200), and keeps what it got."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.got: list[tuple[dict[str, str], bytes]] = []

    async def handle(self, request: Request) -> Response:
        self.got.append((dict(request.headers), await request.body()))
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

    def delivered(self, secret: str) -> dict[str, dict]:
        """webhook-id → the CloudEvent, for the attempts whose signature verifies."""
        out = {}
        hook = Webhook(secret)
        for headers, body in self.got:
            event = hook.verify(body, headers)  # raises on a bad signature
            out[headers["webhook-id"]] = event
        return out


@pytest.fixture
async def world(tmp_path):
    receiver = Receiver()
    async with serve_in_task(Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])) as rurl:
        settings = make_settings(tmp_path)
        settings = settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update={
            "allowed_networks": ["127.0.0.0/8"], "backoff": [0.05], "max_attempts": 6, "disable_after": 2})})
        rt = Runtime(settings)
        await rt.start()
        app = create_app(rt, manage_runtime=False)
        key = await api_access.api_key(rt)
        async with api_access.client(app, key) as admin:
            yield rt, app, admin, receiver, f"{rurl}/hook"
        await rt.stop()


async def customer_writes(rt, app, n, text="hi"):
    body = sample_body([msg(n, text=text)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as c:
        resp = await c.post("/webhooks/sample/acme", content=body, headers={
            "x-sample-signature": sample_signature(body), "content-type": "application/json"})
    assert resp.status_code == 200
    await rt.processor.drain()


async def until(predicate, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached in time")


async def test_a_receiver_that_fails_then_recovers_gets_every_event_signed(world):
    rt, app, admin, receiver, url = world
    made = await admin.post("/v1/subscriptions", json={
        "url": url, "event_types": ["io.omnisdk.interaction.*", "io.omnisdk.message.received"]})
    assert made.status_code == 201, made.text
    secret = made.json()["secret"]
    assert secret.startswith("whsec_") and "secret" not in (await admin.get("/v1/subscriptions")).json()[0]
    receiver.statuses = [503, 500, 429]  # the first three attempts fail
    await customer_writes(rt, app, 1, "my router is broken")
    await customer_writes(rt, app, 2, "still broken")
    sub = made.json()["id"]
    for _ in range(300):  # until nothing is pending any more
        if not await rt.store.transact(lambda tx: tx.list_deliveries(sub, state="pending")):
            break
        await asyncio.sleep(0.05)
    deliveries = (await admin.get(f"/v1/subscriptions/{sub}/deliveries")).json()
    types = sorted(e["type"] for e in receiver.delivered(secret).values())
    assert types == ["io.omnisdk.interaction.created", "io.omnisdk.interaction.message_added",  # the 2nd message
                     "io.omnisdk.interaction.offered",
                     "io.omnisdk.interaction.queued", "io.omnisdk.message.received", "io.omnisdk.message.received"]
    texts = sorted(e["data"]["text"] for e in receiver.delivered(secret).values()
                   if e["type"] == "io.omnisdk.message.received")
    assert texts == ["my router is broken", "still broken"]
    assert {d["state"] for d in deliveries} == {"delivered"} and len(deliveries) == 6
    retried = [d for d in deliveries if d["attempts"] > 1]
    assert retried and all(d["last_status"] == 200 for d in deliveries)
    ids = [h["webhook-id"] for h, _ in receiver.got]
    assert len(ids) == 6 + 3 and len(set(ids)) == 6  # a retry repeats its webhook-id
    assert all(h["content-type"] == "application/cloudevents+json" for h, _ in receiver.got)


async def test_a_tampered_delivery_does_not_verify(world):
    rt, app, admin, receiver, url = world
    secret = (await admin.post("/v1/subscriptions", json={"url": url, "event_types": ["*"]})).json()["secret"]
    await customer_writes(rt, app, 1)
    await until(lambda: receiver.got)
    headers, body = receiver.got[0]
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook(secret).verify(body[:-1] + b" }", headers)  # one byte more, same meaning
    with pytest.raises(Exception, match="(?i)signature"):
        Webhook("whsec_" + "A" * 43 + "=").verify(body, headers)


async def test_repeated_failure_disables_the_subscription_and_redelivery_sends_everything(world):
    rt, app, admin, receiver, url = world
    rt.webhooks.settings = rt.webhooks.settings.model_copy(update={"max_attempts": 2})
    made = (await admin.post("/v1/subscriptions", json={"url": url, "event_types": ["io.omnisdk.message.received"]})).json()
    sub, secret = made["id"], made["secret"]
    receiver.statuses = [500] * 4  # two deliveries, two attempts each: both fail for good
    await customer_writes(rt, app, 1, "one")
    await customer_writes(rt, app, 2, "two")

    async def state() -> dict:
        return (await admin.get(f"/v1/subscriptions/{sub}")).json()

    for _ in range(300):
        if (await state())["state"] == "disabled":
            break
        await asyncio.sleep(0.05)
    disabled = await state()
    assert disabled["state"] == "disabled" and disabled["disabled_reason"] == "2 deliveries in a row failed"
    await customer_writes(rt, app, 3, "three")  # while it is off: held, not sent, not lost
    await asyncio.sleep(0.3)
    assert len(receiver.got) == 4
    failed = (await admin.get(f"/v1/subscriptions/{sub}/deliveries", params={"state": "failed"})).json()
    assert len(failed) == 2 and all(d["last_status"] == 500 and d["attempts"] == 2 for d in failed)

    assert (await admin.put(f"/v1/subscriptions/{sub}/state", json={"state": "active"})).status_code == 200
    requeued = await admin.post(f"/v1/subscriptions/{sub}/redeliver", json={})
    assert requeued.status_code == 202 and requeued.json() == {"requeued": 2}
    await until(lambda: len(receiver.delivered(secret)) == 3 and len(receiver.got) == 7)
    texts = sorted(e["data"]["text"] for e in receiver.delivered(secret).values())
    assert texts == ["one", "three", "two"]
    assert (await state())["failures"] == 0


async def test_410_gone_disables_at_once(world):
    rt, app, admin, receiver, url = world
    sub = (await admin.post("/v1/subscriptions", json={"url": url, "event_types": ["*"]})).json()["id"]
    receiver.statuses = [410]
    await customer_writes(rt, app, 1)
    for _ in range(200):
        doc = (await admin.get(f"/v1/subscriptions/{sub}")).json()
        if doc["state"] == "disabled":
            break
        await asyncio.sleep(0.05)
    assert doc["disabled_reason"] == "the receiver answered 410 Gone"
    gone = (await admin.get(f"/v1/subscriptions/{sub}/deliveries", params={"state": "failed"})).json()
    assert [(d["last_status"], d["attempts"]) for d in gone] == [(410, 1)]  # never retried
    sent = len(receiver.got)  # the others of that pass were in flight already
    await customer_writes(rt, app, 2)
    await asyncio.sleep(0.3)
    assert len(receiver.got) == sent


@pytest.mark.parametrize("url, why", [
    ("http://127.0.0.1:9/hook", "non-public"),
    ("http://169.254.169.254/latest/meta-data", "non-public"),
    ("http://[::1]/hook", "non-public"),
    ("http://10.1.2.3/hook", "non-public"),
    ("http://localhost/hook", "non-public"),
    ("ftp://example.com/hook", "http(s) URL"),
    ("https://user:pw@example.com/hook", "no credentials"),
])
async def test_the_ssrf_guard_refuses_internal_targets(tmp_path, url, why):
    rt = Runtime(make_settings(tmp_path))
    await rt.start()
    try:
        async with api_access.client(create_app(rt, manage_runtime=False), await api_access.api_key(rt)) as admin:
            resp = await admin.post("/v1/subscriptions", json={"url": url, "event_types": ["*"]})
        assert resp.status_code == 400 and why in resp.json()["detail"]
        assert "pw" not in resp.text
        assert await rt.store.transact(lambda tx: tx.list_subscriptions()) == []
    finally:
        await rt.stop()


async def test_plain_http_is_refused_off_loopback_when_the_subscription_is_made(tmp_path):
    settings = make_settings(tmp_path)
    settings = settings.model_copy(update={"webhooks": settings.webhooks.model_copy(update={
        "allowed_networks": ["10.0.0.0/8", "127.0.0.0/8"]})})
    rt = Runtime(settings)
    await rt.start()
    try:
        async with api_access.client(create_app(rt, manage_runtime=False), await api_access.api_key(rt)) as admin:
            refused = await admin.post("/v1/subscriptions", json={"url": "http://10.1.2.3/hook", "event_types": ["*"]})
            assert refused.status_code == 400 and refused.json()["error"] == "insecure_target"
            assert "https" in refused.json()["detail"]
            assert await rt.store.transact(lambda tx: tx.list_subscriptions()) == []
            public = await admin.post("/v1/subscriptions", json={"url": "http://93.184.215.14/hook", "event_types": ["*"]})
            assert public.status_code == 400 and public.json()["error"] == "insecure_target"
            internal = await admin.post("/v1/subscriptions", json={"url": "http://192.168.1.2/hook", "event_types": ["*"]})
            assert internal.status_code == 400 and "non-public" in internal.json()["detail"]  # the SSRF check first
            made = await admin.post("/v1/subscriptions", json={"url": "https://10.1.2.3/hook", "event_types": ["*"]})
            assert made.status_code == 201
            local = await admin.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]})
            assert local.status_code == 201  # loopback: the receiver is on this machine
    finally:
        await rt.stop()


def test_plain_http_needs_every_address_on_loopback():
    check_scheme("http://localhost/hook", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
    check_scheme("https://crm.example/hook", ["93.184.215.14"])
    with pytest.raises(InsecureTargetError):
        check_scheme("http://crm.example/hook", ["127.0.0.1", "93.184.215.14"])
    with pytest.raises(InsecureTargetError):
        check_scheme("http://crm.example/hook", ["10.0.0.5"])


def test_the_guard_checks_every_resolved_address_and_ipv4_mapped_ones():
    allowed = networks(["192.168.7.0/24"])
    check_addresses("crm.example", ["93.184.215.14", "192.168.7.20"], allowed)
    with pytest.raises(UnsafeTargetError, match="10.0.0.5"):
        check_addresses("crm.example", ["93.184.215.14", "10.0.0.5"], allowed)
    with pytest.raises(UnsafeTargetError, match="127.0.0.1"):
        check_addresses("x", ["::ffff:127.0.0.1"], ())
    with pytest.raises(UnsafeTargetError, match="no address"):
        check_addresses("x", [], ())


def test_event_types_and_the_retry_rules():
    assert check_event_types(["io.omnisdk.case.*", "*", "io.omnisdk.case.*"]) == ("*", "io.omnisdk.case.*")
    for bad in ([], ["io..x"], ["io.omnisdk.*.closed"], ["a b"]):
        with pytest.raises(ValueError):
            check_event_types(bad)
    assert matches(["io.omnisdk.case.*"], "io.omnisdk.case.updated")
    assert not matches(["io.omnisdk.case.*"], "io.omnisdk.casework")
    assert [outcome(s) for s in (200, 204, 410, 429, 500, None, 301)] == [
        Outcome.DELIVERED, Outcome.DELIVERED, Outcome.GONE, Outcome.RETRY, Outcome.RETRY, Outcome.RETRY, Outcome.RETRY]
    assert [retry_delay(n, [5, 30], None) for n in (1, 2, 3, 9)] == [5, 30, 30, 30]
    assert retry_delay(1, [5, 30], 120) == 120
