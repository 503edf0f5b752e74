"""Visitor frames to CloudEvents (pure: no I/O, no clock; the time is the gateway's receive time).

- ``message`` → ``io.omnisdk.message.received`` (kind ``text``, or ``media`` with attachments);
  id and ``message_id`` ``<session id>:<client id>``;
- ``receipt`` → ``io.omnisdk.message.status`` (``delivered`` or ``read`` of an agent's message),
  id ``<message id>:<status>``; only of a message delivered to the frame's own session (the id
  carries a tag of its session: :func:`omnisdk_webchat.protocol.is_message_of`), else
  :class:`ForeignMessageError` (403 ``foreign_message``);
- ``survey`` → ``io.omnisdk.survey.answered`` (kept once in the interaction's
  ``context["survey"]``, never in the transcript);
- ``typing`` → no event (ephemeral: relayed live, never stored).

Every other shape raises :class:`~omnisdk.errors.PayloadError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from omnisdk import payloads
from omnisdk.adapters import secret_value
from omnisdk.errors import PayloadError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS, TYPE_SURVEY_ANSWERED, Event
from omnisdk.model import conversation_key
from omnisdk.model.addresses import Channel
from omnisdk_webchat.protocol import (
    CLIENT_ID,
    OUTBOUND_ID_PREFIX,
    SESSION_ID,
    VERSION,
    is_message_of,
)
from omnisdk_webchat.sessions import Session
from omnisdk_webchat.settings import WebchatSettings

CHANNEL = Channel.CHAT
MAX_ATTACHMENTS = 4
MEDIA_TYPES = {"image": "image", "application/pdf": "document", "text": "document", "audio": "audio", "video": "video"}
RECEIPT_STATUSES = ("delivered", "read")
__all__ = ["OUTBOUND_ID_PREFIX", "ForeignMessageError", "attachment", "frame_session", "frame_type", "media_type",
           "parse"]


class ForeignMessageError(PayloadError):
    """A visitor's receipt names an agent message that was not delivered to its own session
    (403 ``foreign_message``; nothing stored).  A :class:`PayloadError`, the one error
    ``parse()`` may raise."""

    status = 403
    reason = "foreign_message"


def media_type(mime: str) -> str:
    """The normalized media type of a MIME type (``image/png`` → ``image``, else ``document``)."""
    major = mime.split("/", 1)[0]
    return MEDIA_TYPES.get(mime) or MEDIA_TYPES.get(major) or "document"


def frame_type(body: bytes, max_bytes: int) -> tuple[dict[str, Any], str]:
    """The decoded frame and its type.

    Raises:
        PayloadError: not a JSON object of version 1 with a string ``type``, above
            ``max_bytes``, or nested too deep.
    """
    if len(body) > max_bytes:
        raise PayloadError(f"webchat: frame of {len(body)} bytes is above the limit of {max_bytes}")
    doc = payloads.loads(body)
    if type(doc) is not dict or doc.get("v") != VERSION or type(doc.get("type")) is not str:
        raise PayloadError("webchat: a frame is a JSON object with \"v\": 1 and a string \"type\"")
    return doc, doc["type"]


def frame_session(doc: dict[str, Any]) -> str:
    """The frame's ``session`` (the visitor's session id).

    Raises:
        PayloadError: missing or not a session id.
    """
    sid = doc.get("session")
    if type(sid) is not str or not SESSION_ID.fullmatch(sid):
        raise PayloadError("webchat: session is a session id (v_... or u_...)")
    return sid


def parse(body: bytes, *, token: Session | None, settings: WebchatSettings, source: str,
          received_at: str) -> list[Event]:
    """The events of one frame (see the module docstring); the customer is the frame's
    ``session``, and ``token`` (the claims of the request's session token, checked by
    ``verify()``) adds an identified visitor's name and identity when it names that session.

    Raises:
        PayloadError: malformed frame, unknown type, a text or attachment over its limit, an
            attachment type not in ``attachment_types``, bad base64.
        ForeignMessageError: a receipt of a message of another session.
    """
    try:
        doc, kind = frame_type(body, settings.max_frame_bytes)
        sid = frame_session(doc)
        session = token if token is not None and token.sid == sid else Session(sid=sid, exp=0)
        key = conversation_key(source, CHANNEL, settings.business, session.sid)
        if kind == "typing":
            if doc.get("state") not in ("on", "off"):
                raise PayloadError("webchat: typing.state is 'on' or 'off'")
            return []
        cid = doc.get("id")
        if type(cid) is not str or not CLIENT_ID.fullmatch(cid):
            raise PayloadError("webchat: id is 8-64 characters of [A-Za-z0-9_-]")
        if kind == "message":
            return [_message(doc, cid, session, settings, source, key, received_at)]
        if kind == "receipt":
            return [_receipt(doc, session, settings, source, key, received_at)]
        if kind == "survey":
            return [_survey(doc, cid, session, settings, source, key, received_at)]
        raise PayloadError("webchat: unknown frame type")
    except PayloadError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise PayloadError(f"webchat: malformed frame ({type(exc).__name__})") from None


def _text(doc: dict[str, Any], settings: WebchatSettings, *, required: bool) -> str | None:
    text = doc.get("text")
    if text is None and not required:
        return None
    if type(text) is not str or (required and not text.strip()):
        raise PayloadError("webchat: text is a non-empty string")
    if len(text) > settings.max_text_chars:
        raise PayloadError(f"webchat: text is longer than {settings.max_text_chars} characters")
    return text


def attachment(item: Any, settings: WebchatSettings) -> dict[str, Any]:
    """One checked attachment as :class:`omnisdk.model.Attachment` data: its bytes stay in the
    event as a ``data:`` URL (nothing is ever fetched), with ``size`` and ``sha256`` (hex).

    Raises:
        PayloadError: a missing or disallowed ``mime_type``, bad base64, over
            ``max_attachment_bytes``, a bad ``filename``.
    """
    if type(item) is not dict:
        raise PayloadError("webchat: an attachment is an object")
    mime, data, filename = item.get("mime_type"), item.get("data"), item.get("filename")
    if type(mime) is not str or mime not in settings.attachment_types:
        raise PayloadError("webchat: attachment type not allowed")
    if type(data) is not str or len(data) > (settings.max_attachment_bytes * 4) // 3 + 4:
        raise PayloadError(f"webchat: attachment above the limit of {settings.max_attachment_bytes} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadError("webchat: attachment data is not base64") from None
    if len(raw) > settings.max_attachment_bytes:
        raise PayloadError(f"webchat: attachment above the limit of {settings.max_attachment_bytes} bytes")
    if not raw:
        raise PayloadError("webchat: an attachment is not empty")
    if filename is not None and (type(filename) is not str or not 0 < len(filename) <= 200
                                 or any(c in filename for c in "/\\\x00")):
        raise PayloadError("webchat: filename is 1-200 characters without path separators")
    return {"media_type": media_type(mime), "mime_type": mime, "filename": filename, "size": len(raw),
            "sha256": hashlib.sha256(raw).hexdigest(), "url": f"data:{mime};base64,{data}"}


def _message(doc: dict[str, Any], cid: str, session: Session, settings: WebchatSettings, source: str,
             key: str, received_at: str) -> Event:
    items = doc.get("attachments", [])
    if type(items) is not list or len(items) > MAX_ATTACHMENTS:
        raise PayloadError(f"webchat: attachments is a list of at most {MAX_ATTACHMENTS}")
    attachments = [attachment(item, settings) for item in items]
    text = _text(doc, settings, required=not attachments)
    mid = f"{session.sid}:{cid}"
    data: dict[str, Any] = {
        "message_id": mid, "channel": CHANNEL, "customer": session.sid, "business": settings.business,
        "customer_name": session.name, "kind": "media" if attachments else "text", "text": text,
        "attachments": attachments, "extra": {},
    }
    if session.identified:
        data["extra"]["identity"] = {"user_id": session.sid.removeprefix("u_"), "name": session.name,
                                     "email": session.email}
    return Event(id=mid, source=source, type=TYPE_MESSAGE_RECEIVED, data=data, time=received_at,
                 subject=mid, partitionkey=key)


def _receipt(doc: dict[str, Any], session: Session, settings: WebchatSettings, source: str, key: str,
             received_at: str) -> Event:
    mid, status = doc.get("message_id"), doc.get("status")
    if type(mid) is not str or not mid.startswith(OUTBOUND_ID_PREFIX) or not 4 < len(mid) <= 80:
        raise PayloadError("webchat: receipt.message_id names an agent message (wco_...)")
    if status not in RECEIPT_STATUSES:
        raise PayloadError("webchat: receipt.status is 'delivered' or 'read'")
    if not is_message_of(secret_value(settings.session_secret), session.sid, mid):
        raise ForeignMessageError("webchat: the receipt names a message of another session")
    data = {"message_id": mid, "channel": CHANNEL, "status": status, "provider_status": status,
            "customer": session.sid, "business": settings.business, "at": received_at}
    return Event(id=f"{mid}:{status}", source=source, type=TYPE_MESSAGE_STATUS, data=data, time=received_at,
                 subject=mid, partitionkey=key)


def _survey(doc: dict[str, Any], cid: str, session: Session, settings: WebchatSettings, source: str, key: str,
            received_at: str) -> Event:
    score, comment, interaction = doc.get("score"), doc.get("comment"), doc.get("interaction_id")
    if type(score) is not int or not 1 <= score <= 5:
        raise PayloadError("webchat: survey.score is an integer from 1 to 5")
    if comment is not None and (type(comment) is not str or len(comment) > 1000):
        raise PayloadError("webchat: survey.comment is a string of at most 1000 characters")
    if interaction is not None and (type(interaction) is not str or not 0 < len(interaction) <= 80):
        raise PayloadError("webchat: survey.interaction_id is a string")
    eid = f"{session.sid}:{cid}"
    data = {"channel": CHANNEL, "customer": session.sid, "business": settings.business,
            "interaction_id": interaction, "score": score, "comment": comment}
    return Event(id=eid, source=source, type=TYPE_SURVEY_ANSWERED, data=data, time=received_at,
                 subject=eid, partitionkey=key)
