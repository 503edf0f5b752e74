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
    # text.body and text.preview_url, context.message_id for a reply, the media object's link
    # or id, caption and (documents) filename, template.name, template.language.code and
    # template.components; /messages/interactive-reply-buttons-messages,
    # /messages/interactive-list-messages, /messages/location-messages,
    # /messages/reaction-messages, /messages/contacts-messages for the rest).
    outbound_mapping = {
        "to": ("to",),
        "text": ("text", "body"),
        "reply_to": ("context", "message_id"),
        "preview_url": ("text", "preview_url"),
        "media.url": [("image", "link"), ("document", "link")],
        "media.caption": ("image", "caption"),
        "media.id": ("image", "id"),
        "media.filename": ("document", "filename"),
        "template.name": ("template", "name"),
        "template.language": ("template", "language", "code"),
        "template.components": ("template", "components"),
        "buttons.id": ("interactive", "action", "buttons", "*", "reply", "id"),
        "buttons.title": ("interactive", "action", "buttons", "*", "reply", "title"),
        "list_menu.button": ("interactive", "action", "button"),
        "list_menu.section.title": ("interactive", "action", "sections", "*", "title"),
        "list_menu.row.id": ("interactive", "action", "sections", "*", "rows", "*", "id"),
        "list_menu.row.title": ("interactive", "action", "sections", "*", "rows", "*", "title"),
        "list_menu.row.description": ("interactive", "action", "sections", "*", "rows", "*", "description"),
        "location.latitude": ("location", "latitude"),
        "location.longitude": ("location", "longitude"),
        "location.name": ("location", "name"),
        "location.address": ("location", "address"),
        "reaction.message_id": ("reaction", "message_id"),
        "reaction.emoji": ("reaction", "emoji"),
        "contacts.name": ("contacts", "*", "name", "formatted_name"),
        "contacts.phone": ("contacts", "*", "phones", "*", "phone"),
        "contacts.email": ("contacts", "*", "emails", "*", "email"),
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
