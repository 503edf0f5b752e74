"""LINE webhook body → CloudEvents.  Pure: no I/O, no clock.

Envelope (https://developers.line.biz/en/reference/messaging-api/#request-body)::

    {"destination": BOT_USER_ID, "events": [EVENT, ...]}

The console's "Verify" button sends ``"events": []``
(https://developers.line.biz/en/docs/messaging-api/receiving-messages/): it parses to no
event, and the gateway answers 200 with nothing stored.

Every event (https://developers.line.biz/en/reference/messaging-api/#common-properties) has
``type``, ``mode`` (``active``/``standby``), ``timestamp`` (milliseconds since the epoch),
``source`` (absent for some module-channel events), ``webhookEventId`` (a ULID, unique per
event and kept on redelivery) and ``deliveryContext.isRedelivery``
(https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects).

Common attributes of every event built here: ``id`` = ``webhookEventId`` (so a redelivery is
deduplicated by the inbox), ``time`` = ``timestamp`` as RFC 3339 UTC with milliseconds (never
the clock), ``source`` = the adapter's source.  ``isRedelivery`` is kept in the data
(``extra.is_redelivery``, or the notice's ``raw``) and never changes the id.

**The conversation key** (source object,
https://developers.line.biz/en/reference/messaging-api/#source-user, #source-group,
#source-room): the customer address is the chat a reply must go to, which is also what the
push API's ``to`` accepts (#send-push-message): ``userId`` for a one-to-one chat, ``groupId``
for a group chat, ``roomId`` for a multi-person chat.  In a group or room, the member who
wrote (``source.userId``, only sent when the user consented) is kept in
``extra.user_id``; the whole group is one conversation.  ``business`` is always
``destination``, the bot's user id (the gateway refuses a destination the account does not
own).  ``partitionkey`` = ``conversation_key(source, "line", destination, chat id)``.

What each event ``type`` becomes:

- ``message`` (#message-event) → ``io.omnisdk.message.received`` (data: Message; subject the
  message id) for text, image, video, audio, file, location and sticker (see
  :mod:`omnisdk_line.content`); another message type, or content of an unexpected shape →
  ``io.omnisdk.message.unsupported`` (kind ``unsupported``, ``extra.raw`` the message).
- ``postback`` (#postback-event) → ``io.omnisdk.message.received`` of kind
  ``interactive_reply``: ``interactive.reply_type`` ``postback``, ``interactive.id`` the
  ``postback.data``; ``postback.params`` (date/time picker, rich menu switch) in
  ``extra.postback_params``.  No message id exists: ``message_id`` is the webhookEventId.
- ``unsend`` (#unsend-event) → ``io.omnisdk.message.deleted`` (message_id =
  ``unsend.messageId``; subject the same).
- ``follow`` (#follow-event, ``follow.isUnblocked``), ``unfollow`` (#unfollow-event: the user
  blocked the bot), ``memberJoined`` / ``memberLeft`` (#member-joined-event,
  #member-left-event: ``joined.members`` / ``left.members`` user ids in ``extra.members``)
  and ``accountLink`` (#account-link-event: ``link.result``, ``link.nonce``) →
  ``io.omnisdk.contact.changed`` (``kind`` the event type): each is a fact about the customer
  (or the group) the conversation is with.
- ``join`` / ``leave`` (#join-event, #leave-event: the bot itself entered or left a chat),
  ``beacon`` (#beacon-event) and ``videoPlayComplete`` (#video-viewing-complete) →
  ``io.omnisdk.provider.notice`` (``kind`` the type, ``raw`` the event; ``business`` and
  ``customer`` alongside): no customer message, kept, never dropped.
- any other ``type`` (``messageEdited``, ``undefined`` in line-bot-sdk's fixtures, or a type
  LINE adds later) → ``io.omnisdk.message.unsupported`` with ``extra.type``,
  ``extra.reason`` and ``extra.raw`` (the event), ``message_id`` the webhookEventId.
- an event with no ``source``, or a source ``type`` other than user/group/room →
  ``io.omnisdk.provider.notice`` with ``reason`` ``unsupported_source`` (no conversation to
  thread it into).

A body that is not JSON, has no ``destination`` or ``events`` list, or an event without a
``webhookEventId`` or an integer ``timestamp``, or a user/group/room source without its id,
raises :class:`~omnisdk.errors.PayloadError`.
"""

from __future__ import annotations

from typing import Any

