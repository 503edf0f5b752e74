"""``OutboundMessage`` → Graph API "send message" request, and its response → ``SendResult``.

Request: ``POST /{api_version}/{phone_number_id}/messages`` with a JSON body
(developers.facebook.com/docs/whatsapp/cloud-api/reference/messages, and
/docs/whatsapp/cloud-api/guides/send-messages, /guides/send-message-templates):

- always ``messaging_product: "whatsapp"``, ``recipient_type: "individual"``, ``to`` (the
  customer's number as digits, without ``+``), ``type``;
- text: ``text: {"body", "preview_url": false}``;
- media: ``type`` image|video|audio|document|sticker and an object with ``link`` (public URL)
  or ``id`` (uploaded media id), ``caption`` (image, video, document) and ``filename``
  (document) — /reference/messages "Media object";
- template: ``template: {"name", "language": {"code"}, "components"}`` —
  /reference/messages "Template object";
- ``context: {"message_id"}`` to reply to (quote) a message — /guides/send-messages
  "Reply to messages".

Response (/reference/messages "Response"): ``{"messaging_product", "contacts": [{"input",
"wa_id"}], "messages": [{"id", "message_status"?}]}``; ``message_status`` is ``accepted`` or
``held_for_quality_assessment`` when present.  Error bodies: ``{"error": {"message", "type",
"code", "error_subcode", "fbtrace_id"}}`` (/docs/whatsapp/cloud-api/support/error-codes).
"""

from __future__ import annotations

from typing import Any

from omnisdk.adapters import OutboundMedia, OutboundMessage

MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})
CAPTIONED = frozenset({"image", "video", "document"})


def recipient(customer: str) -> str:
    """The ``to`` field: an E.164 address (``+972…``) as digits.

    Raises:
        ValueError: not a phone number in E.164 (digits, optional leading ``+``).
    """
    digits = customer[1:] if customer.startswith("+") else customer
    if not (digits.isascii() and digits.isdigit() and 1 <= len(digits) <= 15):
        raise ValueError("whatsapp: customer must be an E.164 phone number")
    return digits


def _media(item: OutboundMedia, text: str | None) -> tuple[str, dict[str, Any]]:
    mtype = item.media_type
    if mtype not in MEDIA_TYPES:
        raise ValueError(f"whatsapp: cannot send media_type {mtype!r}")
    if item.media_id:
        obj: dict[str, Any] = {"id": item.media_id}
    elif item.url:
        obj = {"link": item.url}
    else:
        raise ValueError("whatsapp: media needs a url or a media_id")
    caption = item.caption or text
    if caption:
        if mtype not in CAPTIONED:
            raise ValueError(f"whatsapp: {mtype} messages carry no caption or text")
        obj["caption"] = caption
    if item.filename and mtype == "document":
        obj["filename"] = item.filename
    return mtype, obj


def build_body(message: OutboundMessage) -> dict[str, Any]:
    """The JSON body of the send-message request for ``message``.

    Content rules: a template goes alone; one media item per message (WhatsApp has no
    albums), with ``text`` as its caption when the media has none; otherwise text.

    Raises:
        ValueError: no content, template mixed with other content, more than one media item,
            an unknown media type, media without url/id, a caption on audio/sticker, or a
            customer that is not an E.164 number.  Raised before any I/O.
    """
    to = recipient(message.customer)
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": to}
    if message.template is not None:
        if message.text or message.media:
            raise ValueError("whatsapp: a template message carries no other text or media")
        t = message.template
        body["type"] = "template"
        body["template"] = {"name": t.name, "language": {"code": t.language},
                            "components": list(t.components)}
    elif message.media:
        if len(message.media) > 1:
            raise ValueError("whatsapp: one media item per message")
        mtype, obj = _media(message.media[0], message.text)
        body["type"] = mtype
        body[mtype] = obj
    elif message.text:
        body["type"] = "text"
        body["text"] = {"body": message.text, "preview_url": False}
    else:
        raise ValueError("whatsapp: the message has no text, media or template")
    if message.reply_to:
        body["context"] = {"message_id": message.reply_to}
    return body


def error_code(doc: Any) -> str | None:
    """The Graph API error code of an error body (``error.code``), as a string, or None."""
    if type(doc) is dict:
        err = doc.get("error")
        if type(err) is dict:
            code = err.get("code")
            if type(code) in (int, str):
                return str(code)
    return None


def read_response(doc: Any) -> tuple[str, str]:
    """``(message id, status)`` from a 2xx send response; status defaults to ``accepted``.

    Raises:
        ValueError: the response has no ``messages[0].id``.
    """
    msgs = doc.get("messages") if type(doc) is dict else None
    first = msgs[0] if type(msgs) is list and msgs else None
    mid = first.get("id") if type(first) is dict else None
    if type(mid) is not str or not mid:
        raise ValueError("response has no messages[0].id")
    status = first.get("message_status")
    return mid, status if type(status) is str and status else "accepted"
