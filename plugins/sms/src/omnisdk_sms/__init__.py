"""omnisdk-sms: SMS and MMS through Twilio Programmable Messaging.

Inbound messages and delivery status callbacks arrive as Twilio webhooks
(``application/x-www-form-urlencoded``) and become CloudEvents; outbound messages go through
the Messages resource of the Twilio REST API.  See the package README for settings and URLs.
"""

from omnisdk_sms.adapter import TwilioSmsAdapter
from omnisdk_sms.settings import TwilioSmsSettings

__all__ = ["TwilioSmsAdapter", "TwilioSmsSettings"]
