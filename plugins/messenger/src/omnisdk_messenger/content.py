"""Message content: one Messenger ``message`` object → the content fields of
``omnisdk.model.Message``.  Pure helpers of :mod:`omnisdk_messenger.translate`.

Field provenance: the messages webhook event reference
(https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messages):
``mid``, ``text``, ``quick_reply.payload``, ``reply_to.mid`` (and ``reply_to.is_self_reply``),
``attachments[].type`` and ``attachments[].payload.url`` for ``image``, ``video``, ``audio``
and ``file``; ``sticker`` attachments with ``payload.sticker_id`` (sent as ``image`` with a
``sticker_id`` until the transition ends on 2026-08-30, both types in one message meanwhile);
``location`` attachments with ``payload.coordinates.lat`` / ``.long`` and a ``title`` / ``url``
(https://developers.facebook.com/docs/messenger-platform/send-messages/quick-replies#location,
older location sharing); ``fallback`` attachments — a shared link, ``title`` and ``url``
(``URL`` in older payloads), no or a null payload; ``template`` attachments — a shared
structured message (product or generic template: ``payload.template_type``,
``payload.elements[]`` / ``payload.product.elements[]``), the same shapes as in
https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/message-echoes.

What a message becomes (``kind``):

- ``quick_reply.payload`` → ``interactive_reply`` (``reply_type`` ``quick_reply``, ``id`` the
  payload, ``title`` the button's text, which Messenger posts as the message text);
- any image, video, audio, file or sticker → ``media`` (one :class:`Attachment` each, by
  ``url``: the CDN URL Meta sends, which expires; ``file`` is ``document``), the text as its
  caption;
- a location (alone) → ``location``;
- a fallback or template (alone) → ``text``: the message text, else the link's or the first
  element's title; the link(s) in ``extra.links``, the template payload(s) in
  ``extra.templates``;
- text alone → ``text``.

Content of another attachment type (``reel``, ``ig_reel``, ``post``, ``appointment_booking`` …,
or a type Meta adds later), or of an unexpected shape, raises :class:`Unsupported`: the
caller emits ``io.omnisdk.message.unsupported`` with the raw message kept.
"""

from __future__ import annotations

from typing import Any

MEDIA_TYPES = {"image": "image", "video": "video", "audio": "audio", "file": "document", "sticker": "sticker"}
"""Messenger attachment ``type`` → omnisdk ``media_type``."""


class Unsupported(Exception):
    """Internal: content that cannot be normalized (reason in ``args[0]``)."""


def opt_str(obj: dict[str, Any], key: str) -> str | None:
    """``obj[key]`` if a string, None if absent or null.

    Raises:
        Unsupported: present with another JSON type.
    """
    v = obj.get(key)
    if v is None or type(v) is str:
        return v
    raise Unsupported(f"{key} is not a string")


