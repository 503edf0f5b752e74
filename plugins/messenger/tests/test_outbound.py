"""Send API requests: exact bodies, Bearer auth (never in the URL), the window rule before any
I/O, Graph error codes mapped to typed, retryable-or-not errors; handover calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from omnisdk.adapters import OutboundMedia, OutboundMessage
from omnisdk.outbound import (
    AuthenticationError,
    BadRequestError,
    OutboundError,
    RateLimitError,
    RetryPolicy,
    is_retryable,
)
from omnisdk_messenger import MessengerAdapter
from omnisdk_messenger.errors import (
    GraphAuthenticationError,
    GraphRateLimitError,
    GraphUnavailableError,
    GraphWindowError,
    UserUnavailableError,
    WindowClosedError,
)

API = "https://graph.facebook.com"
PATH = "/v21.0/105000000000001/messages"
PSID = "6000000000000001"
OK = {"recipient_id": PSID, "message_id": "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}
IMG = "https://media.example.test/a.jpg"


async def _nosleep(_: float) -> None:
    return None


def _adapter(**changes) -> MessengerAdapter:
    return MessengerAdapter("acme", {**MessengerAdapter.example_settings(), **changes}, sleep=_nosleep,
                            retry=RetryPolicy(max_attempts=3))


@pytest.fixture
def messenger() -> MessengerAdapter:
    return _adapter()


def _graph_error(code: int, sub: int | None = None, status: int = 400) -> httpx.Response:
    err = {"message": f"(#{code}) something", "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if sub is not None:
        err["error_subcode"] = sub
    return httpx.Response(status, json={"error": err}, headers={"x-fb-trace-id": "AbCdEf"})


@pytest.mark.parametrize("message, body_message", [
    (OutboundMessage(customer=PSID, text="Hello"), {"text": "Hello"}),
    (OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="image", url=IMG)]),
     {"attachment": {"type": "image", "payload": {"url": IMG, "is_reusable": False}}}),
    (OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="document", url="https://x.test/a.pdf")]),
     {"attachment": {"type": "file", "payload": {"url": "https://x.test/a.pdf", "is_reusable": False}}}),
    (OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="video", media_id="1857777774821032")]),
     {"attachment": {"type": "video", "payload": {"attachment_id": "1857777774821032"}}}),
    (OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="image", url=IMG, caption="look")]),
     {"attachment": {"type": "template", "payload": {"template_type": "generic",
                                                     "elements": [{"title": "look", "image_url": IMG}]}}}),
    (OutboundMessage(customer=PSID, text="look", media=[OutboundMedia(media_type="image", url=IMG)]),
     {"attachment": {"type": "template", "payload": {"template_type": "generic",
                                                     "elements": [{"title": "look", "image_url": IMG}]}}}),
])
async def test_send_bodies_are_exact(messenger: MessengerAdapter, message: OutboundMessage, body_message: dict) -> None:
    with respx.mock(base_url=API) as api:
        route = api.post(PATH).mock(return_value=httpx.Response(200, json=OK))
        result = await messenger.send(message, idempotency_key="outbox-1")
        await messenger.aclose()
    req = route.calls.last.request
    assert json.loads(req.content) == {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": body_message}
    assert req.headers["authorization"] == "Bearer example-page-access-token"
    assert "access_token" not in str(req.url) and "example-page-access-token" not in str(req.url)
    assert req.headers["idempotency-key"] == "outbox-1"
    assert result.message_id == OK["message_id"]


async def test_graph_version_and_page_come_from_the_settings() -> None:
    a = _adapter(graph_version="v19.0", page_id="42")
    with respx.mock(base_url=API) as api:
        route = api.post("/v19.0/42/messages").mock(return_value=httpx.Response(200, json=OK))
        await a.send(OutboundMessage(customer=PSID, text="hi"), idempotency_key="k")
        await a.aclose()
    assert route.called


async def test_the_window_rule_chooses_the_tag_when_the_time_is_known() -> None:
    a = _adapter(human_agent_tag=True)
    with respx.mock(base_url=API) as api:
        route = api.post(PATH).mock(return_value=httpx.Response(200, json=OK))
        await a.send(OutboundMessage(customer=PSID, text="hi"), idempotency_key="k",
                     last_inbound_at=datetime.now(UTC) - timedelta(days=2))
        await a.aclose()
    body = json.loads(route.calls.last.request.content)
    assert (body["messaging_type"], body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


@pytest.mark.parametrize("tag, age, expected", [
    (False, timedelta(hours=3), ("RESPONSE", None)),
    (True, timedelta(hours=3), ("RESPONSE", None)),
    (True, timedelta(days=3), ("MESSAGE_TAG", "HUMAN_AGENT")),
])
async def test_the_outbox_s_last_inbound_time_chooses_the_messaging_type(tag, age, expected) -> None:
    a = _adapter(human_agent_tag=tag)
    assert a.service_window == (7 * 86400 if tag else 86400)  # what the core checks before queueing
    last = (datetime.now(UTC) - age).timestamp()
    with respx.mock(base_url=API) as api:
        route = api.post(PATH).mock(return_value=httpx.Response(200, json=OK))
        await a.send(OutboundMessage(customer=PSID, text="hi", customer_last_wrote_at=last), idempotency_key="k")
        await a.aclose()
    body = json.loads(route.calls.last.request.content)
    assert (body["messaging_type"], body.get("tag")) == expected


@pytest.mark.parametrize("tag, age", [(False, timedelta(hours=25)), (True, timedelta(days=8))])
async def test_outside_the_window_nothing_is_sent(tag: bool, age: timedelta) -> None:
    a = _adapter(human_agent_tag=tag)
    with respx.mock(base_url=API, assert_all_called=False) as api:
        route = api.route().mock(return_value=httpx.Response(200, json=OK))
        with pytest.raises(WindowClosedError):
            await a.send(OutboundMessage(customer=PSID, text="hi"), idempotency_key="k",
                         last_inbound_at=datetime.now(UTC) - age)
        await a.aclose()
    assert not route.calls


@pytest.mark.parametrize("reply, cls, retryable, status", [
    (_graph_error(613), GraphRateLimitError, True, 429),
    (_graph_error(4, status=403), GraphRateLimitError, True, 429),
    (_graph_error(32), GraphRateLimitError, True, 429),
    (_graph_error(2, status=500), GraphUnavailableError, True, 503),
    (_graph_error(10, 2018278), GraphWindowError, False, 400),
    (_graph_error(551), UserUnavailableError, False, 400),
    (_graph_error(100, 2018001), UserUnavailableError, False, 400),
    (_graph_error(190), GraphAuthenticationError, False, 401),
    (_graph_error(100), BadRequestError, False, 400),
])
async def test_graph_errors_are_typed(messenger: MessengerAdapter, reply: httpx.Response, cls: type,
                                      retryable: bool, status: int) -> None:
    with respx.mock(base_url=API) as api:
        api.post(PATH).mock(return_value=reply)
        with pytest.raises(OutboundError) as info:
            await messenger.send(OutboundMessage(customer=PSID, text="hi"), idempotency_key="k")
        await messenger.aclose()
    err = info.value
    assert type(err) is cls and is_retryable(err) is retryable and err.status_code == status
    assert err.request_id == "AbCdEf" and "example-page-access-token" not in str(err)
    if cls is GraphRateLimitError:
        assert isinstance(err, RateLimitError) and err.http_status == reply.status_code
    if cls is GraphAuthenticationError:
        assert isinstance(err, AuthenticationError)


async def test_a_real_429_is_retried_by_the_client(messenger: MessengerAdapter) -> None:
    replies = [httpx.Response(429, headers={"Retry-After": "0"}), httpx.Response(503), httpx.Response(200, json=OK)]
    with respx.mock(base_url=API) as api:
        route = api.post(PATH).mock(side_effect=replies)
        await messenger.send(OutboundMessage(customer=PSID, text="hi"), idempotency_key="k1")
        await messenger.aclose()
    assert len(route.calls) == 3
    assert {c.request.headers["idempotency-key"] for c in route.calls} == {"k1"}
    assert len({c.request.content for c in route.calls}) == 1


async def test_2xx_without_message_id_is_an_outbound_error(messenger: MessengerAdapter) -> None:
    with respx.mock(base_url=API) as api:
        api.post(PATH).mock(return_value=httpx.Response(200, json={"recipient_id": PSID}))
        with pytest.raises(OutboundError):
            await messenger.send(OutboundMessage(customer=PSID, text="hi"), idempotency_key="k")
        await messenger.aclose()


@pytest.mark.parametrize("message", [
    OutboundMessage(customer=PSID),
    OutboundMessage(customer="+15550100002", text="x"),
    OutboundMessage(customer="", text="x"),
    OutboundMessage(customer=PSID, text="x" * 2001),
    OutboundMessage(customer=PSID, business="999", text="x"),
    OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="image", url="http://x.test/a.jpg")]),
    OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="sticker", media_id="1")]),
    OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="video", url=IMG, caption="no caption field")]),
    OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="image", url=IMG, caption="x" * 81)]),
    OutboundMessage(customer=PSID, text="a", media=[OutboundMedia(media_type="image", url=IMG, caption="b")]),
    OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="image", url=IMG), OutboundMedia(media_type="image", url=IMG)]),
    OutboundMessage(customer=PSID, media=[OutboundMedia(media_type="image")]),
])
async def test_invalid_messages_fail_before_io(messenger: MessengerAdapter, message: OutboundMessage) -> None:
    with respx.mock(base_url=API, assert_all_called=False) as api:
        route = api.route().mock(return_value=httpx.Response(200, json=OK))
        with pytest.raises(ValueError):
            await messenger.send(message, idempotency_key="k")
        await messenger.aclose()
    assert not route.calls


async def test_templates_are_refused_before_io(messenger: MessengerAdapter) -> None:
    from omnisdk.adapters import Template

    with pytest.raises(ValueError):
        await messenger.send(OutboundMessage(customer=PSID, template=Template(name="t", language="en")),
                             idempotency_key="k")


@pytest.mark.parametrize("call, path, body", [
    (lambda a: a.pass_thread_control(PSID, metadata="billing"), "pass_thread_control",
     {"recipient": {"id": PSID}, "target_app_id": "263902037430900", "metadata": "billing"}),
    (lambda a: a.take_thread_control(PSID), "take_thread_control", {"recipient": {"id": PSID}}),
    (lambda a: a.request_thread_control(PSID, metadata="please"), "request_thread_control",
     {"recipient": {"id": PSID}, "metadata": "please"}),
])
async def test_thread_control_calls(messenger: MessengerAdapter, call, path: str, body: dict) -> None:
    with respx.mock(base_url=API) as api:
        route = api.post(f"/v21.0/105000000000001/{path}").mock(return_value=httpx.Response(200, json={"success": True}))
        await call(messenger)
        await messenger.aclose()
    req = route.calls.last.request
    assert json.loads(req.content) == body and req.headers["authorization"] == "Bearer example-page-access-token"


async def test_mark_read_sends_the_mark_seen_sender_action(messenger: MessengerAdapter) -> None:
    with respx.mock(base_url=API) as api:
        route = api.post(PATH).mock(return_value=httpx.Response(200, json={"recipient_id": PSID}))
        await messenger.mark_read("m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM", customer=PSID)
        await messenger.aclose()
    req = route.calls.last.request
    assert json.loads(req.content) == {"recipient": {"id": PSID}, "sender_action": "mark_seen"}
    assert req.headers["authorization"] == "Bearer example-page-access-token" and "access_token" not in str(req.url)
    with pytest.raises(ValueError):  # no I/O: not a PSID, or another Page
        await messenger.mark_read("m_1", customer="+15550100001")
    with pytest.raises(ValueError):
        await messenger.mark_read("m_1", customer=PSID, business="999")


async def test_thread_control_refusals(messenger: MessengerAdapter) -> None:
    with respx.mock(base_url=API) as api:
        api.post("/v21.0/105000000000001/take_thread_control").mock(return_value=httpx.Response(200, json={"success": False}))
        with pytest.raises(OutboundError):
            await messenger.take_thread_control(PSID)
        await messenger.aclose()
    with pytest.raises(ValueError):
        await messenger.pass_thread_control(PSID, target_app_id="inbox")
