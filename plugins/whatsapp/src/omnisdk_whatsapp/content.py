"""Message content: one WhatsApp message object → the content fields of ``omnisdk.model.Message``.

Pure helpers used by :mod:`omnisdk_whatsapp.translate`.  Each ``_kind`` function reads the
type-specific object of a message (``message[message["type"]]``) and fills a plain ``data``
dict; on content it cannot normalize it raises :class:`Unsupported` and the caller emits
``io.omnisdk.message.unsupported`` with the raw message kept — a customer message is never
dropped because one of its fields has an unexpected shape.

Field provenance (Meta, developers.facebook.com):
- message objects by type — /docs/whatsapp/cloud-api/webhooks/components ("messages object")
  and /docs/whatsapp/cloud-api/webhooks/payload-examples (text, reaction, media, sticker,
  location, contacts, quick-reply ``button``, list/button ``interactive`` replies, ``order``,
  ``referral`` of Click-to-WhatsApp ads, ``unsupported``);
- ``context`` (``id``, ``from``, ``forwarded``, ``frequently_forwarded``) — same pages;
- ``audio.voice`` and ``sticker.animated`` — /docs/whatsapp/cloud-api/webhooks/components;
- media ``url`` — sent by newer API versions beside ``id``
  (/docs/whatsapp/cloud-api/reference/media, "Retrieve media URL").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})


class Unsupported(Exception):
    """Internal: the message's content cannot be normalized (reason in ``args[0]``)."""


def opt_str(obj: dict[str, Any], key: str) -> str | None:
    """``obj[key]`` if it is a string, None if absent/null.

    Raises:
        Unsupported: present with another JSON type.
    """
    v = obj.get(key)
    if v is None or type(v) is str:
        return v
    raise Unsupported(f"{key} is not a string")


def _obj(msg: dict[str, Any], key: str) -> dict[str, Any]:
    v = msg.get(key)
    if type(v) is not dict:
        raise Unsupported(f"{key} object missing")
    return v


def _text(msg: dict[str, Any], mtype: str, data: dict[str, Any]) -> None:
    # text.body — payload-examples "Text Messages"
    body = _obj(msg, "text").get("body")
    if type(body) is not str:
        raise Unsupported("text.body is not a string")
    data["text"] = body


def _media(msg: dict[str, Any], mtype: str, data: dict[str, Any]) -> None:
    # image|video|audio|document|sticker: id, mime_type, sha256, caption, filename (document),
    # voice (audio), animated (sticker), url — webhooks/components "messages object"
    c = _obj(msg, mtype)
    media_id = opt_str(c, "id")
    url = opt_str(c, "url")
    if media_id is None and url is None:
        raise Unsupported(f"{mtype} has neither id nor url")
    media_type = mtype
    if mtype == "audio" and c.get("voice") is True:
        media_type = "voice"
    animated = None
    if mtype == "sticker":
        animated = c.get("animated")
        if animated is not None and type(animated) is not bool:
            raise Unsupported("sticker.animated is not a boolean")
    caption = opt_str(c, "caption")
    data["kind"] = "media"
    data["text"] = caption
    data["attachments"] = [
        {
            "media_type": media_type,
            "media_id": media_id,
            "url": url,
            "mime_type": opt_str(c, "mime_type"),
            "sha256": opt_str(c, "sha256"),
            "filename": opt_str(c, "filename"),
            "caption": caption,
            "animated": animated,
        }
    ]


def _number(c: dict[str, Any], key: str) -> float:
    v = c.get(key)
    if type(v) is float or type(v) is int:
        return v
    raise Unsupported(f"location.{key} is not a number")


def _location(msg: dict[str, Any], mtype: str, data: dict[str, Any]) -> None:
    # location: latitude, longitude, name, address, url — payload-examples "Location Messages"
    c = _obj(msg, "location")
    data["kind"] = "location"
    data["location"] = {
        "latitude": _number(c, "latitude"),
        "longitude": _number(c, "longitude"),
        "name": opt_str(c, "name"),
        "address": opt_str(c, "address"),
        "url": opt_str(c, "url"),
    }


def _strings(items: Any, key: str) -> list[str]:
    if type(items) is not list:
        return []
    return [i[key] for i in items if type(i) is dict and type(i.get(key)) is str]


