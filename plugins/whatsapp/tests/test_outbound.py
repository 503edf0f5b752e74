"""Sending through the Graph API (respx mocks; a fake sleep instead of the clock)."""

from __future__ import annotations

import logging

import httpx
import orjson
import pytest
import respx

from omnisdk.adapters import OutboundMedia, OutboundMessage, Template
from omnisdk.outbound import BadRequestError, InternalServerError, OutboundError, RetryPolicy
from omnisdk.outbound.errors import RateLimitError
from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings
from omnisdk_whatsapp.outbound import build_body

BASE = "https://graph.facebook.com"
PATH = "/v21.0/1122334455667/messages"
TOKEN = "example-access-token"
WAMID = "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
OK = {"messaging_product": "whatsapp", "contacts": [{"input": "972987654321",
      "wa_id": "972987654321"}], "messages": [{"id": WAMID}]}
# shape from developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
BAD = {"error": {"message": "(#100) Invalid parameter", "type": "OAuthException", "code": 100,
                 "error_subcode": 2494010, "fbtrace_id": "AbCdEf123"}}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def sender(settings, sleeps):
    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    a = WhatsAppAdapter("acme", settings, sleep=fake_sleep)
    yield a
    await a.aclose()


@pytest.fixture
def graph():
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def _sent(route, i=-1) -> dict:
    return orjson.loads(route.calls[i].request.content)


async def test_text(sender, graph):
    route = graph.post(PATH).respond(200, json=OK, headers={"x-fb-trace-id": "Trace1"})
    result = await sender.send(OutboundMessage(customer="+972987654321", text="hello"),
                               idempotency_key="k1")
    assert (result.message_id, result.status, result.request_id) == (WAMID, "accepted", "Trace1")
    req = route.calls.last.request
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert req.headers["idempotency-key"] == "k1"
    assert _sent(route) == {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": "972987654321", "type": "text",
                            "text": {"body": "hello", "preview_url": False}}


async def test_media_reply_with_text_as_caption(sender, graph):
    route = graph.post(PATH).respond(
        200, json={"messages": [{"id": WAMID, "message_status": "held_for_quality_assessment"}]})
    msg = OutboundMessage(customer="+972987654321", text="the invoice", reply_to="wamid.in",
                          media=[OutboundMedia(media_type="document", url="https://x.test/a.pdf",
                                               filename="a.pdf")])
    result = await sender.send(msg, idempotency_key="k2")
    assert result.status == "held_for_quality_assessment" and result.request_id is None
    assert _sent(route) == {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": "972987654321", "type": "document",
                            "document": {"link": "https://x.test/a.pdf", "caption": "the invoice",
                                         "filename": "a.pdf"},
                            "context": {"message_id": "wamid.in"}}


async def test_template(sender, graph):
    route = graph.post(PATH).respond(200, json=OK)
    components = [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}]
    msg = OutboundMessage(customer="+972987654321",
                          template=Template(name="order_update", language="en_US",
                                            components=components))
    await sender.send(msg, idempotency_key="k3")
    body = _sent(route)
    assert body["type"] == "template"
    assert body["template"] == {"name": "order_update", "language": {"code": "en_US"},
                                "components": components}


def test_media_by_id_and_other_bodies():
    image = build_body(OutboundMessage(customer="+1555", media=[
        OutboundMedia(media_type="image", media_id="1234", caption="look")]))
    assert image["image"] == {"id": "1234", "caption": "look"} and image["type"] == "image"
    sticker = build_body(OutboundMessage(customer="1555", media=[
        OutboundMedia(media_type="sticker", media_id="9", filename="ignored.webp")]))
    assert sticker["sticker"] == {"id": "9"} and sticker["to"] == "1555"


@pytest.mark.parametrize(
    "message",
    [
        OutboundMessage(customer="+972987654321"),
        OutboundMessage(customer="+972987654321", text=""),
        OutboundMessage(customer="+972987654321", text="x",
                        template=Template(name="t", language="en")),
        OutboundMessage(customer="+972987654321", media=[OutboundMedia(media_type="image")]),
        OutboundMessage(customer="+972987654321", media=[
            OutboundMedia(media_type="image", media_id="1"),
            OutboundMedia(media_type="image", media_id="2")]),
        OutboundMessage(customer="+972987654321", media=[
            OutboundMedia(media_type="hologram", media_id="1")]),
        OutboundMessage(customer="+972987654321", text="caption?", media=[
            OutboundMedia(media_type="audio", media_id="1")]),
        OutboundMessage(customer="not-a-number", text="hi"),
        OutboundMessage(customer="+972987654321", business="../../me", text="hi"),
    ],
)
async def test_invalid_messages_fail_before_any_io(sender, graph, message):
    route = graph.post(url__regex=r".*").respond(200, json=OK)
    with pytest.raises(ValueError):
        await sender.send(message, idempotency_key="k")
    assert route.call_count == 0


