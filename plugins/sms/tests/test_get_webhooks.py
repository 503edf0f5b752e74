"""Twilio GET webhooks through the real gateway (issue 8, B9): a number configured to call its
webhook with HTTP GET sends the form in the query, signed over the full URL with that query.
The recorded forms, signed with the plugin's documented algorithm, the real runtime."""

from __future__ import annotations

import pytest

from omnisdk.adapters import WebhookRequest
from omnisdk.testkit.runtime import KitRuntime
from omnisdk_sms import TwilioSmsAdapter, signature

URL = "https://hooks.example.com/webhooks/sms/acme"
TOKEN = TwilioSmsAdapter.example_settings()["auth_token"]


def make_adapter() -> TwilioSmsAdapter:
    return TwilioSmsAdapter("acme", TwilioSmsAdapter.example_settings())


def get_target(form: bytes) -> tuple[str, dict[str, str]]:
    """The path + query to GET and the headers Twilio sends: the form as the query, the
    signature over the full URL with it (twilio.com/docs/usage/security: GET → URL alone)."""
    query = form.decode("ascii")
    signed = signature.sign(TOKEN, f"{URL}?{query}", b"", "", method="GET")
    assert signed == signature.compute(TOKEN, f"{URL}?{query}")  # the URL alone is signed
    return f"/webhooks/sms/acme?{query}", {signature.HEADER: signed}


async def inbox(rt: KitRuntime) -> list[tuple[str, str]]:
    return await rt.runtime.store.transact(
        lambda tx: tx.c.execute("SELECT id, type FROM inbox ORDER BY rowid").fetchall())


@pytest.mark.parametrize("name", ["inbound_sms", "status_delivered"])
async def test_a_signed_get_webhook_is_verified_parsed_and_stored(tmp_path, recs, name):
    rec = recs[name]
    async with KitRuntime(make_adapter, tmp_path, URL, loops=False) as rt:
        target, headers = get_target(rec.body)
        resp = await rt.client.get(target, headers=headers)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/xml")  # the empty TwiML answer
        got = await inbox(rt)
        # the same event a POST of the same form makes (same id: redeliveries dedupe across methods)
        expected = make_adapter().parse(WebhookRequest("POST", URL, {}, rec.body))
        assert got == [(e.id, e.type) for e in expected]
        post = await rt.deliver(rec)
        assert post.status_code == 200
        assert await inbox(rt) == got, "the POST redelivery adds nothing"


async def test_a_get_webhook_opens_an_interaction(tmp_path, recs):
    async with KitRuntime(make_adapter, tmp_path, URL, loops=False) as rt:
        target, headers = get_target(recs["inbound_sms"].body)
        assert (await rt.client.get(target, headers=headers)).status_code == 200
        await rt.runtime.processor.drain()
        [inter] = await rt.runtime.interactions()
        assert inter.channel == "sms" and inter.customer == "+12065550142"


async def test_an_unsigned_or_tampered_get_is_401_and_stores_nothing(tmp_path, recs):
    async with KitRuntime(make_adapter, tmp_path, URL, loops=False) as rt:
        target, headers = get_target(recs["inbound_sms"].body)
        assert (await rt.client.get(target)).status_code == 401
        tampered = target.replace("4711", "4712")
        resp = await rt.client.get(tampered, headers=headers)
        assert resp.status_code == 401 and resp.json()["error"] == "bad_signature"
        # a POST signature (URL + sorted params) does not verify the GET either
        post_sig = signature.compute(TOKEN, URL + "?" + target.split("?", 1)[1],
                                     [("x", "y")])
        assert (await rt.client.get(target, headers={signature.HEADER: post_sig})).status_code == 401
        assert await inbox(rt) == []


async def test_head_is_still_405(tmp_path, recs):
    async with KitRuntime(make_adapter, tmp_path, URL, loops=False) as rt:
        target, headers = get_target(recs["inbound_sms"].body)
        resp = await rt.client.head(target, headers=headers)
        assert resp.status_code == 405
        assert await inbox(rt) == []
