"""omnisdk CTI connector for Twilio Programmable Voice: incoming calls answered with TwiML,
status and recording callbacks as ``io.omnisdk.call.*`` events, click-to-dial and call control
through the Calls REST API, and agents' softphone access tokens.

``X-Twilio-Signature`` is checked by :mod:`omnisdk_twilio_common.signature`, shared with the
``sms`` plugin.
"""

from omnisdk_cti_twilio.adapter import TwilioVoiceConnector
from omnisdk_cti_twilio.settings import TwilioVoiceSettings

__all__ = ["TwilioVoiceConnector", "TwilioVoiceSettings"]