def _contacts(msg: dict[str, Any], mtype: str, data: dict[str, Any]) -> None:
    # contacts[]: name.formatted_name, phones[].phone, emails[].email (card kept whole in raw)
    # — payload-examples "Contacts Messages"
    cards = msg.get("contacts")
    if type(cards) is not list or not cards:
        raise Unsupported("contacts is not a non-empty list")
    out = []
    for card in cards:
        if type(card) is not dict:
            raise Unsupported("a contact card is not an object")
        name = card.get("name")
        formatted = name.get("formatted_name") if type(name) is dict else None
        out.append(
            {
                "name": formatted if type(formatted) is str else None,
                "phones": _strings(card.get("phones"), "phone"),
                "emails": _strings(card.get("emails"), "email"),
                "raw": card,
            }
        )
    data["kind"] = "contacts"
    data["contacts"] = out


def _reaction(msg: dict[str, Any], mtype: str, data: dict[str, Any]) -> None:
    # reaction: message_id, emoji; emoji "" or absent = reaction removed — payload-examples
    # "Reaction Messages"
    c = _obj(msg, "reaction")
    target = c.get("message_id")
    if type(target) is not str or not target:
        raise Unsupported("reaction.message_id missing")
    emoji = opt_str(c, "emoji")
    data["kind"] = "reaction"
    data["reaction"] = {"message_id": target, "emoji": emoji or None}


def _reply(reply_type: str, c: dict[str, Any], id_key: str, title_key: str) -> dict[str, Any]:
    return {
        "reply_type": reply_type,
        "id": opt_str(c, id_key),
        "title": opt_str(c, title_key),
        "description": opt_str(c, "description"),
    }


def _interactive(msg: dict[str, Any], mtype: str, data: dict[str, Any]) -> None:
    # interactive.type button_reply {id,title} | list_reply {id,title,description} |
    # nfm_reply {name, body, response_json} (Flows) — payload-examples "Reply Button",
    # "List Messages"; /docs/whatsapp/flows/reference/responsejson
    c = _obj(msg, "interactive")
    itype = c.get("type")
    if itype == "button_reply":
        reply = _reply("button", _obj(c, "button_reply"), "id", "title")
    elif itype == "list_reply":
        reply = _reply("list", _obj(c, "list_reply"), "id", "title")
    elif itype == "nfm_reply":
        nfm = _obj(c, "nfm_reply")
        reply = {"reply_type": "flow", "id": opt_str(nfm, "name"),
                 "title": opt_str(nfm, "body"), "description": None}
        data["extra"]["nfm_reply"] = nfm
    else:
        raise Unsupported("unknown interactive type")
    data["kind"] = "interactive_reply"
    data["interactive"] = reply
    data["text"] = reply["title"]


def _button(msg: dict[str, Any], mtype: str, data: dict[str, Any]) -> None:
    # button: payload, text — a template quick-reply button; payload-examples
    # "Callback from a Quick Reply Button"
    reply = _reply("quick_reply", _obj(msg, "button"), "payload", "text")
    data["kind"] = "interactive_reply"
    data["interactive"] = reply
    data["text"] = reply["title"]


def _order(msg: dict[str, Any], mtype: str, data: dict[str, Any]) -> None:
    # order: catalog_id, text, product_items[] — payload-examples "Product Order"
    c = _obj(msg, "order")
    text = opt_str(c, "text")
    data["kind"] = "order"
    data["text"] = text or None
    data["extra"]["order"] = c


KINDS: dict[str, Callable[[dict[str, Any], str, dict[str, Any]], None]] = {
    "text": _text,
    "location": _location,
    "contacts": _contacts,
    "reaction": _reaction,
    "interactive": _interactive,
    "button": _button,
    "order": _order,
    **{t: _media for t in MEDIA_TYPES},
}
"""Message ``type`` → content function.  Types not here (``unsupported``, ``unknown``,
``request_welcome`` …) become ``io.omnisdk.message.unsupported``."""


def fill(msg: dict[str, Any], data: dict[str, Any]) -> None:
    """Fill ``data`` (a Message dict with kind "text" and empty content) from ``msg``.

    ``msg`` is a message object, or the inner ``edit.message`` of an edit; its ``context``
    gives ``reply_to`` (``context.id``) and ``forwarded`` (``context.forwarded`` or
    ``context.frequently_forwarded``), and its ``referral`` (Click-to-WhatsApp ads) goes to
    ``extra["referral"]``.

    Raises:
        Unsupported: unknown type or content of an unexpected shape.
    """
    mtype = msg.get("type")
    fn = KINDS.get(mtype) if type(mtype) is str else None
    if fn is None:
        raise Unsupported("unsupported message type")
    ctx = msg.get("context")
    if ctx is not None:
        if type(ctx) is not dict:
            raise Unsupported("context is not an object")
        data["reply_to"] = opt_str(ctx, "id")
        data["forwarded"] = ctx.get("forwarded") is True or ctx.get("frequently_forwarded") is True
    fn(msg, mtype, data)
    referral = msg.get("referral")
    if referral is not None:
        data["extra"]["referral"] = referral
