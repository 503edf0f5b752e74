"""send() through the Messages API (respx): form shape, retries, typed errors, secrets."""

from __future__ import annotations

import base64
import logging
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import ValidationError

from omnisdk.adapters import OutboundMedia, OutboundMessage, Template
from omnisdk.outbound import BadRequestError, InternalServerError, OutboundError, RetryPolicy
from omnisdk_sms import TwilioSmsAdapter, TwilioSmsSettings
from omnisdk_sms.outbound import build_form, validate_e164

TOKEN = "example-auth-token"
SID = "AC" + "0123456789abcdef" * 2
API = "https://api.twilio.com"
PATH = f"/2010-04-01/Accounts/{SID}/Messages.json"
CALLBACK = "https://hooks.example.com/webhooks/sms/acme"
CREATED = {
    "sid": "SMaf1e0c8d39f2431f8f1f0e6a3b2c1d0e",
    "status": "queued",
    "to": "+12065550142",
    "from": "+14155550100",
    "account_sid": SID,
}


class FakeSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def make_adapter(sleep):
    made: list[TwilioSmsAdapter] = []

    def make(**overrides) -> TwilioSmsAdapter:
        settings = {**TwilioSmsAdapter.example_settings(), **overrides}
        a = TwilioSmsAdapter("acme", settings, sleep=sleep, retry=RetryPolicy(max_attempts=3))
        made.append(a)
        return a

    yield make


def _form(request: httpx.Request) -> dict[str, list[str]]:
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return parse_qs(request.content.decode(), keep_blank_values=True, strict_parsing=True)


async def test_form_body_shape(make_adapter):
    adapter = make_adapter(status_callback_url=CALLBACK)
    assert adapter._client is None  # created lazily
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.post(PATH).mock(
            return_value=httpx.Response(201, json=CREATED, headers={"Twilio-Request-Id": "RQ1"})
        )
        msg = OutboundMessage(
            customer="+12065550142",
            text="Your parcel is on its way + here are the photos",
            media=[
                OutboundMedia(media_type="image", url="https://cdn.example.com/a.jpg"),
                OutboundMedia(media_type="image", url="https://cdn.example.com/b.jpg"),
            ],
        )
        result = await adapter.send(msg, idempotency_key="outbox-42")
    assert (result.message_id, result.status, result.request_id) == (
        CREATED["sid"],
        "queued",
        "RQ1",
    )
    request = route.calls.last.request
    assert _form(request) == {
        "To": ["+12065550142"],
        "From": ["+14155550100"],
        "Body": ["Your parcel is on its way + here are the photos"],
        "MediaUrl": ["https://cdn.example.com/a.jpg", "https://cdn.example.com/b.jpg"],
        "StatusCallback": [CALLBACK],
    }
    assert (
        request.headers["authorization"]
        == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    )
    assert request.headers["idempotency-key"] == "outbox-42"
    await adapter.aclose()
    assert adapter._client is None


async def test_messaging_service_and_explicit_sender(make_adapter):
    service = "MG" + "ab" * 16
    adapter = make_adapter(from_number=None, numbers=["+14155550100"], messaging_service_sid=service)
    with respx.mock(base_url=API) as mock:
        route = mock.post(PATH).mock(return_value=httpx.Response(201, json=CREATED))
        await adapter.send(
            OutboundMessage(customer="+12065550142", text="hi"), idempotency_key="k1"
        )
        await adapter.send(
            OutboundMessage(customer="+12065550142", text="hi", business="+14155550100"),
            idempotency_key="k2",
        )
    first, second = (_form(c.request) for c in route.calls)
    assert first == {"To": ["+12065550142"], "MessagingServiceSid": [service], "Body": ["hi"]}
    assert second["From"] == ["+14155550100"] and second["MessagingServiceSid"] == [service]
    await adapter.aclose()


async def test_429_then_201_is_retried_with_the_same_key(make_adapter, sleep):
    adapter = make_adapter()
    with respx.mock(base_url=API) as mock:
        route = mock.post(PATH).mock(
            side_effect=[
                httpx.Response(
                    429,
                    json={
                        "code": 20429,
                        "message": "Too Many Requests",
                        "more_info": "https://www.twilio.com/docs/errors/20429",
                        "status": 429,
                    },
                    headers={"Retry-After": "1"},
                ),
                httpx.Response(201, json=CREATED, headers={"Twilio-Request-Id": "RQ2"}),
            ]
        )
        result = await adapter.send(
            OutboundMessage(customer="+12065550142", text="hi"), idempotency_key="outbox-7"
        )
    assert route.call_count == 2
    assert sleep.calls == [1.0]
    keys = [c.request.headers["idempotency-key"] for c in route.calls]
    assert keys == ["outbox-7", "outbox-7"]
    assert result.request_id == "RQ2"
    await adapter.aclose()


async def test_400_with_twilio_error_is_not_retried(make_adapter, sleep):
    adapter = make_adapter()
    body = {
        "code": 21211,
        "message": "The 'To' number +12065550142 is not a valid phone number.",
        "more_info": "https://www.twilio.com/docs/errors/21211",
        "status": 400,
    }
    with respx.mock(base_url=API) as mock:
        route = mock.post(PATH).mock(
            return_value=httpx.Response(400, json=body, headers={"Twilio-Request-Id": "RQ400"})
        )
        with pytest.raises(BadRequestError) as info:
            await adapter.send(
                OutboundMessage(customer="+12065550142", text="hi"), idempotency_key="k"
            )
    assert route.call_count == 1 and sleep.calls == []
    err = info.value
    assert (err.error_code, err.request_id, err.status_code) == ("21211", "RQ400", 400)
    assert TOKEN not in str(err) and TOKEN not in repr(err)
    await adapter.aclose()