from omnisdk import payloads
from omnisdk.errors import PayloadError
from omnisdk.events import (
    TYPE_CONTACT_CHANGED,
    TYPE_MESSAGE_DELETED,
    TYPE_MESSAGE_RECEIVED,
    TYPE_MESSAGE_UNSUPPORTED,
    TYPE_PROVIDER_NOTICE,
    Event,
    epoch_to_rfc3339,
)
from omnisdk.model.addresses import conversation_key
from omnisdk_line.content import Unsupported, fill

CHANNEL = "line"
_YEAR_10000_MS = 253402300800 * 1000
_SOURCE_IDS = {"user": "userId", "group": "groupId", "room": "roomId"}
CONTACT_TYPES = frozenset({"follow", "unfollow", "memberJoined", "memberLeft", "accountLink"})
NOTICE_TYPES = frozenset({"join", "leave", "beacon", "videoPlayComplete"})
_CONTACT_OBJECTS = {"follow": "follow", "memberJoined": "joined", "memberLeft": "left",
                    "accountLink": "link"}


class _Bad(Exception):
    """Internal: the envelope is malformed; becomes PayloadError."""


def parse(body: bytes, *, source: str) -> list[Event]:
    """Translate one webhook body into events (see the module docstring for the mapping).

    Returns an empty list for ``"events": []`` (the console's Verify request).

    Raises:
        PayloadError: see the module docstring.  Never another exception type.
    """
    doc = payloads.loads(body)  # size and depth limits first: PayloadError
    if type(doc) is not dict:
        raise PayloadError("body is not a JSON object")
    destination = doc.get("destination")
    if type(destination) is not str or not destination:
        raise PayloadError("'destination' is missing or not a string", reason="missing_field")
    events = doc.get("events")
    if type(events) is not list:
        raise PayloadError("'events' is not a list")
    try:
        return [_event(e, destination, source) for e in events]
    except _Bad as exc:
        raise PayloadError(str(exc)) from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a shape not foreseen
        raise PayloadError(f"unexpected event shape ({type(exc).__name__})") from None


def ms_to_rfc3339(ms: int) -> str:
    """Milliseconds since the epoch → ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC)."""
    secs, rest = divmod(ms, 1000)
    return f"{epoch_to_rfc3339(secs)[:-1]}.{rest:03d}Z"


def _time(ev: dict[str, Any]) -> str:
    ts = ev.get("timestamp")
    if type(ts) is not int:
        raise _Bad("event.timestamp is missing or not an integer")
    if not 0 <= ts < _YEAR_10000_MS:
        raise _Bad("event.timestamp is out of range")
    return ms_to_rfc3339(ts)


