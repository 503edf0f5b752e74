"""Shared fixtures of the email plugin tests: the adapter, the recordings, signed requests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from omnisdk import recordings
from omnisdk.adapters import WebhookRequest
from omnisdk_email import EmailAdapter, signature

URL = "https://hooks.example.com/webhooks/email/acme"
RECEIVED_AT = "2025-11-21T15:42:00Z"
RECEIVED_EPOCH = 1763739720
RAW = "message/rfc822"


@pytest.fixture
def adapter() -> EmailAdapter:
    return EmailAdapter("acme", EmailAdapter.example_settings())


@pytest.fixture(scope="session")
def recs() -> dict[str, recordings.Recording]:
    loaded = {r.name: r for r in recordings.load(EmailAdapter.recordings)}
    assert loaded, "no recordings shipped"
    return loaded


@pytest.fixture
def webhook(adapter: EmailAdapter) -> Callable[..., WebhookRequest]:
    """A raw-MIME WebhookRequest for a body, signed by the adapter unless ``signed=False``."""

    def make(body: bytes, *, signed: bool = True, content_type: str = RAW,
             headers: dict[str, str] | None = None) -> WebhookRequest:
        hdrs = {"content-type": content_type}
        if signed:  # signed at the receive time (adapter.sign() stamps the wall clock)
            secret = adapter.settings.webhook_secret.get_secret_value()
            hdrs.update(signature.sign_raw(secret, "msg_test", RECEIVED_EPOCH, body))
        hdrs.update(headers or {})
        return WebhookRequest("POST", URL, hdrs, body, received_at=RECEIVED_AT)

    return make


@pytest.fixture
def parse(adapter: EmailAdapter, webhook: Callable[..., WebhookRequest]) -> Callable[[bytes], list]:
    def run(body: bytes) -> list:
        request = webhook(body)
        adapter.verify(request)
        return adapter.parse(request)

    return run
