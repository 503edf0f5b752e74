"""The omnisdk test kit's declaration for this plugin: tier and capabilities.

Used by ``omnisdk certify webchat`` and by ``tests/test_certification.py``.  Importing it needs
``omnisdk[testkit]``; the plugin itself never imports it.

There is no third-party provider: the "provider" is the widget protocol this plugin defines
(wire format v1, ``docs/webchat.md``).  Its recordings are frames in that format, and its
provider vectors are signed by an implementation independent of ``sign()`` (OpenSSL's HMAC,
``recordings/vectors/make_vectors.sh``; each vector's ``provenance`` is the documentation
of that OpenSSL command), published in the docs as the protocol's test vectors.
"""

from __future__ import annotations

from omnisdk.testkit import ChannelAdapterSuite
from omnisdk_webchat.adapter import WebchatAdapter


class WebchatSuite(ChannelAdapterSuite):
    """Web chat: visitors' frames (messages, attachments, read receipts, surveys), text and
    media deliveries.  No GET handshake, no batches (one frame per request), no templates."""

    adapter = WebchatAdapter
    tier = "gold"
    capabilities = frozenset({"inbound", "statuses", "send_text", "send_media"})
    # only the session secret signs (the session token's HS256 and, through the frame key,
    # X-Webchat-Signature); the delivery token is the core's credential towards the chat
    signing_secrets = ("session_secret",)
    # event times are the gateway's receive time: the browser's clock is not trusted
    times_from_payload = False
    # the widget sends "delivered" when a message arrives, "read" once it is seen
    status_order = ("receipt_delivered", "receipt_read")
    # the frame's "type" chooses what it becomes (protocol v1: message, receipt, typing, survey)
    dispatch_fields = {"frame type": ("type",)}
    # the delivery API's JSON body (omnisdk_webchat.outbound, docs/webchat.md "Replies reach the visitor: the delivery API"):
    # the session, the text, the message answered, media by URL with its caption and file name
    outbound_mapping = {
        "to": ("session",),
        "text": ("text",),
        "reply_to": ("reply_to",),
        "media.url": ("media", 0, "url"),
        "media.caption": ("media", 0, "caption"),
        "media.filename": ("media", 0, "filename"),
        # the visitor's browser loads media by http(s) URL; the chat has no media store, so
        # the delivery body has no media id, and a media item without a URL is refused
        # (ValueError) before any I/O
        "media.id": None,
    }
    # Authorization: Bearer <delivery_token>; the session secret is never sent
    credential_header = "authorization"


Suite = WebchatSuite
