"""The omnisdk test kit's declaration for this plugin: tier and capabilities.

Used by ``omnisdk certify cti_twilio`` and by ``tests/test_certification.py``.  Importing it
needs ``omnisdk[testkit]``; the plugin itself never imports it.
"""

from __future__ import annotations

from omnisdk.testkit import CTIConnectorSuite
from omnisdk.testkit.connector.cti import KIT_FROM
from omnisdk_cti_twilio.adapter import TwilioVoiceConnector


class TwilioVoiceSuite(CTIConnectorSuite):
    """Twilio Programmable Voice: incoming and placed calls, status and recording callbacks,
    click-to-dial.  Gold tier."""

    connector = TwilioVoiceConnector
    tier = "gold"
    capabilities = frozenset({"inbound", "place_call"})
    # the kit places its call from its own number: the account owns it too
    account_settings = {**TwilioVoiceConnector.example_settings(),
                        "numbers": ["+14155550100", KIT_FROM]}
    # Twilio signs the public URL it calls (twilio.com/docs/usage/webhooks/webhooks-security)
    webhook_url = "https://omnisdk.example.com/webhooks/cti_twilio/acme"
    # ... with X-Twilio-Signature over the URL and the sorted form parameters: the kit's own
    # signer of that published scheme judges respelled bodies (parameter order, %20 for +)
    signature_scheme = "twilio"
    # X-Twilio-Signature is keyed by the Auth Token; the API key secret signs softphone tokens
    signing_secrets = frozenset({"auth_token"})
    # the incoming-call request carries no timestamp (twilio.com/docs/usage/webhooks/voice-webhooks):
    # its event's time is the gateway's receipt
    times_from_payload = False
    # Twilio's order within each call (recording names sort in it: <call>_<n>_<what>)
    call_order = None


Suite = TwilioVoiceSuite
