"""Messenger Platform Page webhook body → CloudEvents.  Pure: no I/O, no clock.

Envelope (https://developers.facebook.com/docs/messenger-platform/webhooks, "Event
notifications"; https://developers.facebook.com/docs/messenger-platform/reference/webhook-events)::

    {"object": "page",
     "entry": [{"id": PAGE_ID, "time": MS, "messaging": [ITEM, ...]},     # the app owns the thread
               {"id": PAGE_ID, "time": MS, "standby":   [ITEM, ...]}]}    # another app owns it

Every ``ITEM`` has ``sender.id`` and ``recipient.id`` (the person's Page-scoped id, PSID, and
the Page id; swapped in an echo), ``timestamp`` (milliseconds since the epoch; absent from
deliveries, whose time is then the entry's ``time``) and one key that says what it is.

Common attributes: ``source`` the adapter's; ``time`` the item's ``timestamp`` as RFC 3339 UTC
with milliseconds (never the clock); ``business`` always the entry's ``id`` (the gateway
refuses a Page the account does not own; an item whose Page side names another Page than its
entry is refused as malformed); ``customer`` the PSID; ``partitionkey``
``conversation_key(source, "messenger", page id, PSID)``.  Messenger gives no webhook event
id, so an id is the provider's message id (``mid``) where the fact has one, else built from
the fact's own stable fields (below): Meta's redeliveries carry the same fields, so they get
the same id and the inbox deduplicates them.

What each item becomes:

- ``message`` (#messages) → ``io.omnisdk.message.received``, id and subject ``mid``; content
  in :mod:`omnisdk_messenger.content`; content it cannot normalize →
  ``io.omnisdk.message.unsupported`` (``extra.raw`` the message).  A ``referral`` beside the
  message (a conversation opened from an ad or link) is kept in ``extra.referral``.
- ``message`` with ``is_echo: true`` (#message-echoes: the Page sent it, from this app, another
  app or the Page inbox; ``app_id`` says which) → ``io.omnisdk.provider.notice`` of kind
  ``message_echo``, id ``{mid}:echo``, with ``customer`` the recipient, ``app_id``,
  ``metadata``, ``message_id`` and ``message`` (the content normalized as a Message dict).  It
  is *not* a customer message; see "Echoes" in the plugin README for what the core would need
  to store it as an agent message.
- ``message_edit`` (#message-edits: ``mid``, ``text``, ``num_edit``) →
  ``io.omnisdk.message.edited``, id ``{mid}:edit:{num_edit}``, subject ``mid``, the new text,
  ``extra.edits`` = ``num_edit``.
- ``postback`` (#messaging_postbacks: ``title``, ``payload``, ``mid``, ``referral``) →
  ``io.omnisdk.message.received`` of kind ``interactive_reply`` (``reply_type`` ``postback``,
  ``id`` the payload, ``title`` the button title), ``referral`` in ``extra.referral``; id
  ``postback.mid``, else ``postback:{psid}:{timestamp}``.
- ``reaction`` (#message-reactions: ``reaction``, ``emoji``, ``action`` react/unreact,
  ``mid``) → ``io.omnisdk.message.received`` of kind ``reaction`` (``reaction.message_id`` the
  ``mid`` reacted to, ``emoji`` None on unreact), ``extra.reaction`` / ``extra.action``; id
  ``reaction:{mid}:{psid}:{action}:{timestamp}``.  Another action → unsupported.
- ``delivery`` (#message-deliveries: ``mids``, ``watermark``) → one
  ``io.omnisdk.message.status`` ``delivered`` per mid (id ``{mid}:delivered``, subject the
  mid); with no ``mids``, one ``io.omnisdk.provider.notice`` of kind ``delivery_watermark``
  (id ``delivery:{psid}:{watermark}``).
- ``read`` (#message-reads: ``watermark``, every message sent before it is read) →
  ``io.omnisdk.provider.notice`` of kind ``read_watermark`` (id ``read:{psid}:{watermark}``):
  the core applies statuses per message id and has no watermark (see the README).
- ``referral`` alone (#messaging_referrals) and ``optin`` (#messaging_optins) →
  ``io.omnisdk.contact.changed`` (kind ``referral`` / ``optin``, the object in ``extra``), id
  ``{kind}:{psid}:{timestamp}``.
- ``pass_thread_control``, ``take_thread_control``, ``request_thread_control`` and
  ``app_roles`` (#messaging_handovers) → ``io.omnisdk.provider.notice`` of that kind, with
  ``new_owner_app_id``, ``previous_owner_app_id``, ``requested_owner_app_id``, ``metadata``
  (``app_roles`` in ``roles``); id ``{kind}:{psid}:{timestamp}``.
- an item of ``standby`` (#standby) → the event it would be, wrapped in an
  ``io.omnisdk.provider.notice`` of kind ``standby`` (id ``standby:{its id}``, ``event_type``
  and ``data`` the inner event's): the thread belongs to another app, so nothing is threaded
  or applied.
- any other key (``account_linking``, ``game_play``, ``policy_enforcement`` or a kind Meta
  adds later) → ``io.omnisdk.message.unsupported`` (``extra.type``, ``extra.reason``,
  ``extra.raw``), id ``{type}:{psid}:{timestamp}``.
- an item whose sender has no PSID (a chat-plugin ``user_ref``, an ``app_roles`` change) →
  ``io.omnisdk.provider.notice`` of its kind with ``customer`` None (``reason``
  ``no_psid`` except for ``app_roles``).
- an entry with neither ``messaging`` nor ``standby`` → ``io.omnisdk.provider.notice`` of kind
  ``entry`` (id ``entry:{page}:{time}:{digest}``, the digest a SHA-256 of the entry).

A body that is not JSON, whose ``object`` is not ``page`` (Instagram, WhatsApp …) or has no
``entry`` list, an entry without an id or a millisecond ``time``, or an item with neither a
``sender`` nor a ``recipient`` object (``app_roles`` has no sender) or with a non-integer
``timestamp``, raises
:class:`~omnisdk.errors.PayloadError`.
"""

