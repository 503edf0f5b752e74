"""``OutboundMessage`` → ``POST /v1/message`` of the Messages for Business service.

Request (https://register.apple.com/resources/messages/msp-rest-api/messages-sent;
https://developer.apple.com/documentation/businesschatapi/integrating_with_business_chat):
``POST https://mspgw.push.apple.com/v1/message`` with the headers ``Authorization: Bearer
<JWT>`` (a fresh one, :mod:`omnisdk_apple_business.tokens`), ``id`` (the message's UUID, chosen
by the MSP), ``source-id`` (the business id) and ``destination-id`` (the customer's opaque
id), and a JSON body ``{"v": 1, "type", "id", "sourceId", "destinationId", …}``.

The response body is empty (except for an interactive message over 10 KB, whose body names
the stored asset): Apple gives **no message id of its own**; the message's id is the ``id``
we chose.  :func:`message_id` fixes it from the outbox's idempotency key before the first
attempt (the key itself when it is a canonical UUID, else its UUIDv5 in
:data:`MESSAGE_ID_NAMESPACE`): every attempt, and a re-send of the same outbox row after a
crash, carries the same ``id``.

Content built (``type`` values of "Message Type Values"):

- text → ``{"type": "text", "body"}`` (Basic Multilingual Plane text);
- a list menu (``OutboundMessage.list_menu``) → a **list picker**: ``{"type": "interactive",
  "interactiveData": {"bid", "data": {"version": "1.0", "requestIdentifier", "listPicker":
  {"sections": [{"title", "order", "multipleSelection": false, "items": [{"identifier",
  "title", "subtitle", "order", "style": "default"}]}]}}, "receivedMessage": {"title",
  "style": "icon"}, "replyMessage": {"title", "style": "icon"}}}``
  (https://register.apple.com/resources/messages/msp-rest-api/type-interactive#list-picker);
  ``text`` is the received bubble's title, the menu's ``button`` the reply bubble's;
- attachments uploaded with :meth:`AppleBusinessAdapter.upload_attachment` (its
  ``media_id``) → ``{"type": "text", "body": "<text>" + one U+FFFC per attachment,
  "attachments": [...]}`` ("Adding Attachment Metadata to a Message");
- a media item by public ``https`` URL (no ``media_id``) → a **rich link**: ``{"type":
  "richLink", "richLinkData": {"url", "title"}}`` (the caption, else the URL, as its title;
  https://register.apple.com/resources/messages/msp-rest-api/type-richlink): Apple asks that
  every URL an agent sends go as a rich link, and the MSP never fetches the URL itself.

Not sent (``ValueError`` before any I/O): templates (Apple has none), buttons, locations,
reactions and contact cards (no such message types here), more than one rich link.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from typing import Any

import orjson

from omnisdk.adapters import OutboundMessage
from omnisdk_apple_business.translate import OBJECT_MARK

MESSAGE_PATH = "/v1/message"
PRE_DOWNLOAD_PATH = "/v1/preDownload"
PRE_UPLOAD_PATH = "/v1/preUpload"
LIST_PICKER_BID = ("com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:"
                   "com.apple.icloud.apps.messages.business.extension")
"""The balloon id of Apple's list and time pickers (type-interactive, "bid")."""
MESSAGE_ID_NAMESPACE = uuid.UUID("4d5b6a9e-1f0c-5a7b-8e3d-61707060b001")
"""The namespace of :func:`message_id`'s UUIDv5 (a fixed, arbitrary UUID of this plugin)."""
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ATTACHMENT_KEYS = frozenset({"name", "mime-type", "file-size", "signature-base64", "decryption-key",
                              "mmcs-url", "mmcs-owner"})
MEDIA_ID_PREFIX = "abc1."


def message_id(idempotency_key: str) -> str:
    """The message ``id`` for an outbox idempotency key (see the module docstring)."""
    if _UUID.fullmatch(idempotency_key):
        return idempotency_key
    return str(uuid.uuid5(MESSAGE_ID_NAMESPACE, idempotency_key))


def media_id(attachment: dict[str, str]) -> str:
    """An uploaded attachment's dictionary as an ``OutboundMedia.media_id`` (it survives the
    outbox: ``abc1.`` + base64url of its JSON)."""
    return MEDIA_ID_PREFIX + base64.urlsafe_b64encode(orjson.dumps(attachment)).decode("ascii")


