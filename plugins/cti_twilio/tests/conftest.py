"""Shared fixtures of the cti_twilio tests: the connector, the recordings, signed requests."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from omnisdk_cti_twilio import TwilioVoiceConnector

from omnisdk import recordings
from omnisdk.adapters import WebhookRequest

sys.path.insert(0, str(Path(__file__).parent))  # twilio_voice_rig (tests import with importlib mode)
SETTINGS = TwilioVoiceConnector.example_settings()
URL = SETTINGS["webhook_url"]
RECEIVED_AT = "2026-12-01T09:12:00Z"
FORM = "application/x-www-form-urlencoded"
VECTORS = Path(__file__).parent / "data" / "twilio_signature_vectors.json"


@pytest.fixture
def connector() -> TwilioVoiceConnector:
    return TwilioVoiceConnector("acme", SETTINGS)


@pytest.fixture(scope="session")
def recs() -> dict[str, recordings.Recording]:
    loaded = {r.name: r for r in recordings.load(TwilioVoiceConnector.recordings)}
    assert loaded, "no recordings shipped"
    return loaded


@pytest.fixture(scope="session")
def twilio_vectors() -> list[dict]:
    return json.loads(VECTORS.read_text(encoding="utf-8"))["twilio_x_twilio_signature"]


@pytest.fixture
def webhook(connector: TwilioVoiceConnector) -> Callable[..., WebhookRequest]:
    """A WebhookRequest for a body, signed by the connector unless ``signed=False``."""

    def make(body: bytes, *, url: str = URL, signed: bool = True, query: dict[str, str] | None = None) -> WebhookRequest:
        hdrs = {"content-type": FORM}
        if signed:
            hdrs.update({k.lower(): v for k, v in connector.sign(url, body, FORM).items()})
        return WebhookRequest("POST", url, hdrs, body, query=query or {}, received_at=RECEIVED_AT)

    return make
