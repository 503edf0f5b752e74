"""Shared fixtures of the apple_business plugin tests: the adapter, the recordings, Apple's requests."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import orjson
import pytest

from omnisdk import recordings
from omnisdk.adapters import WebhookRequest
from omnisdk_apple_business import AppleBusinessAdapter
from omnisdk_apple_business.settings import decode_secret
from omnisdk_apple_business.tokens import make_token

URL = "https://hooks.example.com/webhooks/apple_business/acme"
RECEIVED_AT = "2030-01-01T00:00:00Z"
IAT = 1893456000  # RECEIVED_AT in epoch seconds
SOURCE = "/apple_business/acme"
BUSINESS = "00000000-0000-4000-8000-00000000b001"
CUSTOMER = "urn:mbid:AQAAY0xhbXBsZUN1c3RvbWVyT3BhcXVlSWQwMDAx"


@pytest.fixture
def adapter() -> AppleBusinessAdapter:
    return AppleBusinessAdapter("acme", AppleBusinessAdapter.example_settings())


@pytest.fixture(scope="session")
def recs() -> dict[str, recordings.Recording]:
    loaded = {r.name: r for r in recordings.load(AppleBusinessAdapter.recordings)}
    assert loaded, "no recordings shipped"
    return loaded


def token(adapter: AppleBusinessAdapter, *, iat: int = IAT, audience: str | None = None) -> str:
    key = decode_secret(adapter.settings.msp_secret.get_secret_value())
    return make_token(key, adapter.settings.msp_id, iat=iat, audience=audience or adapter.settings.msp_id)


@pytest.fixture
def jwt_for() -> Callable[..., str]:
    """``jwt_for(adapter, iat=..., audience=...)``: a JWT shaped like Apple's."""
    return token


@pytest.fixture
def apple(adapter: AppleBusinessAdapter) -> Callable[..., WebhookRequest]:
    """A request as Apple sends it: gzipped body, JWT, id headers from the body."""

    def make(body: bytes, *, gzipped: bool = True, headers: dict[str, str] | None = None,
             auth: str | None = None) -> WebhookRequest:
        doc = orjson.loads(body)
        hdrs = {"content-type": "application/json",
                "authorization": auth if auth is not None else "Bearer " + token(adapter),
                "id": doc["id"], "source-id": doc["sourceId"], "destination-id": doc["destinationId"],
                "capability-list": "LIST,TIME,QUICK", "device-agent": "iPhone OS"}
        if gzipped:
            hdrs["content-encoding"] = "gzip"
        hdrs.update(headers or {})
        return WebhookRequest("POST", URL, hdrs, gzip.compress(body) if gzipped else body,
                              received_at=RECEIVED_AT)

    return make
