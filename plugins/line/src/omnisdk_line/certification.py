"""The omnisdk test kit's declaration for this plugin: tier and capabilities.

Used by ``omnisdk certify line`` and by ``tests/test_certification.py``.  Importing it needs
``omnisdk[testkit]``; the plugin itself never imports it.
"""

from __future__ import annotations

from omnisdk.testkit import ChannelAdapterSuite
from omnisdk_line.adapter import LineAdapter

SPLIT_RECORDINGS = (
    "message_text", "message_image_room", "message_video", "message_audio", "message_location",
    "message_sticker", "follow", "unfollow", "join", "leave", "postback_datetime", "beacon",
    "beacon_dm", "account_link", "message_text_group", "message_text_room", "postback_date",
    "postback_time", "postback_datetime_2", "member_joined", "member_left", "message_file",
    "unsend", "video_play_complete", "message_image_set", "message_text_redelivered",
    "unknown_message_edited", "unknown_undefined",
)
"""The recordings split from ``webhook_batch``, in the order of its events."""


class LineSuite(ChannelAdapterSuite):
    """LINE Messaging API: inbound (batched events), text and media pushes.  No statuses
    (LINE sends no delivery status for pushes), no templates, no GET handshake (the console's
    Verify is a signed POST with no events).  Gold tier."""

    adapter = LineAdapter
    tier = "gold"
    capabilities = frozenset({"inbound", "batches", "send_text", "send_media"})
    # LINE signs with X-Line-Signature, base64 HMAC-SHA256 of the body keyed with the channel
    # secret (https://developers.line.biz/en/reference/messaging-api/#signature-validation);
    # LINE's SDKs' own signed requests are in recordings/vectors/.
    signature_scheme = "line"
    signing_secrets = ("channel_secret",)  # the access token signs nothing
    # One webhook body carries several events (https://developers.line.biz/en/reference/
    # messaging-api/#request-body: "events" is an array).
    batch_path = [("events",)]
    # The values that choose what an event becomes (#webhook-event-objects, #message-event,
    # #source-user / #source-group / #source-room).
    dispatch_fields = {
        "event type": ("events", "*", "type"),
        "message type": ("events", "*", "message", "type"),
        "source type": ("events", "*", "source", "type"),
    }
    # Where each sent field goes in the JSON body of POST /v2/bot/message/push
    # (#send-push-message, #text-message, #image-message): "to", the text message's "text",
    # the image's originalContentUrl; an image has no caption field, so the caption is the
    # text message pushed right after it.
    outbound_mapping = {
        "to": ("to",),
        "text": ("messages", 0, "text"),
        "media.url": ("messages", 0, "originalContentUrl"),
        "media.caption": ("messages", 1, "text"),
        # an image message takes URLs only (#image-message; media_id names stickers), LINE
        # cannot push files (#message-objects), and a quote takes a quoteToken, not a message
        # id (#text-message): omnisdk_line.outbound
        "media.id": None,
        "media.filename": None,
        "reply_to": None,
    }
    # "Authorization: Bearer {channel access token}" (#send-push-message request headers);
    # the channel secret is never sent.
    credential_header = "authorization"
    # webhook_batch is line-bot-sdk-python's multi-event body; every other recording is one of
    # its events in a body of its own (recordings/SOURCES.md): the same provider events, with
    # the same webhookEventId, on purpose.
    redeliveries = {name: "webhook_batch" for name in SPLIT_RECORDINGS}


Suite = LineSuite