from __future__ import annotations

import hashlib
from time import gmtime as _gmtime
from typing import Any

import orjson

from omnisdk import payloads
from omnisdk.errors import PayloadError
from omnisdk.events import (
    TYPE_CONTACT_CHANGED,
    TYPE_MESSAGE_EDITED,
    TYPE_MESSAGE_RECEIVED,
    TYPE_MESSAGE_STATUS,
    TYPE_MESSAGE_UNSUPPORTED,
    TYPE_PROVIDER_NOTICE,
    Event,
)
from omnisdk.model.addresses import conversation_key
from omnisdk_messenger.content import Unsupported, fill, opt_str

CHANNEL = "messenger"
_YEAR_10000_MS = 253402300800 * 1000
_ENVELOPE = frozenset({"sender", "recipient", "timestamp"})
KINDS = ("message_edit", "message", "postback", "reaction", "delivery", "read", "optin",
         "pass_thread_control", "take_thread_control", "request_thread_control", "app_roles", "referral")
"""The item keys read, in the order they are looked for (``referral`` last: it also rides
along a message or postback)."""
_KIND_KEYS = frozenset(KINDS)
HANDOVER = frozenset({"pass_thread_control", "take_thread_control", "request_thread_control", "app_roles"})
_MESSAGE_LIKE = frozenset({"message", "message_edit", "postback", "reaction"})
_NO_OBJECT: dict[str, Any] = {}
"""Stands for an absent ``sender`` or ``recipient`` (read, never written)."""


class _Bad(Exception):
    """Internal: the envelope is malformed; becomes PayloadError."""