async def test_business_overrides_the_sender(sender, graph):
    # 106540352242922 is one of the example account's phone_number_ids (edited_message.json)
    route = graph.post("/v21.0/106540352242922/messages").respond(200, json=OK)
    await sender.send(OutboundMessage(customer="+1555", business="106540352242922", text="hi"),
                      idempotency_key="k")
    assert route.call_count == 1


async def test_a_business_the_account_does_not_own_is_refused_before_any_io(sender, graph):
    route = graph.post("/v21.0/999000/messages").respond(200, json=OK)
    with pytest.raises(ValueError, match="does not own phone number id 999000"):
        await sender.send(OutboundMessage(customer="+1555", business="999000", text="hi"),
                          idempotency_key="k")
    assert route.call_count == 0


async def test_429_retry_after_then_ok(sender, graph, sleeps):
    route = graph.post(PATH).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "2"}, json={"error": {"code": 130429}}),
        httpx.Response(200, json=OK),
    ])
    result = await sender.send(OutboundMessage(customer="+972987654321", text="hi"),
                               idempotency_key="idem-1")
    assert result.message_id == WAMID
    assert route.call_count == 2 and sleeps == [2]
    keys = [c.request.headers["idempotency-key"] for c in route.calls]
    assert keys == ["idem-1", "idem-1"]
    assert _sent(route, 0) == _sent(route, 1)


async def test_400_is_not_retried(sender, graph, sleeps):
    route = graph.post(PATH).respond(400, json=BAD, headers={"x-fb-trace-id": "AbCdEf123"})
    with pytest.raises(BadRequestError) as err:
        await sender.send(OutboundMessage(customer="+972987654321", text="hi"),
                          idempotency_key="k")
    assert route.call_count == 1 and sleeps == []
    assert (err.value.error_code, err.value.request_id) == ("100", "AbCdEf123")
    assert err.value.status_code == 400 and err.value.provider == "whatsapp"


async def test_500_gives_up_after_max_attempts(sender, graph, sleeps):
    route = graph.post(PATH).respond(500, text="oops")
    with pytest.raises(InternalServerError):
        await sender.send(OutboundMessage(customer="+972987654321", text="hi"),
                          idempotency_key="k")
    attempts = RetryPolicy().max_attempts
    assert route.call_count == attempts and len(sleeps) == attempts - 1


async def test_retry_policy_seam(settings, graph):
    waits: list[float] = []

    async def fake_sleep(s: float) -> None:
        waits.append(s)

    a = WhatsAppAdapter("acme", settings, retry=RetryPolicy(max_attempts=2), sleep=fake_sleep)
    route = graph.post(PATH).respond(429, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitError):
        await a.send(OutboundMessage(customer="+1555", text="hi"), idempotency_key="k")
    await a.aclose()
    assert route.call_count == 2 and waits == [1]


async def test_ok_without_message_id_is_an_outbound_error(sender, graph):
    graph.post(PATH).respond(200, json={"messaging_product": "whatsapp"},
                             headers={"x-fb-request-id": "R9"})
    with pytest.raises(OutboundError) as err:
        await sender.send(OutboundMessage(customer="+1555", text="hi"), idempotency_key="k")
    assert err.value.request_id == "R9"


async def test_api_base_url_override():
    s = WhatsAppSettings(**dict(WhatsAppAdapter.example_settings(),
                                api_base_url="http://127.0.0.1:9999", api_version="v19.0"))
    a = WhatsAppAdapter("demo", s)
    with respx.mock(base_url="http://127.0.0.1:9999") as local:
        route = local.post("/v19.0/1122334455667/messages").respond(200, json=OK)
        await a.send(OutboundMessage(customer="+1555", text="hi"), idempotency_key="k")
    await a.aclose()
    assert route.call_count == 1


async def test_token_never_leaks(sender, graph, settings, caplog):
    caplog.set_level(logging.DEBUG)
    graph.post(PATH).mock(side_effect=[
        httpx.Response(503), httpx.Response(400, json=BAD, headers={"x-fb-trace-id": "T"})])
    with pytest.raises(BadRequestError) as err:
        await sender.send(OutboundMessage(customer="+1555", text="hi"), idempotency_key="k")
    texts = [str(err.value), repr(err.value), repr(sender), repr(settings), str(settings),
             repr(sender._http()), caplog.text]
    assert caplog.records  # the retry was logged
    for text in texts:
        assert TOKEN not in text
        assert "example-app-secret" not in text and "example-verify-token" not in text


async def test_client_is_lazy_and_closed(settings):
    a = WhatsAppAdapter("acme", settings)
    assert a._client is None
    client = a._http()
    assert a._http() is client
    await a.aclose()
    assert a._client is None
    await a.aclose()  # idempotent
