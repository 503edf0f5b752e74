"""X-Twilio-Signature: the code is the shared omnisdk_twilio_common module (not a copy), and
it verifies the vectors of Twilio's own SDK tests (twilio-python, MIT; provenance in the file)."""

from __future__ import annotations

from urllib.parse import urlencode

import omnisdk_twilio_common.signature as shared
import pytest
from omnisdk_cti_twilio import TwilioVoiceConnector, adapter

from omnisdk.adapters import WebhookRequest
from omnisdk.errors import SignatureError


def test_both_plugins_use_the_one_shared_module():
    assert adapter.signature is shared
    sms_signature = pytest.importorskip("omnisdk_sms.signature")  # when the SMS plugin is installed too
    assert sms_signature.verify is shared.verify and sms_signature.sign is shared.sign


def test_the_voice_webhook_vector_of_twilios_sdk_verifies(twilio_vectors):
    v = twilio_vectors[0]  # a voice webhook: CallSid, Digits, Caller
    assert "CallSid" in v["params"]
    settings = {**TwilioVoiceConnector.example_settings(), "auth_token": v["auth_token"]}
    connector = TwilioVoiceConnector("acme", settings)
    body = urlencode(v["params"]).encode()
    connector.verify(WebhookRequest("POST", v["url"], {"x-twilio-signature": v["header"]}, body))
    with pytest.raises(SignatureError):
        connector.verify(WebhookRequest("POST", v["url"], {"x-twilio-signature": v["header"]}, body + b"&x=1"))