def parse(body: bytes, *, source: str) -> list[Event]:
    """Translate one webhook body into events (mapping in the module docstring).

    Raises:
        PayloadError: see the module docstring.  Never another exception type.
    """
    doc = payloads.loads(body)  # size and depth limits first: PayloadError
    if type(doc) is not dict:
        raise PayloadError("body is not a JSON object")
    if doc.get("object") != "page":
        raise PayloadError("'object' is not 'page' (not a Messenger Page webhook)", reason="unsupported_object")
    entries = doc.get("entry")
    if type(entries) is not list:
        raise PayloadError("'entry' is not a list")
    out: list[Event] = []
    try:
        for entry in entries:
            _entry(entry, source, out)
    except _Bad as exc:
        raise PayloadError(str(exc)) from None
    except (ValueError, KeyError, TypeError, AttributeError, orjson.JSONEncodeError) as exc:
        raise PayloadError(f"unexpected webhook shape ({type(exc).__name__})") from None
    return out


_2D = tuple(f"{i:02d}" for i in range(100))
_3D = tuple(f"{i:03d}" for i in range(1000))
_DATES: dict[int, str] = {}
"""Day number since the epoch → ``"YYYY-MM-DDT"``: webhooks of one day share it."""
_MAX_DATES = 1024
"""Dates kept before the table starts over (bounded whatever timestamps bodies carry)."""
_PREFIXES: dict[tuple[str, str], str] = {}
"""(source, Page id) → the conversation key without its PSID."""
_MAX_PREFIXES = 1024


