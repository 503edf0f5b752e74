"""The omnisdk test kit's declaration for this plugin: tier and capabilities.

Used by ``omnisdk certify whatsapp`` and by ``tests/test_certification.py``.  Importing it
needs ``omnisdk[testkit]``; the plugin itself never imports it.
"""

from __future__ import annotations

from omnisdk.testkit import ChannelAdapterSuite
from omnisdk_whatsapp.adapter import WhatsAppAdapter


class WhatsAppSuite(ChannelAdapterSuite):
    """WhatsApp Cloud API: every capability, gold tier."""

    adapter = WhatsAppAdapter
    tier = "gold"
    capabilities = frozenset(
        {"inbound", "statuses", "send_text", "send_media", "send_template", "handshake"}
    )
    # The recorded statuses come from separate examples (their timestamps are not one
    # message's history), so the provider's order is declared: sent → delivered → read.
    status_order = (
        "message_status/sent",
        "message_status/with_tracker",
        "message_status/delivered",
        "message_status/read",
        "message_status/played",
        "message_status/group",
    )
    handshake_query = {
        "hub.mode": "subscribe",
        "hub.verify_token": WhatsAppAdapter.example_settings()["verify_token"],
        "hub.challenge": "1158201444",
    }


Suite = WhatsAppSuite
