"""``OutboundMessage`` → LINE push request, the retry key, and the response → message id.

Request: ``POST https://api.line.me/v2/bot/message/push`` with ``Authorization: Bearer
{channel access token}`` and a JSON body ``{"to": ..., "messages": [...]}``, at most 5
message objects (https://developers.line.biz/en/reference/messaging-api/#send-push-message).
``to`` is a user id, group id or room id: the conversation's customer address as
:mod:`omnisdk_line.translate` builds it.

Message objects built (https://developers.line.biz/en/reference/messaging-api/#message-objects):

- text: ``{"type": "text", "text"}`` (#text-message, at most 5,000 characters);
- image by public HTTPS URL: ``{"type": "image", "originalContentUrl", "previewImageUrl"}``
  (#image-message; the same URL serves as its preview).  An image has no caption field: a
  caption (or the message's text) goes as a text message right after it, in the same push;
- sticker: ``OutboundMedia(media_type="sticker", media_id="<packageId>/<stickerId>")`` →
  ``{"type": "sticker", "packageId", "stickerId"}`` (#sticker-message);
- location: ``OutboundMedia(media_type="location", url="geo:<lat>,<lon>",
  caption="<title>\\n<address>")`` (an RFC 5870 ``geo:`` URI) → ``{"type": "location",
  "title", "address", "latitude", "longitude"}`` (#location-message; title and address are
  required by LINE, at most 100 characters each).

Not sent (``ValueError`` before any I/O): templates (LINE has no pre-approved templates),
video (LINE requires a separate preview image), audio (LINE requires its ``duration``) and
documents (LINE cannot push files) — :class:`~omnisdk.adapters.OutboundMedia` carries none of
those.  ``reply_to`` is not used: the reply API takes a reply token valid for about one
minute (#send-reply-message), and quoting takes a ``quoteToken``, not a message id; every
send is a push.

**Retry key** (https://developers.line.biz/en/docs/messaging-api/retrying-api-request/):
``X-Line-Retry-Key`` must be a hexadecimal UUID; LINE executes a request once per key and
answers ``409`` to a retry of an accepted one.  :func:`retry_key` makes it from the outbox's
idempotency key: the key itself when it already is a UUID in canonical form, else the UUIDv5
of it in :data:`RETRY_KEY_NAMESPACE` — a pure function, so every attempt (and a re-send of
the same outbox row after a crash) carries the same retry key.

Response (#send-push-message "Response"): ``{"sentMessages": [{"id", "quoteToken"?}]}``, one
per message object; the id of the first is the send's message id.  Error bodies:
``{"message", "details": [{"message", "property"}]}`` (#error-responses).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from omnisdk.adapters import OutboundMedia, OutboundMessage

PUSH_PATH = "/v2/bot/message/push"
MAX_MESSAGES = 5
MAX_TEXT = 5000
MAX_LOCATION_FIELD = 100
RETRY_KEY_NAMESPACE = uuid.UUID("6f1d3a3e-2c1b-5b8e-9a7e-6c696e650001")
"""The namespace of :func:`retry_key`'s UUIDv5 (a fixed, arbitrary UUID of this plugin)."""
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_GEO = re.compile(r"geo:(-?[0-9]{1,3}(?:\.[0-9]+)?),(-?[0-9]{1,3}(?:\.[0-9]+)?)")


def retry_key(idempotency_key: str) -> str:
    """The ``X-Line-Retry-Key`` for an outbox idempotency key (see the module docstring)."""
    if _UUID.fullmatch(idempotency_key):
        return idempotency_key
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, idempotency_key))


def recipient(customer: str) -> str:
    """The ``to`` field: a user, group or room id, used as given (no shape is imposed).

    Raises:
        ValueError: empty, longer than 64 characters, or holding whitespace or control
            characters.
    """
    if not customer or len(customer) > 64 or not customer.isprintable() or any(c.isspace() for c in customer):
        raise ValueError("line: customer must be a LINE user, group or room id")
    return customer