def ms_to_rfc3339(ms: int) -> str:
    """Milliseconds since the epoch → ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC); ``ms`` in
    ``[0, year 10000)`` (checked by the callers)."""
    seconds, millis = divmod(ms, 1000)
    day, of_day = divmod(seconds, 86400)
    date = _DATES.get(day)
    if date is None:
        if len(_DATES) >= _MAX_DATES:
            _DATES.clear()
        t = _gmtime(seconds)
        date = _DATES[day] = f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}T"
    hours, rest = divmod(of_day, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{date}{_2D[hours]}:{_2D[minutes]}:{_2D[secs]}.{_3D[millis]}Z"


def _ms(value: Any, what: str) -> int:
    if type(value) is not int:
        raise _Bad(f"{what} is missing or not an integer (milliseconds)")
    if not 0 <= value < _YEAR_10000_MS:
        raise _Bad(f"{what} is out of range")
    return value


def _entry(entry: Any, source: str, out: list[Event]) -> None:
    """Append the events of one entry to ``out``: its ``messaging`` items, then its
    ``standby`` items (wrapped)."""
    if type(entry) is not dict:
        raise _Bad("entry item is not an object")
    page = entry.get("id")
    if type(page) is not str or not page:
        raise _Bad("entry.id is missing or not a string")
    etime = entry.get("time")
    if type(etime) is not int:
        raise _Bad("entry.time is missing or not an integer (milliseconds)")
    if not 0 <= etime < _YEAR_10000_MS:
        raise _Bad("entry.time is out of range")
    messaging, standby = entry.get("messaging"), entry.get("standby")
    if messaging is None and standby is None:
        digest = hashlib.sha256(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
        data = {"kind": "entry", "raw": entry, "business": page, "customer": None}
        out.append(Event(id=f"entry:{page}:{etime}:{digest}", source=source, type=TYPE_PROVIDER_NOTICE,
                         data=data, time=ms_to_rfc3339(etime)))
        return
    prefix = _PREFIXES.get((source, page))  # + PSID: the conversation key
    if prefix is None:
        if len(_PREFIXES) >= _MAX_PREFIXES:
            _PREFIXES.clear()
        prefix = _PREFIXES[source, page] = conversation_key(source, CHANNEL, page, "")
    if messaging is not None:
        if type(messaging) is not list:
            raise _Bad("entry.messaging is not a list")
        for item in messaging:
            _item(item, page, etime, source, prefix, out)
    if standby is not None:
        if type(standby) is not list:
            raise _Bad("entry.standby is not a list")
        for item in standby:
            inner: list[Event] = []
            _item(item, page, etime, source, prefix, inner)
            out += [_standby(e, item, page) for e in inner]


def _kind(item: dict[str, Any]) -> str | None:
    """The first of :data:`KINDS` in ``item``, else its first key beside the envelope, else None."""
    present = item.keys() & _KIND_KEYS
    if len(present) == 1:
        for key in present:
            return key
    if present:
        return min(present, key=KINDS.index)
    return next((k for k in item if k not in _ENVELOPE), None)


class _Ctx:
    """One messaging item's envelope, read once.  Its events are built with positional
    arguments, ``Event(id, source, type, data, time, subject, partitionkey)``: a little cheaper
    than keywords on the ingest path."""

    __slots__ = ("item", "page", "psid", "user_ref", "ts", "time", "source", "key", "kind")

    def __init__(self, item: dict[str, Any], page: str, etime: int, source: str, prefix: str) -> None:
        sender = item.get("sender")
        recipient = item.get("recipient")
        if type(sender) is not dict:
            if sender is not None:
                raise _Bad("messaging item without sender and recipient objects")
            sender = _NO_OBJECT
        if type(recipient) is not dict:
            if recipient is not None:
                raise _Bad("messaging item without sender and recipient objects")
            recipient = _NO_OBJECT
        if not (sender or recipient):
            raise _Bad("messaging item without sender and recipient objects")
        ts = item.get("timestamp")
        if ts is None:
            ts = etime
        elif type(ts) is not int or not 0 <= ts < _YEAR_10000_MS:
            raise _Bad("messaging item timestamp is not an integer (milliseconds) in range")
        self.ts = ts
        self.time = ms_to_rfc3339(ts)
        msg = item.get("message")
        if type(msg) is dict and msg.get("is_echo") is True:
            page_side, person, self.kind = sender, recipient, "message_echo"
        else:
            page_side, person, self.kind = recipient, sender, "message" if msg is not None else _kind(item)
        pid = page_side.get("id")
        if pid is not None and pid != page:
            raise _Bad("a messaging item names another Page than its entry")
        psid = person.get("id")
        if type(psid) is str and psid:
            self.psid, self.user_ref, self.key = psid, None, prefix + psid
        else:
            ref = person.get("user_ref")
            self.psid, self.key = None, None
            self.user_ref = ref if type(ref) is str and ref else None
        self.item, self.page, self.source = item, page, source

    def fact_id(self, *parts: Any) -> str:
        return ":".join(map(str, (self.kind, *parts, self.ts)))

    def base(self, mid: str) -> dict[str, Any]:
        """A Message dict with only what every message has; the model's defaults fill the rest
        (no attachments, location, interactive …) when the core validates it."""
        return {"message_id": mid, "channel": CHANNEL, "customer": self.psid, "business": self.page,
                "kind": "text", "text": None, "sent_at": self.time, "extra": {}}

    def notice(self, eid: str, kind: str, **fields: Any) -> Event:
        data = {"kind": kind, "raw": self.item, "business": self.page, "customer": self.psid, **fields}
        return Event(eid, self.source, TYPE_PROVIDER_NOTICE, data, self.time, None, self.key)


def _item(item: Any, page: str, etime: int, source: str, prefix: str, out: list[Event]) -> None:
    """Append the events of one messaging item to ``out``."""
    if type(item) is not dict:
        raise _Bad("messaging item is not an object")
    c = _Ctx(item, page, etime, source, prefix)
    kind = c.kind
    if c.psid is None:
        fields: dict[str, Any] = {"user_ref": c.user_ref}
        try:
            if kind == "app_roles":
                fields.update(_handover(c))
            else:
                fields["reason"] = "no_psid"
        except Unsupported as exc:
            fields["reason"] = str(exc)
        out.append(c.notice(c.fact_id(c.user_ref or "-"), str(kind), **fields))
        return
    handler = _HANDLERS.get(kind)  # None for a kind of None (an item with only its envelope)
    try:
        if handler is None:
            out.append(_unsupported(c, c.fact_id(c.psid), kind, "unknown messaging event"))
        else:
            out += handler(c)
    except Unsupported as exc:
        if kind in _MESSAGE_LIKE:
            out.append(_unsupported(c, _mid_of(c) or c.fact_id(c.psid), kind, str(exc)))
        else:
            out.append(c.notice(c.fact_id(c.psid), str(kind), reason=str(exc)))


def _mid_of(c: _Ctx) -> str | None:
    obj = c.item.get(c.kind) if c.kind in ("message", "postback") else None
    mid = obj.get("mid") if type(obj) is dict else None
    return mid if type(mid) is str and mid else None


def _unsupported(c: _Ctx, mid: str, kind: str | None, reason: str) -> Event:
    data = c.base(mid)
    data["kind"] = "unsupported"
    data["extra"] = {"type": kind, "reason": reason, "raw": c.item}
    return Event(mid, c.source, TYPE_MESSAGE_UNSUPPORTED, data, c.time, mid, c.key)


def _obj(c: _Ctx, key: str) -> dict[str, Any]:
    value = c.item.get(key)
    if type(value) is not dict:
        raise Unsupported(f"{key} is not an object")
    return value


def _mid(obj: dict[str, Any], what: str) -> str:
    mid = obj.get("mid")
    if type(mid) is not str or not mid:
        raise Unsupported(f"{what}.mid is missing or not a string")
    return mid


def _message(c: _Ctx) -> list[Event]:
    item = c.item
    msg = item["message"]  # the kind is "message" only when the key is there
    if type(msg) is not dict:
        raise Unsupported("message is not an object")
    mid = msg.get("mid")
    if type(mid) is not str or not mid:
        raise Unsupported("message.mid is missing or not a string")
    extra: dict[str, Any] = {}
    data = {"message_id": mid, "channel": CHANNEL, "customer": c.psid, "business": c.page,
            "kind": "text", "text": None, "sent_at": c.time, "extra": extra}  # as c.base(mid)
    fill(msg, data)
    referral = item.get("referral")
    if referral is not None:
        extra["referral"] = referral
    return [Event(mid, c.source, TYPE_MESSAGE_RECEIVED, data, c.time, mid, c.key)]


def _echo(c: _Ctx) -> list[Event]:
    msg = _obj(c, "message")
    mid = _mid(msg, "message")
    content = c.base(mid)
    try:
        fill(msg, content)
    except Unsupported as exc:
        content["kind"] = "unsupported"
        content["extra"] = {"type": "message", "reason": str(exc)}
    app = msg.get("app_id")
    return [c.notice(f"{mid}:echo", "message_echo", message_id=mid,
                     app_id=str(app) if type(app) in (int, str) else None,
                     metadata=opt_str(msg, "metadata"), message=content)]


def _edit(c: _Ctx) -> list[Event]:
    edit = _obj(c, "message_edit")
    mid = _mid(edit, "message_edit")
    n = edit.get("num_edit")
    text = opt_str(edit, "text")
    if type(n) is not int or text is None:
        raise Unsupported("message_edit without num_edit or text")
    data = c.base(mid)
    data["text"] = text
    data["extra"]["edits"] = n
    return [Event(f"{mid}:edit:{n}", c.source, TYPE_MESSAGE_EDITED, data, c.time, mid, c.key)]


def _postback(c: _Ctx) -> list[Event]:
    pb = _obj(c, "postback")
    mid = pb.get("mid")
    mid = mid if type(mid) is str and mid else c.fact_id(c.psid)
    title, payload = opt_str(pb, "title"), opt_str(pb, "payload")
    if title is None and payload is None:
        raise Unsupported("postback without title or payload")
    data = c.base(mid)
    data["kind"] = "interactive_reply"
    data["text"] = title
    data["interactive"] = {"reply_type": "postback", "id": payload, "title": title, "description": None}
    if pb.get("referral") is not None:
        data["extra"]["referral"] = pb["referral"]
    return [Event(mid, c.source, TYPE_MESSAGE_RECEIVED, data, c.time, mid, c.key)]


def _reaction(c: _Ctx) -> list[Event]:
    r = _obj(c, "reaction")
    action = r.get("action")
    if action not in ("react", "unreact"):
        raise Unsupported("reaction.action is neither react nor unreact")
    target = _mid(r, "reaction")
    eid = c.fact_id(target, c.psid, action)
    data = c.base(eid)
    data["kind"] = "reaction"
    data["reaction"] = {"message_id": target, "emoji": opt_str(r, "emoji") if action == "react" else None}
    data["extra"].update({"reaction": opt_str(r, "reaction"), "action": action})
    return [Event(eid, c.source, TYPE_MESSAGE_RECEIVED, data, c.time, eid, c.key)]


def _delivery(c: _Ctx) -> list[Event]:
    d = _obj(c, "delivery")
    mids = d.get("mids")
    watermark = d.get("watermark")
    if mids:
        if type(mids) is not list or not all(type(m) is str and m for m in mids):
            raise Unsupported("delivery.mids is not a list of strings")
        out = []
        for mid in dict.fromkeys(mids):
            data = {"message_id": mid, "channel": CHANNEL, "status": "delivered", "provider_status": "delivery",
                    "customer": c.psid, "business": c.page, "at": c.time, "error": None}
            out.append(Event(f"{mid}:delivered", c.source, TYPE_MESSAGE_STATUS, data, c.time, mid, c.key))
        return out
    if type(watermark) is not int:
        raise Unsupported("delivery without mids or an integer watermark")
    return [c.notice(f"delivery:{c.psid}:{watermark}", "delivery_watermark", status="delivered",
                     watermark=watermark, watermark_at=ms_to_rfc3339(_ms(watermark, "delivery.watermark")))]


def _read(c: _Ctx) -> list[Event]:
    watermark = _obj(c, "read").get("watermark")
    if type(watermark) is not int:
        raise Unsupported("read.watermark is not an integer")
    return [c.notice(f"read:{c.psid}:{watermark}", "read_watermark", status="read", watermark=watermark,
                     watermark_at=ms_to_rfc3339(_ms(watermark, "read.watermark")))]


def _contact(c: _Ctx) -> list[Event]:
    obj = _obj(c, str(c.kind))
    data = {"channel": CHANNEL, "customer": c.psid, "business": c.page, "kind": c.kind, "new_customer": None,
            "text": None, "at": c.time, "extra": {c.kind: obj}}
    return [Event(c.fact_id(c.psid), c.source, TYPE_CONTACT_CHANGED, data, c.time, None, c.key)]


def _app_id(value: Any) -> str | None:
    return str(value) if type(value) in (int, str) and value != "" else None


def _handover(c: _Ctx) -> dict[str, Any]:
    obj = _obj(c, str(c.kind))
    if c.kind == "app_roles":
        return {"roles": {str(k): v for k, v in obj.items()}}
    return {"new_owner_app_id": _app_id(obj.get("new_owner_app_id")),
            "previous_owner_app_id": _app_id(obj.get("previous_owner_app_id")),
            "requested_owner_app_id": _app_id(obj.get("requested_owner_app_id")),
            "metadata": opt_str(obj, "metadata")}


def _handover_event(c: _Ctx) -> list[Event]:
    return [c.notice(c.fact_id(c.psid), str(c.kind), **_handover(c))]


_HANDLERS = {
    "message": _message, "message_echo": _echo, "message_edit": _edit, "postback": _postback, "reaction": _reaction,
    "delivery": _delivery, "read": _read, "referral": _contact, "optin": _contact,
    **{k: _handover_event for k in HANDOVER},
}


def _standby(inner: Event, item: dict[str, Any], page: str) -> Event:
    data = inner.data or {}
    wrapped = {"kind": "standby", "event_type": inner.type, "raw": item, "business": page,
               "customer": data.get("customer"), "data": data}
    return Event(id=f"standby:{inner.id}", source=inner.source, type=TYPE_PROVIDER_NOTICE, data=wrapped,
                 time=inner.time, partitionkey=inner.partitionkey)


__all__ = ["CHANNEL", "KINDS", "ms_to_rfc3339", "parse"]
