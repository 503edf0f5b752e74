"""``OutboundMessage`` → Send API request body, and the response → message id.

Request (https://developers.facebook.com/docs/messenger-platform/reference/send-api/):
``POST https://graph.facebook.com/{graph_version}/{PAGE_ID}/messages`` with
``Authorization: Bearer {page access token}`` (never ``access_token`` in the URL, so tokens
stay out of access logs) and a JSON body::

    {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": {...}}

plus ``"tag": "HUMAN_AGENT"`` with ``"messaging_type": "MESSAGE_TAG"`` when
:func:`omnisdk_messenger.window.messaging_type` says so.  ``message`` is one of
(https://developers.facebook.com/docs/messenger-platform/reference/send-api/#message,
https://developers.facebook.com/docs/messenger-platform/send-messages#sending_attachments):

- text: ``{"text"}`` (at most 2,000 characters);
- one attachment by public HTTPS URL: ``{"attachment": {"type": "image"|"video"|"audio"|"file",
  "payload": {"url", "is_reusable": false}}}``, or by a saved attachment id
  (``OutboundMedia.media_id``): ``"payload": {"attachment_id"}``;
- an image with a caption (or with the message's text, used as its caption): a Send API
  attachment has no caption field, so it goes as a generic template with one element,
  ``{"title": caption, "image_url": url}`` (the title at most 80 characters;
  https://developers.facebook.com/docs/messenger-platform/reference/templates/generic).

Not sent (``ValueError`` before any I/O): templates (Messenger has no pre-approved
templates), several media items, a caption on video, audio or a file (no caption field and no
template that carries one), media with text other than a single image.  ``reply_to`` is not sent.

Response: ``{"recipient_id", "message_id"}``; ``message_id`` is the send's id, the ``mid``
that deliveries and echoes name later.
"""

from __future__ import annotations

from typing import Any

from omnisdk.adapters import OutboundMedia, OutboundMessage
from omnisdk_messenger.window import STANDARD, MessagingType

MAX_TEXT = 2000
MAX_TITLE = 80
MEDIA_TYPES = {"image": "image", "video": "video", "audio": "audio", "document": "file", "file": "file"}
"""``OutboundMedia.media_type`` → Send API attachment ``type``."""


def messages_path(graph_version: str, page_id: str) -> str:
    """``/{graph_version}/{page_id}/messages``."""
    return f"/{graph_version}/{page_id}/messages"


def recipient(customer: str) -> dict[str, str]:
    """``{"id": PSID}``.

    Raises:
        ValueError: not a PSID (1 to 32 digits): a phone number or ``user_ref`` is not sent.
    """
    if not (customer.isascii() and customer.isdigit() and 0 < len(customer) <= 32):
        raise ValueError("messenger: customer must be a Page-scoped id (PSID, digits)")
    return {"id": customer}


def _text(text: str) -> dict[str, Any]:
    if len(text) > MAX_TEXT:
        raise ValueError(f"messenger: a text message holds at most {MAX_TEXT} characters")
    return {"text": text}


def _media(item: OutboundMedia, caption: str | None) -> dict[str, Any]:
    kind = MEDIA_TYPES.get(item.media_type)
    if kind is None:
        raise ValueError(f"messenger: cannot send media_type {item.media_type!r} (image, video, audio, document)")
    if item.url is not None and not item.url.startswith("https://"):
        raise ValueError("messenger: media must be a public https:// url")
    if caption:
        if kind != "image" or not item.url:
            raise ValueError("messenger: only an image by url can carry a caption (as a generic template)")
        if len(caption) > MAX_TITLE:
            raise ValueError(f"messenger: an image caption holds at most {MAX_TITLE} characters")
        element = {"title": caption, "image_url": item.url}
        return {"attachment": {"type": "template",
                               "payload": {"template_type": "generic", "elements": [element]}}}
    if item.url:
        payload: dict[str, Any] = {"url": item.url, "is_reusable": False}
    elif item.media_id:
        payload = {"attachment_id": item.media_id}
    else:
        raise ValueError("messenger: media needs a url or an attachment id (media_id)")
    return {"attachment": {"type": kind, "payload": payload}}


def build_message(message: OutboundMessage) -> dict[str, Any]:
    """The ``message`` object for ``message`` (rules in the module docstring).

    Raises:
        ValueError: no content, a template, or content Messenger cannot carry in one request.
    """
    if message.template is not None:
        raise ValueError("messenger: Messenger has no message templates")
    if len(message.media) > 1:
        raise ValueError("messenger: one Send API request carries one attachment")
    if message.media:
        item = message.media[0]
        caption = item.caption or message.text
        if item.caption and message.text and item.caption != message.text:
            raise ValueError("messenger: an image carries one caption: text and caption differ")
        return _media(item, caption)
    if not message.text:
        raise ValueError("messenger: the message has no text or media")
    return _text(message.text)


def build_body(message: OutboundMessage, kind: MessagingType = STANDARD) -> dict[str, Any]:
    """The JSON body of ``POST /{version}/{page}/messages``.

    Raises:
        ValueError: see :func:`build_message` and :func:`recipient`.
    """
    return {"recipient": recipient(message.customer), **kind.fields(), "message": build_message(message)}


def read_response(doc: Any) -> str:
    """``message_id`` of a 2xx Send API answer.

    Raises:
        ValueError: no ``message_id`` string.
    """
    mid = doc.get("message_id") if type(doc) is dict else None
    if type(mid) is not str or not mid:
        raise ValueError("response has no message_id")
    return mid


def mark_seen_body(customer: str) -> dict[str, Any]:
    """``{"recipient": {"id": PSID}, "sender_action": "mark_seen"}``: the Page read the
    person's messages (sender actions,
    https://developers.facebook.com/docs/messenger-platform/send-messages/sender-actions).

    Raises:
        ValueError: not a PSID.
    """
    return {"recipient": recipient(customer), "sender_action": "mark_seen"}


def thread_control_body(customer: str, **fields: str | None) -> dict[str, Any]:
    """``{"recipient": {"id": PSID}, ...}`` with the fields that are set (handover protocol:
    https://developers.facebook.com/docs/messenger-platform/handover-protocol/conversation-control)."""
    return {"recipient": recipient(customer), **{k: v for k, v in fields.items() if v is not None}}