def _text(text: str) -> dict[str, Any]:
    if len(text) > MAX_TEXT:
        raise ValueError(f"line: a text message holds at most {MAX_TEXT} characters")
    return {"type": "text", "text": text}


def _location(item: OutboundMedia) -> dict[str, Any]:
    m = _GEO.fullmatch(item.url or "")
    if m is None:
        raise ValueError("line: a location needs url='geo:<latitude>,<longitude>'")
    lat, lon = float(m.group(1)), float(m.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("line: latitude or longitude out of range")
    title, _, address = (item.caption or "").partition("\n")
    if not title or not address:
        raise ValueError("line: a location needs caption='<title>\\n<address>' (both required)")
    if len(title) > MAX_LOCATION_FIELD or len(address) > MAX_LOCATION_FIELD:
        raise ValueError("line: location title and address hold at most 100 characters")
    return {"type": "location", "title": title, "address": address, "latitude": lat,
            "longitude": lon}


def _media(item: OutboundMedia, text: str | None) -> list[dict[str, Any]]:
    if item.media_type == "image":
        if not item.url or not item.url.startswith("https://"):
            raise ValueError("line: an image needs a public https:// url")
        out: list[dict[str, Any]] = [{"type": "image", "originalContentUrl": item.url,
                                      "previewImageUrl": item.url}]
        caption = item.caption or text
        if caption:
            out.append(_text(caption))
        return out
    if item.media_type == "sticker":
        package, sep, sticker = (item.media_id or "").partition("/")
        if not sep or not package or not sticker:
            raise ValueError("line: a sticker needs media_id='<packageId>/<stickerId>'")
        return [{"type": "sticker", "packageId": package, "stickerId": sticker}]
    if item.media_type == "location":
        return [_location(item)]
    raise ValueError(f"line: cannot push media_type {item.media_type!r} (image, sticker, location)")


def build_messages(message: OutboundMessage) -> list[dict[str, Any]]:
    """The ``messages`` array for ``message``: each media item in order, then the text unless
    it was used as the caption of a single image.

    Raises:
        ValueError: no content, a template, an unsupported media type or shape, or more than
            5 message objects.  Raised before any I/O.
    """
    if message.template is not None:
        raise ValueError("line: LINE has no message templates")
    out: list[dict[str, Any]] = []
    text_used = False
    for item in message.media:
        use_text = len(message.media) == 1 and item.media_type == "image" and not item.caption
        out += _media(item, message.text if use_text else None)
        text_used = text_used or (use_text and bool(message.text))
    if message.text and not text_used:
        out.append(_text(message.text))
    if not out:
        raise ValueError("line: the message has no text or media")
    if len(out) > MAX_MESSAGES:
        raise ValueError(f"line: a push carries at most {MAX_MESSAGES} message objects")
    return out


def build_body(message: OutboundMessage) -> dict[str, Any]:
    """The JSON body of ``POST /v2/bot/message/push`` for ``message``.

    Raises:
        ValueError: see :func:`build_messages` and :func:`recipient`.
    """
    return {"to": recipient(message.customer), "messages": build_messages(message)}


def error_code(doc: Any) -> str | None:
    """LINE error bodies carry no code, only a ``message`` (#error-responses): its first 100
    characters, or None."""
    if type(doc) is dict and type(doc.get("message")) is str and doc["message"]:
        return doc["message"][:100]
    return None


def read_response(doc: Any) -> str:
    """The id of the first sent message of a 2xx push response.

    Raises:
        ValueError: no ``sentMessages[0].id``.
    """
    sent = doc.get("sentMessages") if type(doc) is dict else None
    first = sent[0] if type(sent) is list and sent else None
    mid = first.get("id") if type(first) is dict else None
    if type(mid) is int:
        mid = str(mid)
    if type(mid) is not str or not mid:
        raise ValueError("response has no sentMessages[0].id")
    return mid