def _obj(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if type(value) is not dict:
        raise Unsupported(f"{what} is not an object")
    return value


def _number(obj: dict[str, Any], key: str) -> float:
    v = obj.get(key)
    if (type(v) is float or type(v) is int) and v == v:
        return v
    raise Unsupported(f"coordinates.{key} is not a number")


class _Parts:
    """What the attachments hold, gathered before the kind is chosen."""

    __slots__ = ("media", "location", "links", "templates", "stickers")

    def __init__(self) -> None:
        self.media: list[dict[str, Any]] = []
        self.location: dict[str, Any] | None = None
        self.links: list[dict[str, Any]] = []
        self.templates: list[dict[str, Any]] = []
        self.stickers: list[str] = []


def _media(att: dict[str, Any], payload: dict[str, Any], parts: _Parts) -> None:
    media_type = MEDIA_TYPES[att["type"]]
    url = opt_str(payload, "url")
    sticker = payload.get("sticker_id")
    if sticker is not None:
        if type(sticker) is not int and type(sticker) is not str:
            raise Unsupported("sticker_id is not a number or string")
        sticker = str(sticker)
        if sticker in parts.stickers:  # the same sticker sent as "sticker" and as "image"
            return
        parts.stickers.append(sticker)
        media_type = "sticker"
    elif media_type == "sticker":
        raise Unsupported("sticker attachment without payload.sticker_id")
    if not url:
        raise Unsupported("media attachment without payload.url")
    parts.media.append({"media_type": media_type, "media_id": None, "url": url})


def _location(att: dict[str, Any], payload: dict[str, Any], parts: _Parts) -> None:
    if parts.location is not None:
        raise Unsupported("more than one location")
    coords = _obj(payload.get("coordinates"), "payload.coordinates")
    lat, lon = _number(coords, "lat"), _number(coords, "long")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Unsupported("coordinates out of range")
    parts.location = {"latitude": lat, "longitude": lon, "name": opt_str(att, "title"), "address": None,
                      "url": opt_str(att, "url")}


def _fallback(att: dict[str, Any], payload: dict[str, Any], parts: _Parts) -> None:
    title = opt_str(att, "title") or opt_str(payload, "title")
    url = opt_str(att, "url") or opt_str(att, "URL") or opt_str(payload, "url")
    parts.links.append({"title": title, "url": url})


def _template(att: dict[str, Any], payload: dict[str, Any], parts: _Parts) -> None:
    if not payload:
        raise Unsupported("template attachment without payload")
    parts.templates.append(payload)


_NO_PARTS = _Parts()
"""What a message without attachments holds (shared: read, never written)."""
_ATTACHMENTS = {"location": _location, "fallback": _fallback, "template": _template}


def _template_title(payload: dict[str, Any]) -> str | None:
    elements = payload.get("elements")
    product = payload.get("product")
    if elements is None and type(product) is dict:
        elements = product.get("elements")
    first = elements[0] if type(elements) is list and elements else None
    title = first.get("title") if type(first) is dict else None
    return title if type(title) is str and title else None


def gather(msg: dict[str, Any]) -> _Parts:
    """Read ``msg["attachments"]`` (the result is shared when there are none: read it only).

    Raises:
        Unsupported: see the module docstring.
    """
    atts = msg.get("attachments")
    if atts is None:
        return _NO_PARTS
    parts = _Parts()
    if type(atts) is not list:
        raise Unsupported("attachments is not a list")
    for att in atts:
        if type(att) is not dict:
            raise Unsupported("attachment is not an object")
        atype = att.get("type")
        payload = _obj(att.get("payload"), "attachment payload")
        if type(atype) is str and atype in MEDIA_TYPES:  # a list or an object is unhashable
            _media(att, payload, parts)
        elif type(atype) is str and atype in _ATTACHMENTS:
            _ATTACHMENTS[atype](att, payload, parts)
        else:
            raise Unsupported("unsupported attachment type")
    return parts


def fill(msg: dict[str, Any], data: dict[str, Any]) -> None:
    """Fill ``data`` (a Message dict of kind "text", no content) from ``msg``.

    Raises:
        Unsupported: see the module docstring.
    """
    text = opt_str(msg, "text")
    if len(msg) == 2 and text:  # {"mid", "text"}: the common case, nothing else to read
        data["text"] = text
        return
    parts = gather(msg)
    extra = data["extra"]
    quick = msg.get("quick_reply")
    if quick is not None:
        payload = opt_str(_obj(quick, "quick_reply"), "payload")
        if payload is None:
            raise Unsupported("quick_reply without payload")
        data["kind"] = "interactive_reply"
        data["interactive"] = {"reply_type": "quick_reply", "id": payload, "title": text, "description": None}
    elif parts.media:
        data["kind"] = "media"
    elif parts.location is not None:
        data["kind"] = "location"
    elif not (text or parts.links or parts.templates):
        raise Unsupported("message with no text or attachments")
    data["text"] = text
    if parts.media:
        data["attachments"] = parts.media
    if parts.location is not None:
        data["location"] = parts.location
    if parts.stickers:
        extra["sticker_ids"] = parts.stickers
    if parts.links:
        extra["links"] = parts.links
        data["text"] = data["text"] or parts.links[0]["title"] or parts.links[0]["url"]
    if parts.templates:
        extra["templates"] = parts.templates
        data["text"] = data["text"] or _template_title(parts.templates[0])
    reply = msg.get("reply_to")
    if reply is not None:
        reply = _obj(reply, "reply_to")
    if reply:
        data["reply_to"] = opt_str(reply, "mid")
        if type(reply.get("is_self_reply")) is bool:
            extra["is_self_reply"] = reply["is_self_reply"]
