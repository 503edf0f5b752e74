"""Apple Messages for Business webhook → CloudEvents.  Pure: no I/O, no clock.

Apple posts each message a customer sends to the MSP's ``/message`` endpoint: one message per
request, the body gzip-compressed JSON (:mod:`omnisdk_apple_business.gzip_body`)
(https://register.apple.com/resources/messages/msp-rest-api/messages-received).

**Headers** (https://developer.apple.com/documentation/businesschatapi/integrating_with_business_chat,
"HTTP Headers"; names lower-cased by the gateway):

- ``id``: the message's UUID; ``source-id``: the customer's opaque id (``urn:mbid:…``);
  ``destination-id``: the business id the customer wrote to.  The body carries the same three
  as ``id``, ``sourceId`` and ``destinationId``; each is taken from the header when present,
  else from the body, and a header that disagrees with the body is refused (PayloadError), so
  the authenticated request cannot name one conversation in its headers and another in its body;
- ``capability-list``: comma-separated features the customer's device supports (``LIST``,
  ``TIME``, ``QUICK``, ``AUTH`` …), kept lower-cased in ``extra.capabilities``;
- ``device-agent``: the customer's operating system (``iPhone OS``, ``Mac OS X`` …), kept in
  ``extra.device_agent``.

**Body** (https://register.apple.com/resources/messages/msp-rest-api/messages-received,
"Message Type Values"): ``v`` (1), ``type``, ``locale`` (``en_US``), ``body`` (text; one
``U+FFFC`` stands where each attachment is shown), ``attachments``, ``interactiveData`` /
``interactiveDataRef``, ``intent`` and ``group`` (from the "Messages for Business" button's
URL parameters).

Apple sends no timestamp: every event's ``time`` is the request's ``received_at``.  ``id`` is
the message id (a redelivery keeps it, so the inbox deduplicates it), ``subject`` the message
id, ``partitionkey`` ``conversation_key(source, "apple_business", business id, customer id)``.

What each ``type`` becomes:

- ``text`` → ``io.omnisdk.message.received``, kind ``text``; with ``attachments`` kind
  ``media``: each attachment's metadata (``name``, ``mimeType``, ``size``; download
  reference ``url``, ``owner``, ``signature``, ``key`` in ``extra.attachments``, for
  :meth:`AppleBusinessAdapter.fetch_attachment`), the text without its ``U+FFFC`` marks;
- ``interactive`` with a list picker or time picker reply → ``message.received`` of kind
  ``interactive_reply`` (:mod:`omnisdk_apple_business.interactive`); other interactive
  content, and ``interactiveDataRef`` (a large payload Apple stores for download) →
  ``message.unsupported`` with ``extra.raw``;
- ``typing_start`` / ``typing_end`` → ``io.omnisdk.provider.notice`` (``kind`` the type):
  no customer message, passed to observers (an agent desk shows it);
- ``close`` (the customer deleted the conversation) → ``io.omnisdk.conversation.closed``: the
  core closes the open interaction with the wrap-up code ``Closed by customer``;
- any other ``type`` (``richLink`` and any type Apple adds) → ``message.unsupported`` with
  ``extra.type``, ``extra.reason`` and ``extra.raw`` (the body): never a crash, never dropped.

A body that is not JSON, not an object, of another version than ``v`` 1, or without a
message id, customer or business (in the headers or the body) raises
:class:`~omnisdk.errors.PayloadError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from omnisdk import payloads
from omnisdk.errors import PayloadError
from omnisdk.events import (
    TYPE_CONVERSATION_CLOSED,
    TYPE_MESSAGE_RECEIVED,
    TYPE_MESSAGE_UNSUPPORTED,
    TYPE_PROVIDER_NOTICE,
    Event,
)
from omnisdk.model.addresses import Channel, conversation_key
from omnisdk_apple_business import interactive

CHANNEL = Channel.APPLE_BUSINESS
OBJECT_MARK = "\ufffc"
"""U+FFFC OBJECT REPLACEMENT CHARACTER: where an attachment appears in a text message."""
NOTICE_TYPES = frozenset({"typing_start", "typing_end"})
_IDS = (("id", "id"), ("source-id", "sourceId"), ("destination-id", "destinationId"))
_MEDIA_TYPES = {"image": "image", "video": "video", "audio": "audio"}


class _Bad(Exception):
    """Internal: the body is malformed; becomes PayloadError."""


def parse(body: bytes, headers: Mapping[str, str], *, source: str, received_at: str,
          max_bytes: int = payloads.MAX_BYTES) -> list[Event]:
    """Translate one decompressed webhook body into one event (see the module docstring).

    Raises:
        PayloadError: see the module docstring.  Never another exception type.
    """
    doc = payloads.loads(body, max_bytes=max_bytes)
    if type(doc) is not dict:
        raise PayloadError("body is not a JSON object")
    try:
        return [_event(doc, headers, source, received_at)]
    except _Bad as exc:
        raise PayloadError(str(exc), reason="missing_field") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a shape not foreseen
        raise PayloadError(f"unexpected body shape ({type(exc).__name__})") from None


def _ident(doc: dict[str, Any], headers: Mapping[str, str], header: str, key: str) -> str:
    given, inner = headers.get(header), doc.get(key)
    if inner is not None and (type(inner) is not str or not inner):
        raise _Bad(f"body {key!r} is not a non-empty string")
    if given is not None and inner is not None and given != inner:
        raise _Bad(f"header {header!r} does not match body {key!r}")
    value = given if given is not None else inner
    if not value:
        raise _Bad(f"neither header {header!r} nor body {key!r} is given")
    return value


def _base(mid: str, customer: str, business: str, time: str, extra: dict[str, Any],
          locale: str | None) -> dict[str, Any]:
    return {
        "message_id": mid, "channel": CHANNEL, "customer": customer, "business": business,
        "customer_name": None, "kind": "text", "text": None, "attachments": [],
        "location": None, "contacts": [], "interactive": None, "reaction": None,
        "reply_to": None, "forwarded": False, "sent_at": time,
        "language": locale.replace("_", "-") if locale else None, "extra": extra,
    }


def _event(doc: dict[str, Any], headers: Mapping[str, str], source: str, time: str) -> Event:
    if doc.get("v", 1) != 1 or type(doc.get("v", 1)) is not int:
        raise _Bad("unsupported payload version 'v'")
    mid, customer, business = (_ident(doc, headers, h, k) for h, k in _IDS)
    mtype = doc.get("type") if type(doc.get("type")) is str else None  # a list is unhashable
    key = conversation_key(source, CHANNEL, business, customer)
    caps = headers.get("capability-list")
    extra: dict[str, Any] = {
        "capabilities": [c.strip().lower() for c in caps.split(",") if c.strip()] if caps else [],
        "device_agent": headers.get("device-agent"),
    }
    for name in ("intent", "group"):
        if type(doc.get(name)) is str:
            extra[name] = doc[name]
    locale = doc.get("locale") if type(doc.get("locale")) is str and doc.get("locale") else None
    common = {"id": mid, "source": source, "time": time, "partitionkey": key}
    if mtype in NOTICE_TYPES:
        data = {"kind": mtype, "raw": doc, "business": business, "customer": customer, **extra}
        return Event(type=TYPE_PROVIDER_NOTICE, data=data, subject=mid, **common)
    if mtype == "close":
        data = {"channel": CHANNEL, "customer": customer, "business": business, "at": time, "extra": extra}
        return Event(type=TYPE_CONVERSATION_CLOSED, data=data, subject=mid, **common)
    data = _base(mid, customer, business, time, extra, locale)
    etype = TYPE_MESSAGE_RECEIVED
    try:
        if mtype == "text":
            _text(doc, data)
        elif mtype == "interactive":
            _interactive(doc, data)
        else:
            raise interactive.Unsupported("unknown message type")
    except interactive.Unsupported as exc:
        data = _base(mid, customer, business, time, extra, locale)
        data["kind"] = "unsupported"
        data["extra"].update({"type": mtype, "reason": str(exc), "raw": doc})
        etype = TYPE_MESSAGE_UNSUPPORTED
    return Event(type=etype, data=data, subject=mid, **common)


def _text(doc: dict[str, Any], data: dict[str, Any]) -> None:
    text = doc.get("body")
    if text is not None and type(text) is not str:
        raise interactive.Unsupported("body is not a string")
    attachments = doc.get("attachments") or []
    if type(attachments) is not list:
        raise interactive.Unsupported("attachments is not a list")
    refs = [_attachment(a) for a in attachments]
    clean = (text or "").replace(OBJECT_MARK, "").strip() or None
    if not refs and clean is None:
        raise interactive.Unsupported("a text message without text or attachments")
    data["text"] = clean
    if refs:
        data["kind"] = "media"
        data["attachments"] = [r[0] for r in refs]
        data["extra"]["attachments"] = [r[1] for r in refs]


def _attachment(att: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Attachment dictionary (https://register.apple.com/resources/messages/msp-rest-api/attachments,
    "Receiving an attachment"): ``name``, ``mimeType``, ``size``, ``signature`` (hex),
    ``url`` (MMCS url), ``key`` (hex, ``00`` + the AES-256 key), ``owner``."""
    if type(att) is not dict:
        raise interactive.Unsupported("attachment is not an object")
    ref = {k: att.get(k) for k in ("name", "mimeType", "size", "signature", "url", "key", "owner")}
    for k in ("signature", "url", "key", "owner"):
        if type(ref[k]) is not str or not ref[k]:
            raise interactive.Unsupported(f"attachment without {k}")
    size = ref["size"]
    if type(size) is str and size.isdigit():
        size = int(size)
    if size is not None and (type(size) is not int or size < 0):
        raise interactive.Unsupported("attachment size is not a non-negative integer")
    ref["size"] = size
    mime = ref["mimeType"] if type(ref["mimeType"]) is str else None
    major = mime.split("/", 1)[0] if mime else ""
    meta = {"media_type": _MEDIA_TYPES.get(major, "document"), "media_id": ref["url"], "url": None,
            "mime_type": mime, "filename": ref["name"] if type(ref["name"]) is str else None,
            "size": size}
    return meta, ref


def _interactive(doc: dict[str, Any], data: dict[str, Any]) -> None:
    if "interactiveData" not in doc:
        if "interactiveDataRef" in doc:
            raise interactive.Unsupported("interactiveDataRef (a stored payload to download)")
        raise interactive.Unsupported("interactive message without interactiveData")
    reply, extra = interactive.reply(doc["interactiveData"])
    data["kind"] = "interactive_reply"
    data["interactive"] = reply
    data["extra"].update(extra)


__all__ = ["CHANNEL", "OBJECT_MARK", "parse"]