async def test_503_until_attempts_run_out(make_adapter, sleep):
    adapter = make_adapter()
    with respx.mock(base_url=API) as mock:
        route = mock.post(PATH).mock(return_value=httpx.Response(503, text="unavailable"))
        with pytest.raises(InternalServerError) as info:
            await adapter.send(
                OutboundMessage(customer="+12065550142", text="hi"), idempotency_key="k"
            )
    assert route.call_count == 3  # RetryPolicy(max_attempts=3)
    assert len(sleep.calls) == 2
    assert info.value.status_code == 503 and info.value.error_code is None
    await adapter.aclose()


async def test_2xx_without_sid_is_an_outbound_error(make_adapter):
    adapter = make_adapter()
    with respx.mock(base_url=API) as mock:
        mock.post(PATH).mock(return_value=httpx.Response(201, text="<html>proxy</html>"))
        with pytest.raises(OutboundError):
            await adapter.send(
                OutboundMessage(customer="+12065550142", text="hi"), idempotency_key="k"
            )
    await adapter.aclose()


@pytest.mark.parametrize(
    "customer",
    ["2065550142", "+1 206 555 0142", "+1-206-555-0142", "+1206555014", "+999", "hello", "", "+"],
)
async def test_invalid_e164_makes_no_call(customer, make_adapter):
    adapter = make_adapter()
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        route = mock.post(PATH).mock(return_value=httpx.Response(201, json=CREATED))
        with pytest.raises(ValueError):
            await adapter.send(OutboundMessage(customer=customer, text="hi"), idempotency_key="k")
    assert route.call_count == 0
    assert adapter._client is None  # validation happens before the client exists


@pytest.mark.parametrize(
    "message",
    [
        OutboundMessage(customer="+12065550142", template=Template(name="t", language="en_US")),
        OutboundMessage(customer="+12065550142"),
        OutboundMessage(
            customer="+12065550142", media=[OutboundMedia(media_type="image", media_id="x")]
        ),
        OutboundMessage(
            customer="+12065550142",
            media=[
                OutboundMedia(media_type="image", url=f"https://c.example/{i}") for i in range(11)
            ],
        ),
    ],
    ids=["template", "empty", "media-id", "eleven-media"],
)
def test_unsendable_messages(message):
    settings = TwilioSmsSettings(**TwilioSmsAdapter.example_settings())
    with pytest.raises(ValueError):
        build_form(message, settings)


def test_single_media_caption_becomes_body():
    settings = TwilioSmsSettings(**TwilioSmsAdapter.example_settings())
    msg = OutboundMessage(
        customer="+12065550142",
        media=[OutboundMedia(media_type="image", url="https://c.example/a.jpg", caption="Receipt")],
    )
    assert build_form(msg, settings)["Body"] == "Receipt"


@pytest.mark.parametrize(
    "number", ["+12065550142", "+15550100001", "+442071838750", "+8613800138000"]
)
def test_valid_e164(number):
    assert validate_e164(number) == number


async def test_token_never_leaks(make_adapter, caplog):
    caplog.set_level(logging.DEBUG)
    adapter = make_adapter()
    with respx.mock(base_url=API) as mock:
        mock.post(PATH).mock(
            side_effect=[
                httpx.Response(500, json={"code": 20500, "message": "Internal", "status": 500}),
                httpx.Response(401, json={"code": 20003, "message": "Authenticate", "status": 401}),
            ]
        )
        with pytest.raises(OutboundError) as info:
            await adapter.send(
                OutboundMessage(customer="+12065550142", text="hi"), idempotency_key="k"
            )
    assert info.value.error_code == "20003"
    basic = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    for text in (
        str(info.value),
        repr(info.value),
        repr(adapter),
        repr(adapter.settings),
        str(adapter.settings),
        caplog.text,
        repr(adapter._client),
    ):
        assert TOKEN not in text and basic not in text
    assert "retrying" in caplog.text  # the logs were really captured
    await adapter.aclose()


def test_example_settings_are_valid_and_fake():
    ex = TwilioSmsAdapter.example_settings()
    s = TwilioSmsSettings(**ex)
    assert s.account_sid.startswith("AC") and len(s.account_sid) == 34
    assert s.auth_token.get_secret_value() == "example-auth-token"
    assert s.from_number == "+14155550100"  # the recordings' business number
    assert s.api_base_url == "https://api.twilio.com"


@pytest.mark.parametrize(
    "changes",
    [
        {"account_sid": "AC123"},
        {"account_sid": "XX" + "0" * 32},
        {"from_number": "4155550100"},
        {"from_number": None},  # and no other number
        {"from_number": None, "messaging_service_sid": "MG" + "ab" * 16},  # owns no number
        {"numbers": ["4155550100"]},
        {"messaging_service_sid": "MG1"},
        {"status_callback_url": "/relative"},
        {"unknown_key": 1},
    ],
)
def test_bad_settings(changes):
    with pytest.raises(ValidationError):
        TwilioSmsSettings(**{**TwilioSmsAdapter.example_settings(), **changes})


def test_settings_errors_do_not_echo_the_token():
    with pytest.raises(ValidationError) as info:
        TwilioSmsSettings(
            account_sid="bad", auth_token="super-secret-token", from_number="+15550100001"
        )
    assert "super-secret-token" not in str(info.value)
