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
        {"inbound", "statuses", "send_text", "send_media", "send_template", "handshake", "batches"}
    )
    # One webhook may carry several messages and statuses (value.messages[], value.statuses[]
    # in /whatsapp/cloud-api/webhooks/components), and Meta batches changes and entries.
    batch_path = [
        ("entry",),
        ("entry", "*", "changes"),
        ("entry", "*", "changes", "*", "value", "messages"),
        ("entry", "*", "changes", "*", "value", "statuses"),
    ]
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
    # Meta signs with X-Hub-Signature-256 (developers.facebook.com/docs/graph-api/webhooks/
    # getting-started, "Validating payloads"); the provider's own signed request is in
    # recordings/vectors/.
    signature_scheme = "meta_sha256"
    signing_secrets = ("app_secret",)  # verify_token and access_token do not sign webhooks
    # The values that choose what a change becomes (/whatsapp/cloud-api/webhooks/components).
    dispatch_fields = {
        "change field": ("entry", "*", "changes", "*", "field"),
        "message type": ("entry", "*", "changes", "*", "value", "messages", "*", "type"),
        "status word": ("entry", "*", "changes", "*", "value", "statuses", "*", "status"),
        "system type": ("entry", "*", "changes", "*", "value", "messages", "*", "system", "type"),
    }
    # Where each sent field goes in the JSON body of POST /{version}/{phone_number_id}/messages
    # (developers.facebook.com/docs/whatsapp/cloud-api/reference/messages: "to" as digits,
    # text.body, the media object's link and caption, template.name, template.language.code).
    outbound_mapping = {
        "to": ("to",),
        "text": ("text", "body"),
        "media.url": ("image", "link"),
        "media.caption": ("image", "caption"),
        "template.name": ("template", "name"),
        "template.language": ("template", "language", "code"),
    }
    # The access token goes as "Authorization: Bearer <access token>" (the same page's request
    # examples); app_secret and verify_token are never sent.
    credential_header = "authorization"
    handshake_query = {
        "hub.mode": "subscribe",
        "hub.verify_token": WhatsAppAdapter.example_settings()["verify_token"],
        "hub.challenge": "1158201444",
    }


Suite = WhatsAppSuite
