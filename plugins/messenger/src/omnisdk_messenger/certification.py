"""The omnisdk test kit's declaration for this plugin: tier and capabilities.

Used by ``omnisdk certify messenger`` and by ``tests/test_certification.py``.  Importing it
needs ``omnisdk[testkit]``; the plugin itself never imports it.
"""

from __future__ import annotations

from omnisdk.testkit import ChannelAdapterSuite
from omnisdk_messenger.adapter import MessengerAdapter

_MESSAGING = ("entry", "*", "messaging", "*")


class MessengerSuite(ChannelAdapterSuite):
    """Messenger Platform: Page webhooks (batched entries and items), delivery statuses, the
    GET handshake, text and media sends.  No templates (Messenger has none to send).  Gold."""

    adapter = MessengerAdapter
    tier = "gold"
    capabilities = frozenset({"inbound", "statuses", "batches", "handshake", "send_text", "send_media"})
    # Meta signs with X-Hub-Signature-256 (developers.facebook.com/docs/graph-api/webhooks/
    # getting-started, "Validating payloads"); a request Meta itself signed is in
    # recordings/vectors/.
    signature_scheme = "meta_sha256"
    signing_secrets = ("app_secret",)  # verify_token and page_access_token sign nothing
    # One webhook may carry several entries, each several messaging items
    # (developers.facebook.com/docs/messenger-platform/webhooks, "Event notifications":
    # "entry" is an array, "messaging" an array; Meta batches them).
    batch_path = [("entry",), ("entry", "*", "messaging")]
    # The values that choose what a body or an item becomes: the webhook object
    # (#event-notifications: "page"), the attachment type (reference/webhook-events/messages)
    # and the reaction action (reference/webhook-events/message-reactions).
    dispatch_fields = {
        "webhook object": ("object",),
        "attachment type": (*_MESSAGING, "message", "attachments", "*", "type"),
        "reaction action": (*_MESSAGING, "reaction", "action"),
    }
    # Where each sent field goes in the JSON body of POST /{version}/{page-id}/messages
    # (reference/send-api: recipient.id, message.text, an attachment's payload.url; an image
    # with a caption is a generic template whose one element has image_url and title,
    # reference/templates/generic, since an attachment has no caption field).
    outbound_mapping = {
        "to": ("recipient", "id"),
        "text": ("message", "text"),
        "media.url": [("message", "attachment", "payload", "url"),
                      ("message", "attachment", "payload", "elements", 0, "image_url")],
        "media.caption": ("message", "attachment", "payload", "elements", 0, "title"),
        # a saved attachment: "payload": {"attachment_id"} (send-messages#sending_attachments)
        "media.id": ("message", "attachment", "payload", "attachment_id"),
        # the Send API's attachment payload has no file name field (reference/send-api#payload)
        "media.filename": None,
        # the Send API has no field naming the message answered (reference/send-api#message)
        "reply_to": None,
    }
    # "Authorization: Bearer {page access token}": the token never goes in the URL.
    credential_header = "authorization"
    handshake_query = {
        "hub.mode": "subscribe",
        "hub.verify_token": MessengerAdapter.example_settings()["verify_token"],
        "hub.challenge": "1158201444",
    }
    # The recorded deliveries are separate documentation examples: only "delivered" exists
    # (reads are watermarks, see translate.py), so the order is theirs as listed.
    status_order = ("delivery/mids", "batch")


Suite = MessengerSuite
