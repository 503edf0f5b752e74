"""``OutboundMessage`` → Graph API "send message" request, and its response → ``SendResult``.

Request: ``POST /{api_version}/{phone_number_id}/messages`` with a JSON body
(developers.facebook.com/docs/whatsapp/cloud-api/reference/messages, and
/docs/whatsapp/cloud-api/guides/send-messages, /guides/send-message-templates):

- always ``messaging_product: "whatsapp"``, ``recipient_type: "individual"``, ``to`` (the
  customer's number as digits, without ``+``), ``type``;
- text: ``text: {"body", "preview_url"}`` (a link preview when true);
- interactive: ``interactive: {"type": "button"|"list", "body": {"text"}, "action"}`` —
  /messages/interactive-reply-buttons-messages (``action.buttons[].reply {"id", "title"}``,
  1–3, titles ≤ 20 characters) and /messages/interactive-list-messages (``action.button``,
  ``action.sections[] {"title", "rows": [{"id", "title", "description"}]}``, ≤ 10 rows);
- location: ``location: {"latitude", "longitude", "name", "address"}`` — /messages/location-messages;
- reaction: ``reaction: {"message_id", "emoji"}`` (empty emoji removes it) — /messages/reaction-messages;
- contacts: ``contacts: [{"name": {"formatted_name", "first_name", "last_name"}, "phones":
  [{"phone", "type"}], "emails": [{"email", "type"}]}]`` — /messages/contacts-messages;
- mark as read: ``{"messaging_product", "status": "read", "message_id"}`` —
  /guides/mark-message-as-read (:func:`read_receipt`);
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


def _kinds(message: OutboundMessage) -> list[str]:
    kinds = [k for k in ("template", "buttons", "list_menu", "location", "reaction", "contacts")
             if getattr(message, k)]
    if message.media:
        kinds.append("media")
    return kinds


def _interactive(message: OutboundMessage) -> dict[str, Any]:
    """Reply buttons (/docs/whatsapp/cloud-api/messages/interactive-reply-buttons-messages) or a
    list (/docs/whatsapp/cloud-api/messages/interactive-list-messages), ``text`` as the body."""
    if not message.text:
        raise ValueError("whatsapp: buttons and lists need text as their body")
    if len(message.text) > 1024:
        raise ValueError("whatsapp: an interactive message's body is at most 1,024 characters")
    if message.buttons:
        if len(message.buttons) > 3:
            raise ValueError("whatsapp: at most 3 reply buttons")
        return {"type": "button", "body": {"text": message.text}, "action": {"buttons": [
            {"type": "reply", "reply": {"id": b.id, "title": b.title}} for b in message.buttons]}}
    menu = message.list_menu
    assert menu is not None
    if sum(len(s.rows) for s in menu.sections) > 10:
        raise ValueError("whatsapp: a list has at most 10 rows in all")
    if len(menu.sections) > 1 and any(not s.title for s in menu.sections):
        raise ValueError("whatsapp: each section of a list with several needs a title")
    sections = []
    for s in menu.sections:
        rows = [{"id": r.id, "title": r.title, **({"description": r.description} if r.description else {})}
                for r in s.rows]
        sections.append({**({"title": s.title} if s.title else {}), "rows": rows})
    return {"type": "list", "body": {"text": message.text}, "action": {"button": menu.button, "sections": sections}}


def _contacts(message: OutboundMessage) -> list[dict[str, Any]]:
    """Contact cards (/docs/whatsapp/cloud-api/messages/contacts-messages)."""
    out = []
    for c in message.contacts:
        first, _, last = c.name.partition(" ")
        name = {"formatted_name": c.name, "first_name": first, **({"last_name": last} if last else {})}
        out.append({"name": name, "phones": [{"phone": p, "type": "CELL"} for p in c.phones],
                    "emails": [{"email": e, "type": "WORK"} for e in c.emails]})
    return out


def build_body(message: OutboundMessage) -> dict[str, Any]:
    """The JSON body of the send-message request for ``message``.

    Content rules: one kind per message — a template, media (one item: WhatsApp has no albums;
    ``text`` is its caption when the media has none), reply buttons or a list (``text`` is the
    body), a location, a reaction, contact cards, or text alone (``preview_url`` renders a link
    preview).  ``reply_to`` quotes a message (``context``); a reaction names its own message
    and takes none.

    Raises:
        ValueError: no content, two kinds at once, text where the kind has none (a template,
            a location, a reaction, contacts), more than one media item, an unknown media
            type, media without url/id, a caption on audio/sticker, more than 3 buttons or 10
            list rows, or a customer that is not an E.164 number.  Raised before any I/O.
    """
    to = recipient(message.customer)
    body: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual",
                            "to": to}
    kinds = _kinds(message)
    if len(kinds) > 1:
        raise ValueError(f"whatsapp: one kind of content per message, not {' and '.join(kinds)}")
    if message.text and kinds and kinds[0] in ("location", "reaction", "contacts"):
        raise ValueError(f"whatsapp: a {kinds[0]} message carries no text")
    if message.preview_url and (kinds or not message.text):
        raise ValueError("whatsapp: preview_url applies to a text message")
    if message.buttons or message.list_menu is not None:
        body["type"] = "interactive"
        body["interactive"] = _interactive(message)
    elif message.location is not None:  # /docs/whatsapp/cloud-api/messages/location-messages
        loc = message.location
        body["type"] = "location"
        body["location"] = {"latitude": loc.latitude, "longitude": loc.longitude,
                            **({"name": loc.name} if loc.name else {}),
                            **({"address": loc.address} if loc.address else {})}
    elif message.reaction is not None:  # /docs/whatsapp/cloud-api/messages/reaction-messages
        if message.reply_to:
            raise ValueError("whatsapp: a reaction names its message itself (no reply_to)")
        body["type"] = "reaction"
        body["reaction"] = {"message_id": message.reaction.message_id, "emoji": message.reaction.emoji}
        return body
    elif message.contacts:
        body["type"] = "contacts"
        body["contacts"] = _contacts(message)
    elif message.template is not None:
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
        body["text"] = {"body": message.text, "preview_url": message.preview_url}
    else:
        raise ValueError("whatsapp: the message has no content")
    if message.reply_to:
        body["context"] = {"message_id": message.reply_to}
    return body


def read_receipt(message_id: str) -> dict[str, Any]:
    """The body that marks a customer's message (and every earlier one) as read."""
    if not message_id:
        raise ValueError("whatsapp: mark_read needs the message's id")
    return {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}


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
