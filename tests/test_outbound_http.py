"""The base provider HTTP client: retries, Retry-After, idempotency, error mapping, no leaks."""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from omnisdk.outbound.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OutboundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    UnprocessableEntityError,
    status_error_class,
)
from omnisdk.outbound.http import ProviderClient, RetryPolicy, parse_retry_after

BASE = "https://api.provider.test/v1"
URL = f"{BASE}/messages"
TOKEN = "EAAG-super-secret-token-0123456789"
AUTH = f"Bearer {TOKEN}"


class FakeSleep:
    """Records every wait instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def mock() -> respx.MockRouter:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def make_client(sleep: FakeSleep, **kwargs) -> ProviderClient:
    kwargs.setdefault("headers", {"Authorization": AUTH, "User-Agent": "omnisdk-test"})
    return ProviderClient(provider="acme", base_url=BASE, sleep=sleep, **kwargs)


@pytest.fixture
async def client(sleep: FakeSleep) -> AsyncIterator[ProviderClient]:
    c = make_client(sleep)
    yield c
    await c.aclose()


# --- success ----------------------------------------------------------------------------------


async def test_success_returns_response_and_sends_default_headers(
    mock: respx.MockRouter, client: ProviderClient, sleep: FakeSleep
) -> None:
    route = mock.post(URL).mock(return_value=httpx.Response(200, json={"id": "m-1"}))
    resp = await client.request("POST", "/messages", json={"to": "+14155550100"})
    assert resp.status_code == 200
    assert resp.json() == {"id": "m-1"}
    assert route.call_count == 1
    sent = route.calls.last.request
    assert sent.headers["authorization"] == AUTH
    assert sent.headers["user-agent"] == "omnisdk-test"
    assert json.loads(sent.content) == {"to": "+14155550100"}
    assert sleep.calls == []


async def test_no_idempotency_header_without_key(mock: respx.MockRouter, client: ProviderClient) -> None:
    route = mock.post(URL).mock(return_value=httpx.Response(201))
    await client.request("POST", "/messages", json={})
    assert "idempotency-key" not in route.calls.last.request.headers


async def test_per_request_headers_and_params(mock: respx.MockRouter, client: ProviderClient) -> None:
    route = mock.get(f"{BASE}/media").mock(return_value=httpx.Response(200))
    await client.request("GET", "/media", params={"id": "42"}, headers={"X-Extra": "1"})
    req = route.calls.last.request
    assert req.url.params["id"] == "42"
    assert req.headers["x-extra"] == "1"
    assert req.headers["authorization"] == AUTH


# --- 429 and Retry-After ----------------------------------------------------------------------


async def test_429_retry_after_seconds_then_success_same_idempotency_key(
    mock: respx.MockRouter, client: ProviderClient, sleep: FakeSleep
) -> None:
    route = mock.post(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "3"}),
            httpx.Response(200, json={"ok": True}),
        ]
    )
    resp = await client.request("POST", "/messages", json={"a": 1}, idempotency_key="key-123")
    assert resp.status_code == 200
    assert route.call_count == 2
    assert sleep.calls == [3.0]
    keys = [c.request.headers.get("Idempotency-Key") for c in route.calls]
    assert keys == ["key-123", "key-123"]


async def test_custom_idempotency_header(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, idempotency_header="X-Request-Key")
    try:
        route = mock.post(URL).mock(
            side_effect=[httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200)]
        )
        await client.request("POST", "/messages", json={}, idempotency_key="k-9")
    finally:
        await client.aclose()
    assert route.call_count == 2
    for call in route.calls:
        assert call.request.headers["X-Request-Key"] == "k-9"
        assert "Idempotency-Key" not in call.request.headers


async def test_retry_after_http_date(mock: respx.MockRouter, client: ProviderClient, sleep: FakeSleep) -> None:
    when = datetime.now(UTC) + timedelta(seconds=5)
    route = mock.post(URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}),
            httpx.Response(200),
        ]
    )
    await client.request("POST", "/messages", json={})
    assert route.call_count == 2
    assert len(sleep.calls) == 1
    assert 3 < sleep.calls[0] <= 5.5


def test_parse_retry_after_http_date_exact() -> None:
    now = 1_697_043_223.0
    header = email.utils.format_datetime(datetime.fromtimestamp(now + 5, UTC), usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(5.0)
    past = email.utils.format_datetime(datetime.fromtimestamp(now - 30, UTC), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3", 3.0), (" 7 ", 7.0), ("0", 0.0), ("1.5", 1.5), ("-4", 0.0), (None, None), ("", None), ("soon", None)],
)
def test_parse_retry_after_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=time.time()) == expected


async def test_retry_after_above_cap_fails_at_once(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, retry=RetryPolicy(max_attempts=4, max_retry_after=10))
    route = mock.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "3600"}))
    try:
        with pytest.raises(RateLimitError) as info:
            await client.request("POST", "/messages", json={})
    finally:
        await client.aclose()
    assert route.call_count == 1
    assert sleep.calls == []
    assert info.value.status_code == 429
    assert info.value.retry_after == 3600.0


async def test_429_attempts_exhausted(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, retry=RetryPolicy(max_attempts=3))
    route = mock.post(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "2"}))
    try:
        with pytest.raises(RateLimitError):
            await client.request("POST", "/messages", json={})
    finally:
        await client.aclose()
    assert route.call_count == 3
    assert sleep.calls == [2.0, 2.0]


# --- 5xx and back-off -------------------------------------------------------------------------


async def test_503_exhausts_attempts_with_capped_backoff(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    policy = RetryPolicy(max_attempts=4, initial_backoff=0.5, max_backoff=1.5)
    client = make_client(sleep, retry=policy)
    route = mock.post(URL).mock(return_value=httpx.Response(503))
    try:
        with pytest.raises(InternalServerError) as info:
            await client.request("POST", "/messages", json={})
    finally:
        await client.aclose()
    assert route.call_count == 4
    assert info.value.status_code == 503
    assert len(sleep.calls) == 3
    for attempt, slept in enumerate(sleep.calls, start=1):
        cap = min(policy.max_backoff, policy.initial_backoff * 2 ** (attempt - 1))
        assert 0 <= slept <= cap, (attempt, slept, cap)


async def test_single_attempt_policy_does_not_retry(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, retry=RetryPolicy(max_attempts=1))
    route = mock.post(URL).mock(return_value=httpx.Response(500))
    try:
        with pytest.raises(InternalServerError):
            await client.request("POST", "/messages", json={})
    finally:
        await client.aclose()
    assert route.call_count == 1
    assert sleep.calls == []


async def test_502_then_success(mock: respx.MockRouter, client: ProviderClient, sleep: FakeSleep) -> None:
    route = mock.post(URL).mock(side_effect=[httpx.Response(502), httpx.Response(200)])
    resp = await client.request("POST", "/messages", json={})
    assert resp.status_code == 200
    assert route.call_count == 2
    assert len(sleep.calls) == 1


# --- 4xx mapping ------------------------------------------------------------------------------


async def test_400_maps_to_bad_request_with_code_and_request_id(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, error_code=lambda b: str(b["error"]["code"]))
    body_secret = "card-number-4111111111111111"
    route = mock.post(URL).mock(
        return_value=httpx.Response(400, json={"error": {"code": 100}}, headers={"x-request-id": "req-1"})
    )
    try:
        with pytest.raises(BadRequestError) as info:
            await client.request("POST", "/messages", json={"text": body_secret})
    finally:
        await client.aclose()
    err = info.value
    assert route.call_count == 1
    assert sleep.calls == []
    assert err.status_code == 400
    assert err.error_code == "100"
    assert err.request_id == "req-1"
    assert err.provider == "acme"
    text = str(err) + repr(err)
    assert TOKEN not in text
    assert body_secret not in text
    assert "req-1" in str(err)


async def test_error_code_extractor_failure_is_tolerated(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, error_code=lambda b: str(b["error"]["code"]))
    mock.post(URL).mock(return_value=httpx.Response(400, text="<html>bad</html>"))
    try:
        with pytest.raises(BadRequestError) as info:
            await client.request("POST", "/messages", json={})
    finally:
        await client.aclose()
    assert info.value.error_code is None
    assert info.value.request_id is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
    ],
)
async def test_non_retryable_4xx_map_to_classes(
    mock: respx.MockRouter, client: ProviderClient, sleep: FakeSleep, status: int, cls: type
) -> None:
    route = mock.post(URL).mock(return_value=httpx.Response(status))
    with pytest.raises(cls) as info:
        await client.request("POST", "/messages", json={})
    assert type(info.value) is cls
    assert info.value.status_code == status
    assert route.call_count == 1
    assert sleep.calls == []


async def test_408_is_retried(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, retry=RetryPolicy(max_attempts=3))
    route = mock.post(URL).mock(return_value=httpx.Response(408))
    try:
        with pytest.raises(RequestTimeoutError):
            await client.request("POST", "/messages", json={})
    finally:
        await client.aclose()
    assert route.call_count == 3
    assert len(sleep.calls) == 2


async def test_unmapped_status_is_base_status_error(
    mock: respx.MockRouter, client: ProviderClient, sleep: FakeSleep
) -> None:
    route = mock.post(URL).mock(return_value=httpx.Response(418))
    with pytest.raises(APIStatusError) as info:
        await client.request("POST", "/messages", json={})
    assert type(info.value) is APIStatusError
    assert info.value.status_code == 418
    assert route.call_count == 1
    assert sleep.calls == []


# --- transport errors -------------------------------------------------------------------------


async def test_connect_error_is_retried_then_raised(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, retry=RetryPolicy(max_attempts=3))
    route = mock.post(URL).mock(side_effect=httpx.ConnectError("refused"))
    try:
        with pytest.raises(APIConnectionError) as info:
            await client.request("POST", "/messages", json={})
    finally:
        await client.aclose()
    assert not isinstance(info.value, APITimeoutError)
    assert info.value.provider == "acme"
    assert route.call_count == 3
    assert len(sleep.calls) == 2


async def test_connect_error_then_success(mock: respx.MockRouter, client: ProviderClient) -> None:
    route = mock.post(URL).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(200)])
    resp = await client.request("POST", "/messages", json={}, idempotency_key="k")
    assert resp.status_code == 200
    assert [c.request.headers["Idempotency-Key"] for c in route.calls] == ["k", "k"]


async def test_read_timeout_maps_to_timeout_error(mock: respx.MockRouter, sleep: FakeSleep) -> None:
    client = make_client(sleep, retry=RetryPolicy(max_attempts=2))
    route = mock.post(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    try:
        with pytest.raises(APITimeoutError) as info:
            await client.request("POST", "/messages", json={})
    finally:
        await client.aclose()
    assert isinstance(info.value, APIConnectionError)
    assert route.call_count == 2


# --- no secrets in repr or logs ---------------------------------------------------------------


async def test_repr_hides_token(client: ProviderClient) -> None:
    text = repr(client)
    assert "acme" in text
    assert TOKEN not in text
    assert "Bearer" not in text


async def test_logs_during_retries_hold_no_token(
    mock: respx.MockRouter, client: ProviderClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    mock.post(URL).mock(
        side_effect=[
            httpx.Response(503, headers={"x-request-id": "r-1"}),
            httpx.Response(429, headers={"Retry-After": "1"}),
            httpx.Response(200),
        ]
    )
    await client.request("POST", "/messages", json={"secret": TOKEN})
    retry_records = [r for r in caplog.records if r.name == "omnisdk.outbound"]
    assert len(retry_records) == 2  # one per retry: the log is there, and it is clean
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
        assert TOKEN not in str(record.__dict__)


# --- error classes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (408, RequestTimeoutError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (502, InternalServerError),
        (599, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_status_error_class(status: int, cls: type) -> None:
    assert status_error_class(status) is cls


def test_error_hierarchy() -> None:
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, OutboundError)
    assert issubclass(RateLimitError, APIStatusError)
    assert issubclass(APIStatusError, OutboundError)
