"""The omnisdk test kit's declaration for this plugin: tier and capabilities.

Used by ``omnisdk certify sms`` and by ``tests/test_certification.py``.  Importing it needs
``omnisdk[testkit]``; the plugin itself never imports it.
"""

from __future__ import annotations

from omnisdk.testkit import ChannelAdapterSuite
from omnisdk_sms.adapter import TwilioSmsAdapter


class SmsSuite(ChannelAdapterSuite):
    """Twilio Programmable Messaging: text and MMS media, statuses; no templates, no
    handshake.  Gold tier."""

    adapter = TwilioSmsAdapter
    tier = "gold"
    capabilities = frozenset({"inbound", "statuses", "send_text", "send_media"})
    # Twilio signs with X-Twilio-Signature (twilio.com/docs/usage/webhooks/webhooks-security);
    # Twilio's own SDK test vectors are in recordings/vectors/.
    signature_scheme = "twilio"
    # SmsStatus is the older copy of MessageStatus (twilio.com/docs/messaging/guides/
    # track-outbound-message-status): both carry the word, so they change together.
    dispatch_fields = {"message status": [("MessageStatus",), ("SmsStatus",)]}
    # The form parameters of "Create a Message resource"
    # (https://www.twilio.com/docs/messaging/api/message-resource): To, Body, MediaUrl; an MMS
    # has no caption parameter, so a media item's caption is sent as the Body.
    outbound_mapping = {"to": "To", "text": "Body", "media.url": "MediaUrl", "media.caption": "Body",
                        # the Message resource's create parameters have no reply reference, no
                        # media id and no file name: media is MediaUrl only (api/messaging/message-resource)
                        "reply_to": None, "media.id": None, "media.filename": None}
    # HTTP Basic auth with the account SID and auth token (the same page's request examples:
    # curl -u $TWILIO_ACCOUNT_SID:$TWILIO_AUTH_TOKEN).
    credential_header = "authorization"
    # Twilio's status callbacks carry no timestamp, so the provider's order is declared.
    status_order = (
        "status_queued",
        "status_sent",
        "status_delivered",
        "status_read",
        "status_failed",
        "status_undelivered",
    )


Suite = SmsSuite
