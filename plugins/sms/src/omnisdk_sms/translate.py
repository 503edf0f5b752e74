"""Twilio messaging webhook parameters → CloudEvents.  Pure: no I/O, no clock.

Two webhooks reach the ``sms`` plugin, both ``application/x-www-form-urlencoded``:

**Incoming message** (twilio.com/docs/messaging/guides/webhook-request):
``MessageSid`` (``SmsSid``/``SmsMessageSid`` are deprecated copies), ``AccountSid``,
``MessagingServiceSid``, ``From`` (the customer), ``To`` (the business number), ``Body``,
``NumMedia``, ``NumSegments``, ``MediaContentType{N}``/``MediaUrl{N}`` for N < NumMedia,
geographic ``FromCity``/``FromState``/``FromZip``/``FromCountry`` (and ``To…``) when Twilio
knows them, ``SmsStatus=received``, ``ApiVersion``; ``OptOutType`` (``STOP``/``START``/``HELP``)
when Advanced Opt-Out handled a keyword (twilio.com/docs/messaging/tutorials/advanced-opt-out).

**Status callback** (twilio.com/docs/messaging/guides/track-outbound-message-status; status
words from the Message status values of twilio.com/docs/messaging/api/message-resource and
twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks):
``MessageSid``/``SmsSid``, ``MessageStatus`` (``SmsStatus`` is the older copy), ``To`` (the
customer), ``From`` (the business sender), ``AccountSid``, ``ApiVersion``, ``ErrorCode`` for
``failed``/``undelivered`` (codes of twilio.com/docs/api/errors), sometimes
``MessagingServiceSid``, ``RawDlrDoneDate``; ``ErrorMessage`` is used as the error title when
present.

Twilio sends no event timestamp in either, so ``time`` is the gateway's receive time.

Decision on status words: a word of the documented list maps to a :class:`DeliveryStatus`
(table :data:`STATUS_MAP`); an unknown word raises :class:`PayloadError` (reason
``unknown_status``) rather than guessing a rank, because a wrong guess could move delivery
state past the truth (the core only lets status move forward).  ``receiving`` (an inbound
message still arriving) is no fact either and is refused the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from omnisdk.errors import PayloadError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, TYPE_MESSAGE_STATUS, Event
from omnisdk.model.addresses import conversation_key

CHANNEL = "sms"

STATUS_MAP: dict[str, str] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "partially_delivered": "sent",  # some recipients/segments got it: at least sent
    "delivered": "delivered",
    "read": "read",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
"""Twilio ``MessageStatus`` → omnisdk :class:`~omnisdk.model.DeliveryStatus` value."""

INBOUND_STATUS = "received"

EXTRA_FIELDS = (
    "AccountSid",
    "MessagingServiceSid",
    "NumSegments",
    "FromCity",
    "FromState",
    "FromZip",
    "FromCountry",
    "OptOutType",
)
"""Inbound parameters kept, under their Twilio names, in ``Message.extra``."""

_NUM_MEDIA = re.compile(r"[0-9]{1,2}")
_MEDIA_MAJOR = frozenset({"image", "video", "audio"})


def to_events(params: Mapping[str, str], *, source: str, received_at: str) -> list[Event]:
    """The one CloudEvent of a Twilio messaging webhook.

    Args:
        params: the decoded form parameters (one value per name).
        source: the adapter's CloudEvents ``source`` (``/sms/{account}``).
        received_at: RFC 3339 time the gateway received the request.

    Returns:
        ``[Event]`` of type ``io.omnisdk.message.received`` (``data`` shaped as
        :class:`omnisdk.model.Message`) or ``io.omnisdk.message.status`` (``data`` shaped as
        :class:`omnisdk.model.StatusUpdate`), with plain-dict ``data``.

    Raises:
        PayloadError: no ``MessageSid``/``SmsSid``; an inbound message without ``From``/``To``,
            with a ``NumMedia`` that is not a small non-negative integer, with a missing
            ``MediaUrl{N}``, or with neither ``Body`` nor media; an unknown status word; a
            body that is neither an inbound message nor a status callback.
    """
    sid = params.get("MessageSid") or params.get("SmsSid")
    if not sid:
        raise PayloadError("Twilio webhook lacks MessageSid", reason="missing_field")
    word = params.get("MessageStatus") or params.get("SmsStatus")
    if not word:
        if "Body" in params or "NumMedia" in params:
            return [_inbound(sid, params, source, received_at)]
        raise PayloadError(
            "neither an incoming message nor a status callback", reason="malformed_payload"
        )
    if word == INBOUND_STATUS:
        return [_inbound(sid, params, source, received_at)]
    status = STATUS_MAP.get(word)
    if status is None:
        raise PayloadError(f"unknown Twilio message status {word[:40]!r}", reason="unknown_status")
    return [_status(sid, word, status, params, source, received_at)]


OPT_OUT_TYPES = {"STOP": "opt_out", "START": "opt_in", "HELP": "help"}
"""Twilio's ``OptOutType`` (Advanced Opt-Out; twilio.com/docs/messaging/tutorials/advanced-opt-out)
→ ``Message.consent``."""

KEYWORDS = {
    **dict.fromkeys(("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), "opt_out"),
    **dict.fromkeys(("START", "YES", "UNSTOP"), "opt_in"),
    **dict.fromkeys(("HELP", "INFO"), "help"),
}
"""Twilio's default opt-out, opt-in and help keywords (support.twilio.com "Twilio support for
opt-out keywords (SMS STOP filtering)"): a message whose whole body is one of them (any case,
spaces trimmed) changes consent even without ``OptOutType``."""


def consent(params: Mapping[str, str]) -> str | None:
    """``opt_out``, ``opt_in``, ``help`` or None for an inbound message: ``OptOutType`` when
    Twilio sends it, else the body's keyword."""
    kind = params.get("OptOutType")
    if kind:
        return OPT_OUT_TYPES.get(kind.strip().upper())
    return KEYWORDS.get((params.get("Body") or "").strip().upper())


