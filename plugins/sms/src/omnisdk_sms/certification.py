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
