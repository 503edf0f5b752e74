"""Shared fixtures of the omnisdk-whatsapp tests (real recorded payloads, no network)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from omnisdk.adapters import WebhookRequest
from omnisdk.recordings import Recording, load
from omnisdk_whatsapp import WhatsAppAdapter, WhatsAppSettings

RECEIVED_AT = "2030-01-02T03:04:05Z"

# App secret of the meta_x_hub_signature_256 vector (see test_signature.py), already reset by
# its owner: it signs recordings/real_text_message.json.
VECTOR_APP_SECRET = "1222e786b144d0e85b9f365372d93676"


@pytest.fixture(scope="session")
def recordings() -> dict[str, Recording]:
    """Every recorded body shipped with the plugin, by name (``file`` or ``file/key``)."""
    return {r.name: r for r in load(WhatsAppAdapter.recordings)}


@pytest.fixture
def settings() -> WhatsAppSettings:
    return WhatsAppSettings(**WhatsAppAdapter.example_settings())


@pytest.fixture
def adapter(settings: WhatsAppSettings) -> WhatsAppAdapter:
    return WhatsAppAdapter("acme", settings)


@pytest.fixture
def vector_adapter() -> WhatsAppAdapter:
    s = dict(WhatsAppAdapter.example_settings(), app_secret=VECTOR_APP_SECRET)
    return WhatsAppAdapter("pywa", WhatsAppSettings(**s))


@pytest.fixture
def make_request() -> Callable[..., WebhookRequest]:
    def make(
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        *,
        method: str = "POST",
        query: Mapping[str, str] | None = None,
    ) -> WebhookRequest:
        return WebhookRequest(
            method=method,
            url="https://example.test/webhooks/whatsapp/acme",
            headers={k.lower(): v for k, v in (headers or {}).items()},
            body=body,
            query=dict(query or {}),
            received_at=RECEIVED_AT,
        )

    return make