def attachment_of(media_id_value: str) -> dict[str, str]:
    """The attachment dictionary of a :func:`media_id`.

    Raises:
        ValueError: not one of ours.
    """
    if not media_id_value.startswith(MEDIA_ID_PREFIX):
        raise ValueError("apple_business: media_id is not an uploaded attachment (upload_attachment)")
    try:
        doc = orjson.loads(base64.urlsafe_b64decode(media_id_value[len(MEDIA_ID_PREFIX):]))
    except (binascii.Error, ValueError):
        raise ValueError("apple_business: media_id is not an uploaded attachment") from None
    if type(doc) is not dict or set(doc) != _ATTACHMENT_KEYS or not all(type(v) is str for v in doc.values()):
        raise ValueError("apple_business: media_id is not an uploaded attachment")
    return doc


def _recipient(customer: str) -> str:
    if not customer or len(customer) > 512 or not customer.isprintable() or any(c.isspace() for c in customer):
        raise ValueError("apple_business: customer must be the customer's opaque id (urn:mbid:…)")
    return customer


def list_picker(message: OutboundMessage, mid: str) -> dict[str, Any]:
    """The ``interactiveData`` of a list picker for ``message.list_menu``."""
    menu = message.list_menu
    assert menu is not None
    sections = [{
        "title": section.title or "", "order": i, "multipleSelection": False,
        "items": [{"identifier": row.id, "title": row.title, "subtitle": row.description or "",
                   "order": j, "style": "default"} for j, row in enumerate(section.rows)],
    } for i, section in enumerate(menu.sections)]
    return {
        "bid": LIST_PICKER_BID,
        "data": {"version": "1.0", "requestIdentifier": str(uuid.uuid5(MESSAGE_ID_NAMESPACE, "list:" + mid)),
                 "listPicker": {"sections": sections}},
        "receivedMessage": {"title": message.text or menu.button, "style": "icon"},
        "replyMessage": {"title": menu.button, "style": "icon"},
    }


def build_body(message: OutboundMessage, *, mid: str, business: str) -> dict[str, Any]:
    """The JSON body of ``POST /v1/message`` (see the module docstring).

    Raises:
        ValueError: no content, content Apple cannot carry here, a bad recipient.  Before
            any I/O.
    """
    if message.template is not None:
        raise ValueError("apple_business: Messages for Business has no message templates")
    for name in ("buttons", "contacts"):
        if getattr(message, name):
            raise ValueError(f"apple_business: {name} are not sent on this channel")
    if message.location is not None or message.reaction is not None:
        raise ValueError("apple_business: locations and reactions are not sent on this channel")
    body: dict[str, Any] = {"v": 1, "id": mid, "sourceId": business,
                            "destinationId": _recipient(message.customer)}
    if message.list_menu is not None:
        if message.media:
            raise ValueError("apple_business: a list picker carries no media")
        return {**body, "type": "interactive", "interactiveData": list_picker(message, mid)}
    uploaded = [attachment_of(m.media_id) for m in message.media if m.media_id]
    links = [m for m in message.media if not m.media_id]
    if uploaded and links:
        raise ValueError("apple_business: send attachments and a link in separate messages")
    if links:
        if len(links) > 1:
            raise ValueError("apple_business: one rich link per message")
        url = links[0].url or ""
        if not url.startswith("https://"):
            raise ValueError("apple_business: a media item needs an uploaded media_id or a public https:// url")
        return {**body, "type": "richLink",
                "richLinkData": {"url": url, "title": links[0].caption or message.text or url}}
    text = message.text or ""
    if not text and not uploaded:
        raise ValueError("apple_business: the message has no text or media")
    body.update({"type": "text", "body": text + OBJECT_MARK * len(uploaded)})
    if uploaded:
        body["attachments"] = uploaded
    return body


def headers(mid: str, business: str, customer: str) -> dict[str, str]:
    """``id``, ``source-id`` and ``destination-id`` of a send (the ``Authorization`` JWT is
    added per attempt by the client's auth)."""
    return {"id": mid, "source-id": business, "destination-id": customer}


def error_code(doc: Any) -> str | None:
    """Apple documents status codes only (Integration, "Response Codes"); a JSON error body's
    ``code`` or ``message``, when there is one, first 100 characters."""
    if type(doc) is dict:
        for key in ("code", "message", "error"):
            if type(doc.get(key)) in (str, int):
                return str(doc[key])[:100]
    return None