def media_type(content_type: str | None) -> str:
    """``image``/``video``/``audio`` from a MIME type's major type, else ``document``."""
    if content_type:
        major = content_type.partition("/")[0].strip().lower()
        if major in _MEDIA_MAJOR:
            return major
    return "document"


def _inbound(sid: str, params: Mapping[str, str], source: str, received_at: str) -> Event:
    customer = params.get("From")
    business = params.get("To")
    if not customer or not business:
        raise PayloadError("incoming message lacks From or To", reason="missing_field")
    raw_n = params.get("NumMedia") or "0"
    if not _NUM_MEDIA.fullmatch(raw_n):
        raise PayloadError(
            "NumMedia is not a small non-negative integer", reason="malformed_payload"
        )
    count = int(raw_n)
    attachments: list[dict[str, Any]] = []
    for i in range(count):
        url = params.get(f"MediaUrl{i}")
        if not url:
            raise PayloadError(
                f"NumMedia is {count} but MediaUrl{i} is missing", reason="missing_field"
            )
        mime = params.get(f"MediaContentType{i}") or None
        attachments.append({"media_type": media_type(mime), "url": url, "mime_type": mime})
    body = params.get("Body")
    if count:
        kind, text = "media", body or None
    elif body is None:
        raise PayloadError("incoming message has neither Body nor media", reason="missing_field")
    else:
        kind, text = "text", body
    extra = {name: params[name] for name in EXTRA_FIELDS if name in params}
    data: dict[str, Any] = {
        "message_id": sid,
        "channel": CHANNEL,
        "customer": customer,
        "business": business,
        "kind": kind,
        "text": text,
        "attachments": attachments,
        "extra": extra,
    }
    word = consent(params)
    if word:
        data["consent"] = word
    return Event(
        id=sid,
        source=source,
        type=TYPE_MESSAGE_RECEIVED,
        data=data,
        time=received_at,
        subject=sid,
        partitionkey=conversation_key(source, CHANNEL, business, customer),
    )


def _status(
    sid: str, word: str, status: str, params: Mapping[str, str], source: str, received_at: str
) -> Event:
    customer = params.get("To") or None
    business = params.get("From") or None
    data: dict[str, Any] = {
        "message_id": sid,
        "channel": CHANNEL,
        "status": status,
        "provider_status": word,
        "customer": customer,
        "business": business,
    }
    if status == "failed":
        error: dict[str, str] = {}
        if code := params.get("ErrorCode"):
            error["code"] = code
        if title := params.get("ErrorMessage"):
            error["title"] = title
        data["error"] = error
    return Event(
        id=f"{sid}:{word}",
        source=source,
        type=TYPE_MESSAGE_STATUS,
        data=data,
        time=received_at,
        subject=sid,
        partitionkey=(
            conversation_key(source, CHANNEL, business, customer) if business and customer else None
        ),
    )
