"""Shared fixtures of the sms plugin tests: the adapter, the recordings, signed requests."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from omnisdk import recordings
from omnisdk.adapters import WebhookRequest
from omnisdk_sms import TwilioSmsAdapter

URL = "https://hooks.example.com/webhooks/sms/acme"
RECEIVED_AT = "2025-11-21T15:42:00Z"
FORM = "application/x-www-form-urlencoded"
VECTORS = Path(__file__).parent / "data" / "twilio_signature_vectors.json"
sys.path.insert(0, str(Path(__file__).parent))  # test_messaging_profiles.py reuses the scenarios' Rig


@pytest.fixture
def adapter() -> TwilioSmsAdapter:
    return TwilioSmsAdapter("acme", TwilioSmsAdapter.example_settings())


@pytest.fixture(scope="session")
def recs() -> dict[str, recordings.Recording]:
    loaded = {r.name: r for r in recordings.load(TwilioSmsAdapter.recordings)}
    assert loaded, "no recordings shipped"
    return loaded


@pytest.fixture(scope="session")
def twilio_vectors() -> list[dict]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))["twilio_x_twilio_signature"]


@pytest.fixture
def webhook(adapter: TwilioSmsAdapter) -> Callable[..., WebhookRequest]:
    """Build a WebhookRequest for a body, signed by the adapter unless ``signed=False``."""

    def make(
        body: bytes,
        *,
        url: str = URL,
        signed: bool = True,
        method: str = "POST",
        headers: dict[str, str] | None = None,
    ) -> WebhookRequest:
        hdrs = {"content-type": FORM}
        if signed:
            hdrs.update({k.lower(): v for k, v in adapter.sign(url, body, FORM).items()})
        hdrs.update(headers or {})
        return WebhookRequest(method, url, hdrs, body, received_at=RECEIVED_AT)

    return make
