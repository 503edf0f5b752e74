"""Push API requests: exact bodies, Bearer auth, a retry key stable across retries; content
and profile fetches."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
import respx

from omnisdk.adapters import OutboundMedia, OutboundMessage
from omnisdk.outbound import BadRequestError, OutboundError, RetryPolicy
from omnisdk_line import LineAdapter, outbound

API = "https://api.line.me"
DATA = "https://api-data.line.me"
USER = "U206d25c2ea6bd87c17655609a1c37cb8"
OK = {"sentMessages": [{"id": "461230966842064897", "quoteToken": "IStG5h1Tz7b..."}]}


async def _nosleep(_: float) -> None:
    return None


@pytest.fixture
def line() -> LineAdapter:
    return LineAdapter("acme", LineAdapter.example_settings(), sleep=_nosleep,
                       retry=RetryPolicy(max_attempts=3))


def _body(request: httpx.Request) -> dict:
    return json.loads(request.content)


@pytest.mark.parametrize("message, messages", [
    (OutboundMessage(customer=USER, text="Hello"), [{"type": "text", "text": "Hello"}]),
    (OutboundMessage(customer=USER, media=[OutboundMedia(media_type="image", url="https://x.test/a.jpg")]),
     [{"type": "image", "originalContentUrl": "https://x.test/a.jpg", "previewImageUrl": "https://x.test/a.jpg"}]),
    (OutboundMessage(customer=USER, text="look", media=[OutboundMedia(media_type="image", url="https://x.test/a.jpg")]),
     [{"type": "image", "originalContentUrl": "https://x.test/a.jpg", "previewImageUrl": "https://x.test/a.jpg"},
      {"type": "text", "text": "look"}]),
    (OutboundMessage(customer=USER, media=[OutboundMedia(media_type="sticker", media_id="446/1988")]),
     [{"type": "sticker", "packageId": "446", "stickerId": "1988"}]),
    (OutboundMessage(customer=USER, media=[OutboundMedia(media_type="location", url="geo:35.6591,139.7037",
                                                         caption="LINE HQ\nTokyo")]),
     [{"type": "location", "title": "LINE HQ", "address": "Tokyo", "latitude": 35.6591, "longitude": 139.7037}]),
])
async def test_push_bodies_are_exact(line: LineAdapter, message: OutboundMessage, messages: list) -> None:
    with respx.mock(base_url=API) as api:
        route = api.post("/v2/bot/message/push").mock(return_value=httpx.Response(200, json=OK))
        result = await line.send(message, idempotency_key="outbox-1")
        await line.aclose()
    req = route.calls.last.request
    assert _body(req) == {"to": USER, "messages": messages}
    assert req.headers["authorization"] == "Bearer example-channel-access-token"
    assert result.message_id == "461230966842064897"


async def test_retry_key_is_stable_across_retries(line: LineAdapter) -> None:
    replies = [httpx.Response(503), httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(200, json=OK)]
    with respx.mock(base_url=API) as api:
        route = api.post("/v2/bot/message/push").mock(side_effect=replies)
        await line.send(OutboundMessage(customer=USER, text="hi"), idempotency_key="0190a1b2c3d4e5f60718293a4b5c6d7e")
        await line.aclose()
    keys = {c.request.headers["x-line-retry-key"] for c in route.calls}
    assert len(route.calls) == 3 and len(keys) == 1
    [key] = keys
    assert key == str(uuid.uuid5(outbound.RETRY_KEY_NAMESPACE, "0190a1b2c3d4e5f60718293a4b5c6d7e"))
    assert {c.request.headers["idempotency-key"] for c in route.calls} == {"0190a1b2c3d4e5f60718293a4b5c6d7e"}
    assert len({c.request.content for c in route.calls}) == 1


def test_retry_key_is_the_key_itself_when_a_uuid() -> None:
    key = "123e4567-e89b-12d3-a456-426614174000"
    assert outbound.retry_key(key) == key
    assert outbound.retry_key("k1") == outbound.retry_key("k1") != outbound.retry_key("k2")
    uuid.UUID(outbound.retry_key("k1"))


async def test_4xx_is_not_retried_and_typed(line: LineAdapter) -> None:
    with respx.mock(base_url=API) as api:
        route = api.post("/v2/bot/message/push").mock(return_value=httpx.Response(
            400, json={"message": "The request body has 1 error(s)"}, headers={"x-line-request-id": "rid-1"}))
        with pytest.raises(BadRequestError) as info:
            await line.send(OutboundMessage(customer=USER, text="hi"), idempotency_key="k")
        await line.aclose()
    assert len(route.calls) == 1 and info.value.request_id == "rid-1"
    assert info.value.error_code == "The request body has 1 error(s)"


async def test_2xx_without_id_is_an_outbound_error(line: LineAdapter) -> None:
    with respx.mock(base_url=API) as api:
        api.post("/v2/bot/message/push").mock(return_value=httpx.Response(200, json={}))
        with pytest.raises(OutboundError):
            await line.send(OutboundMessage(customer=USER, text="hi"), idempotency_key="k")
        await line.aclose()


@pytest.mark.parametrize("message", [
    OutboundMessage(customer=USER),
    OutboundMessage(customer="", text="x"),
    OutboundMessage(customer="U 1", text="x"),
    OutboundMessage(customer=USER, text="x" * 5001),
    OutboundMessage(customer=USER, media=[OutboundMedia(media_type="video", url="https://x.test/v.mp4")]),
    OutboundMessage(customer=USER, media=[OutboundMedia(media_type="image", url="http://x.test/a.jpg")]),
    OutboundMessage(customer=USER, media=[OutboundMedia(media_type="sticker", media_id="446")]),
    OutboundMessage(customer=USER, media=[OutboundMedia(media_type="location", url="geo:1,2", caption="no address")]),
    OutboundMessage(customer=USER, business="Uother", text="x"),
])
async def test_invalid_messages_fail_before_io(line: LineAdapter, message: OutboundMessage) -> None:
    with respx.mock(base_url=API, assert_all_called=False) as api:
        route = api.route().mock(return_value=httpx.Response(200, json=OK))
        with pytest.raises(ValueError):
            await line.send(message, idempotency_key="k")
        await line.aclose()
    assert not route.calls


async def test_fetch_media(line: LineAdapter) -> None:
    with respx.mock(base_url=DATA) as api:
        route = api.get("/v2/bot/message/325708/content").mock(
            return_value=httpx.Response(200, content=b"\xff\xd8jpeg", headers={"content-type": "image/jpeg"}))
        media = await line.fetch_media("325708")
        await line.aclose()
    assert media.data == b"\xff\xd8jpeg" and media.mime_type == "image/jpeg"
    assert route.calls.last.request.headers["authorization"] == "Bearer example-channel-access-token"


async def test_profile(line: LineAdapter) -> None:
    doc = {"displayName": "LINE taro", "userId": USER, "language": "en",
           "pictureUrl": "https://profile.line-scdn.net/abcdefghijklmn", "statusMessage": "Hello, LINE!"}
    with respx.mock(base_url=API) as api:
        api.get(f"/v2/bot/profile/{USER}").mock(return_value=httpx.Response(200, json=doc))
        assert await line.profile(USER) == doc
        api.get("/v2/bot/profile/Unobody").mock(return_value=httpx.Response(404, json={"message": "Not found"}))
        with pytest.raises(OutboundError):
            await line.profile("Unobody")
        await line.aclose()
