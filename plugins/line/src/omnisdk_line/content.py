"""Message content: one LINE message object → the content fields of ``omnisdk.model.Message``.

Pure helpers used by :mod:`omnisdk_line.translate`.  Each ``_kind`` function reads one message
object (``event.message``) and fills a plain ``data`` dict; on content it cannot normalize it
raises :class:`Unsupported`, and the caller emits ``io.omnisdk.message.unsupported`` with the
raw message kept: a customer message is never dropped because of an unexpected shape.

Field provenance: the message event objects of
https://developers.line.biz/en/reference/messaging-api/#message-event —
text (``text``, ``emojis``, ``mention``, ``quoteToken``, ``quotedMessageId``:
#wh-text), image (``contentProvider``, ``imageSet``: #wh-image), video (``duration``,
``contentProvider``: #wh-video), audio (#wh-audio), file (``fileName``, ``fileSize``:
#wh-file), location (``title``, ``address``, ``latitude``, ``longitude``: #wh-location),
sticker (``packageId``, ``stickerId``, ``stickerResourceType``, ``keywords``, ``text``:
#wh-sticker).  Media of ``contentProvider.type == "line"`` (and files, which have no content
provider) are fetched by message id with the content API
(https://developers.line.biz/en/reference/messaging-api/#get-content), so the attachment's
``media_id`` is the message id; ``external`` media carry ``originalContentUrl`` /
``previewImageUrl`` instead, which the content API cannot serve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Unsupported(Exception):
    """Internal: the message's content cannot be normalized (reason in ``args[0]``)."""


ANIMATED_STICKERS = frozenset({"ANIMATION", "ANIMATION_SOUND", "POPUP", "POPUP_SOUND"})
"""``stickerResourceType`` values of moving stickers (#wh-sticker)."""


def opt_str(obj: dict[str, Any], key: str) -> str | None:
    """``obj[key]`` if it is a string, None if absent or null.

    Raises:
        Unsupported: present with another JSON type.
    """
    v = obj.get(key)
    if v is None or type(v) is str:
        return v
    raise Unsupported(f"{key} is not a string")


def _number(obj: dict[str, Any], key: str) -> float:
    v = obj.get(key)
    if type(v) is float or type(v) is int:
        return v
    raise Unsupported(f"{key} is not a number")


def _text(msg: dict[str, Any], data: dict[str, Any]) -> None:
    text = msg.get("text")
    if type(text) is not str:
        raise Unsupported("text is not a string")
    data["text"] = text
    for key, name in (("emojis", "emojis"), ("mention", "mention")):
        if msg.get(key) is not None:
            data["extra"][name] = msg[key]


def _media(media_type: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def fill(msg: dict[str, Any], data: dict[str, Any]) -> None:
        provider = msg.get("contentProvider")
        if provider is not None and type(provider) is not dict:
            raise Unsupported("contentProvider is not an object")
        ptype = opt_str(provider, "type") if provider else None
        attachment: dict[str, Any] = {"media_type": media_type, "media_id": data["message_id"]}
        if ptype == "external":
            url = opt_str(provider, "originalContentUrl")  # type: ignore[arg-type]
            if not url:
                raise Unsupported("external content without originalContentUrl")
            attachment = {"media_type": media_type, "media_id": None, "url": url}
            preview = opt_str(provider, "previewImageUrl")  # type: ignore[arg-type]
            if preview:
                data["extra"]["preview_url"] = preview
        elif ptype not in (None, "line"):
            raise Unsupported("unknown contentProvider.type")
        if media_type == "document":
            attachment["filename"] = opt_str(msg, "fileName")
            size = msg.get("fileSize")
            if size is not None and (type(size) is not int or size < 0):
                raise Unsupported("fileSize is not a non-negative integer")
            attachment["size"] = size
        duration = msg.get("duration")
        if duration is not None:
            if type(duration) is not int:
                raise Unsupported("duration is not an integer")
            data["extra"]["duration_ms"] = duration
        if msg.get("imageSet") is not None:
            data["extra"]["image_set"] = msg["imageSet"]
        data["kind"] = "media"
        data["attachments"] = [attachment]

    return fill


def _location(msg: dict[str, Any], data: dict[str, Any]) -> None:
    data["kind"] = "location"
    data["location"] = {
        "latitude": _number(msg, "latitude"),
        "longitude": _number(msg, "longitude"),
        "name": opt_str(msg, "title"),
        "address": opt_str(msg, "address"),
        "url": None,
    }


def _sticker(msg: dict[str, Any], data: dict[str, Any]) -> None:
    package, sticker = opt_str(msg, "packageId"), opt_str(msg, "stickerId")
    if not package or not sticker:
        raise Unsupported("sticker without packageId or stickerId")
    resource = opt_str(msg, "stickerResourceType")
    keywords = msg.get("keywords")
    data["kind"] = "media"
    data["text"] = opt_str(msg, "text")
    # stickers are not served by the content API: no media_id; the ids are kept in extra
    data["attachments"] = [{"media_type": "sticker", "media_id": None,
                            "animated": resource in ANIMATED_STICKERS if resource else None}]
    data["extra"]["sticker"] = {
        "package_id": package, "sticker_id": sticker, "resource_type": resource,
        "keywords": keywords if type(keywords) is list else None,
    }


KINDS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "text": _text,
    "image": _media("image"),
    "video": _media("video"),
    "audio": _media("audio"),
    "file": _media("document"),
    "location": _location,
    "sticker": _sticker,
}
"""LINE message ``type`` → content function; any other type is unsupported."""


def fill(msg: dict[str, Any], data: dict[str, Any]) -> None:
    """Fill ``data`` (a Message dict with kind "text" and empty content) from ``msg``.

    ``quotedMessageId`` gives ``reply_to``; ``quoteToken`` (needed to quote the message in a
    reply, #send-push-message ``quoteToken``) and ``markAsReadToken`` go to ``extra``.

    Raises:
        Unsupported: an unknown type, or content of an unexpected shape.
    """
    mtype = msg.get("type")
    fn = KINDS.get(mtype) if type(mtype) is str else None
    if fn is None:
        raise Unsupported("unsupported message type")
    fn(msg, data)
    data["reply_to"] = opt_str(msg, "quotedMessageId")
    for key, name in (("quoteToken", "quote_token"), ("markAsReadToken", "mark_as_read_token")):
        value = opt_str(msg, key)
        if value is not None:
            data["extra"][name] = value
