"""The plugin test kit against this plugin, at its declared tier (see omnisdk_cti_twilio.certification)."""

from __future__ import annotations

from omnisdk_cti_twilio.certification import TwilioVoiceSuite


class TestTwilioVoiceCertification(TwilioVoiceSuite):
    pass
