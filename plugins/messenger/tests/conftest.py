"""Shared fixtures of the messenger plugin tests: the adapter, the recordings, signed requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from omnisdk import recordings
from omnisdk.adapters import WebhookRequest
from omnisdk_messenger import MessengerAdapter

URL = "https://hooks.example.com/webhooks/messenger/acme"
JSON = "application/json"
PAGE = "105000000000001"
PSID = "6000000000000001"
SOURCE = "/messenger/acme"


@pytest.fixture
def adapter() -> MessengerAdapter:
    return MessengerAdapter("acme", MessengerAdapter.example_settings())


@pytest.fixture(scope="session")
def recs() -> dict[str, recordings.Recording]:
    loaded = {r.name: r for r in recordings.load(MessengerAdapter.recordings)}
    assert loaded, "no recordings shipped"
    return loaded


@pytest.fixture
def webhook(adapter: MessengerAdapter) -> Callable[..., WebhookRequest]:
    """A WebhookRequest for a body, signed by the adapter unless ``signed=False``."""

    def make(body: bytes, *, signed: bool = True, headers: dict[str, str] | None = None,
             method: str = "POST", query: dict[str, str] | None = None) -> WebhookRequest:
        hdrs = {"content-type": JSON}
        if signed:
            hdrs.update({k.lower(): v for k, v in adapter.sign(URL, body, JSON).items()})
        hdrs.update(headers or {})
        return WebhookRequest(method, URL, hdrs, body, query or {}, received_at="2030-01-01T00:00:00Z")

    return make
