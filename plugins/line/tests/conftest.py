"""Shared fixtures of the line plugin tests: the adapter, the recordings, signed requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from omnisdk import recordings
from omnisdk.adapters import WebhookRequest
from omnisdk_line import LineAdapter

URL = "https://hooks.example.com/webhooks/line/acme"
JSON = "application/json"


@pytest.fixture
def adapter() -> LineAdapter:
    return LineAdapter("acme", LineAdapter.example_settings())


@pytest.fixture(scope="session")
def recs() -> dict[str, recordings.Recording]:
    loaded = {r.name: r for r in recordings.load(LineAdapter.recordings)}
    assert loaded, "no recordings shipped"
    return loaded


@pytest.fixture
def webhook(adapter: LineAdapter) -> Callable[..., WebhookRequest]:
    """A WebhookRequest for a body, signed by the adapter unless ``signed=False``."""

    def make(body: bytes, *, signed: bool = True, headers: dict[str, str] | None = None) -> WebhookRequest:
        hdrs = {"content-type": JSON}
        if signed:
            hdrs.update({k.lower(): v for k, v in adapter.sign(URL, body, JSON).items()})
        hdrs.update(headers or {})
        return WebhookRequest("POST", URL, hdrs, body, received_at="2030-01-01T00:00:00Z")

    return make