def _conversation(ev: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """``(chat id, source type, sender user id)``, or None for no or an unknown source."""
    src = ev.get("source")
    if src is None:
        return None
    if type(src) is not dict:
        raise _Bad("event.source is not an object")
    stype = src.get("type")
    key = _SOURCE_IDS.get(stype) if type(stype) is str else None
    if key is None:
        return None
    chat = src.get(key)
    if type(chat) is not str or not chat:
        raise _Bad(f"event.source.{key} is missing or not a string")
    user = src.get("userId")
    return chat, stype, user if type(user) is str and user and stype != "user" else None


def _event(ev: Any, destination: str, source: str) -> Event:
    if type(ev) is not dict:
        raise _Bad("events item is not an object")
    eid = ev.get("webhookEventId")
    if type(eid) is not str or not eid:
        raise _Bad("event.webhookEventId is missing or not a string")
    etype = ev.get("type")
    if type(etype) is not str or not etype:
        raise _Bad("event.type is missing or not a string")
    time = _time(ev)
    ctx = ev.get("deliveryContext")
    redelivery = type(ctx) is dict and ctx.get("isRedelivery") is True
    conv = _conversation(ev)
    if conv is None:
        data = {"kind": etype, "raw": ev, "business": destination, "customer": None,
                "reason": "unsupported_source", "is_redelivery": redelivery}
        return Event(id=eid, source=source, type=TYPE_PROVIDER_NOTICE, data=data, time=time)
    chat, stype, user = conv
    key = conversation_key(source, CHANNEL, destination, chat)
    mode = ev.get("mode")
    extra: dict[str, Any] = {
        "webhook_event_id": eid, "is_redelivery": redelivery,
        "mode": mode if type(mode) is str else None, "source_type": stype, "user_id": user,
    }
    token = ev.get("replyToken")
    if type(token) is str and token:
        extra["reply_token"] = token
    if etype in NOTICE_TYPES:
        data = {"kind": etype, "raw": ev, "business": destination, "customer": chat,
                "is_redelivery": redelivery}
        return Event(id=eid, source=source, type=TYPE_PROVIDER_NOTICE, data=data, time=time,
                     partitionkey=key)
    if etype in CONTACT_TYPES:
        return _contact(ev, eid, etype, chat, destination, extra, source, time, key)
    if etype == "unsend":
        return _unsend(ev, eid, chat, destination, extra, source, time, key)
    data = _base(eid, chat, destination, time, extra)
    subject, etype_out = eid, TYPE_MESSAGE_RECEIVED
    if etype == "message":
        msg = ev.get("message")
        mid = msg.get("id") if type(msg) is dict else None
        if type(mid) is str and mid:
            data["message_id"] = subject = mid
        try:
            if mid is None or type(mid) is not str:
                raise Unsupported("message object or message.id missing")
            fill(msg, data)  # type: ignore[arg-type]
        except Unsupported as exc:
            data = _base(data["message_id"], chat, destination, time, extra)
            _unsupported(data, msg, msg.get("type") if type(msg) is dict else None, str(exc))
            etype_out = TYPE_MESSAGE_UNSUPPORTED
    elif etype == "postback":
        if not _postback(ev, data):
            _unsupported(data, ev, etype, "postback.data is missing or not a string")
            etype_out = TYPE_MESSAGE_UNSUPPORTED
    else:
        _unsupported(data, ev, etype, "unknown event type")
        etype_out = TYPE_MESSAGE_UNSUPPORTED
    return Event(id=eid, source=source, type=etype_out, data=data, time=time, subject=subject,
                 partitionkey=key)


def _base(mid: str, chat: str, destination: str, time: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": mid, "channel": CHANNEL, "customer": chat, "business": destination,
        "customer_name": None, "kind": "text", "text": None, "attachments": [],
        "location": None, "contacts": [], "interactive": None, "reaction": None,
        "reply_to": None, "forwarded": False, "sent_at": time, "extra": dict(extra),
    }


def _unsupported(data: dict[str, Any], raw: Any, kind: Any, reason: str) -> None:
    data["kind"] = "unsupported"
    data["extra"].update({"type": kind if type(kind) is str else None, "reason": reason, "raw": raw})


def _postback(ev: dict[str, Any], data: dict[str, Any]) -> bool:
    pb = ev.get("postback")
    payload = pb.get("data") if type(pb) is dict else None
    if type(payload) is not str:
        return False
    data["kind"] = "interactive_reply"
    data["interactive"] = {"reply_type": "postback", "id": payload, "title": None,
                           "description": None}
    params = pb.get("params")  # type: ignore[union-attr]
    if params is not None:
        data["extra"]["postback_params"] = params
    return True


def _contact(ev: dict[str, Any], eid: str, etype: str, chat: str, destination: str,
             extra: dict[str, Any], source: str, time: str, key: str) -> Event:
    obj_key = _CONTACT_OBJECTS.get(etype)
    extra = dict(extra)
    if obj_key is not None and ev.get(obj_key) is not None:
        obj = ev[obj_key]
        extra[obj_key] = obj
        if etype in ("memberJoined", "memberLeft"):
            members = obj.get("members") if type(obj) is dict else None
            extra["members"] = [m["userId"] for m in members or ()
                                if type(m) is dict and type(m.get("userId")) is str] \
                if type(members) is list else []
    data = {"channel": CHANNEL, "customer": chat, "business": destination, "kind": etype,
            "new_customer": None, "text": None, "at": time, "extra": extra}
    return Event(id=eid, source=source, type=TYPE_CONTACT_CHANGED, data=data, time=time,
                 partitionkey=key)


def _unsend(ev: dict[str, Any], eid: str, chat: str, destination: str, extra: dict[str, Any],
            source: str, time: str, key: str) -> Event:
    unsend = ev.get("unsend")
    mid = unsend.get("messageId") if type(unsend) is dict else None
    if type(mid) is not str or not mid:
        data = _base(eid, chat, destination, time, extra)
        _unsupported(data, ev, "unsend", "unsend.messageId is missing or not a string")
        return Event(id=eid, source=source, type=TYPE_MESSAGE_UNSUPPORTED, data=data, time=time,
                     subject=eid, partitionkey=key)
    data = {"message_id": mid, "channel": CHANNEL, "customer": chat, "business": destination,
            "at": time, "extra": dict(extra)}
    return Event(id=eid, source=source, type=TYPE_MESSAGE_DELETED, data=data, time=time,
                 subject=mid, partitionkey=key)


__all__ = ["CHANNEL", "ms_to_rfc3339", "parse"]
