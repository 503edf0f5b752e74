"""WhatsApp Cloud API webhook body → CloudEvents.  Pure: no I/O, no clock.

Envelope (developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components and
/webhooks/payload-examples)::

    {"object": "whatsapp_business_account",
     "entry": [{"id": WABA_ID, "changes": [{"field": "messages", "value": {
         "messaging_product": "whatsapp",
         "metadata": {"display_phone_number": ..., "phone_number_id": ...},
         "contacts": [{"wa_id": ..., "profile": {"name": ...}}],
         "messages": [...], "statuses": [...], "errors": [...]}}]}]}

What each piece becomes (one event per fact):

- ``messages[]`` → ``io.omnisdk.message.received`` (``data``: a Message dict), or
  ``io.omnisdk.message.unsupported`` (kind ``unsupported``; ``extra`` keeps ``type``,
  ``reason``, ``errors`` and the whole ``raw`` message) for unknown types and for messages
  with ``errors`` (on the message or on the change ``value``, as Meta sends for a failed
  interactive payload).  Event id: the wamid (``messages[].id``).
- ``type: "system"`` with a documented ``system.type`` (:data:`SYSTEM_TYPES`; any other is
  unsupported) (/webhooks/components "system") → ``io.omnisdk.contact.changed``, id the
  wamid; ``data``: ``message_id, channel, customer, business, customer_name, kind``
  (``system.type``), ``body``, ``new_customer`` (``system.wa_id`` / legacy ``new_wa_id``, as an
  address), ``identity`` (the ``identity`` object, if any), ``at``, ``raw`` (``system``).
- ``type: "revoke"`` (/documentation/business-messaging/whatsapp/webhooks/reference/messages/
  revoke) → ``io.omnisdk.message.deleted``, id ``f"{original_message_id}:deleted"`` (a message
  is deleted once, whatever wamid the notice itself carries; never the id of the
  ``message.received`` event); subject the original id; ``data``: ``message_id`` (original),
  ``channel, customer, business, customer_name, at``, ``extra.revoke_message_id``.
- ``type: "edit"`` (…/webhooks/reference/messages/edit) → ``io.omnisdk.message.edited``, id
  ``f"{wamid}:edited"`` (the edit's own wamid, suffixed so it can never equal a
  ``message.received`` id); subject the original id; ``data``: a Message dict of the new
  content (``edit.message``) whose ``message_id`` is the *original* message id, with
  ``extra.edits`` (the original id) and ``extra.edit_message_id`` (the edit's wamid).
- ``statuses[]`` (/webhooks/components "statuses") → ``io.omnisdk.message.status``, id
  ``f"{wamid}:{status}"`` (Meta sends one webhook per status and retries it), plus
  ``f":{recipient_participant_id}"`` for group messages (one read per participant).
  ``played`` (voice message played) → ``read`` with ``provider_status`` ``played``;
  ``failed`` → ``error`` {code, title, detail = ``error_data.details`` or ``message``} from the
  first of ``errors[]``.  ``conversation``, ``pricing`` and ``biz_opaque_callback_data`` have no
  home in StatusUpdate and are not carried (they stay in the stored raw body, if any).  A status
  word we do not know (``deleted``, ``warning`` …) → a provider notice (below) with kind
  ``"status"`` and id ``f"{wamid}:{status}"``.
- changes whose ``field`` is not ``messages`` (``message_template_status_update``,
  ``account_update``, ``phone_number_quality_update``, ``smb_message_echoes`` …), and a
  ``messages`` change that yields no message or status (e.g. ``value.errors`` only) →
  ``io.omnisdk.provider.notice``, ``data`` ``{"kind": field, "raw": value}``, id
  ``f"{entry.id}:{field}:{h}"`` with ``h`` the first 32 hex digits of the SHA-256 of the value
  re-serialized with sorted keys (stable across redeliveries and key order; the raw slice of
  the body is not available after JSON parsing).

Common attributes: ``source`` = the adapter's source, ``time`` = the provider ``timestamp``
(RFC 3339) else the gateway's ``received_at``, ``subject`` = the message id, ``partitionkey`` =
``conversation_key(source, "whatsapp", metadata.phone_number_id, customer)``.  Addresses: a ``wa_id``
of ASCII digits becomes E.164 (``"+" + wa_id``); anything else (a group id, a business-scoped
user id, a documentation placeholder) is kept as given.  ``business`` is
``metadata.phone_number_id`` (one app's webhook serves all its numbers; no filtering here: the
gateway refuses events naming a number the account does not own, see
:meth:`omnisdk_whatsapp.WhatsAppAdapter.business_addresses`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from omnisdk import payloads
from omnisdk.errors import PayloadError
from omnisdk.events import (
    TYPE_CONTACT_CHANGED,
    TYPE_MESSAGE_DELETED,
    TYPE_MESSAGE_EDITED,
    TYPE_MESSAGE_RECEIVED,
    TYPE_MESSAGE_STATUS,
    TYPE_MESSAGE_UNSUPPORTED,
    TYPE_PROVIDER_NOTICE,
    Event,
    epoch_to_rfc3339,
)
from omnisdk.model.addresses import conversation_key
from omnisdk_whatsapp.content import Unsupported, fill

CHANNEL = "whatsapp"
OBJECT = "whatsapp_business_account"
_STATUS = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read",
           "failed": "failed"}
_YEAR_10000 = 253402300800  # RFC 3339 has four-digit years


class _Bad(Exception):
    """Internal: the envelope is malformed; becomes PayloadError."""


def parse(body: bytes, *, source: str, received_at: str) -> list[Event]:
    """Translate one webhook body into events (see the module docstring for the mapping).

    Returns an empty list when ``entry`` is empty.

    Raises:
        PayloadError: not JSON, larger or nested deeper than the limits of
            :func:`omnisdk.payloads.loads` (1 MiB, 64 levels), not an object, ``object`` is not
            ``whatsapp_business_account``, ``entry``/``changes``/``messages``/``statuses`` not
            lists, or a required id (``entry.id``, ``metadata.phone_number_id``, a message's
            ``id``/``from``, a status's ``id``/``status``/``recipient_id``) missing or of the
            wrong type, or an unreadable ``timestamp``.  Never another exception type.
    """
    doc = payloads.loads(body)  # size and depth limits first: PayloadError, malformed_payload
    if type(doc) is not dict:
        raise PayloadError("body is not a JSON object")
    if doc.get("object") != OBJECT:
        raise PayloadError("'object' is not 'whatsapp_business_account'")
    entries = doc.get("entry")
    if type(entries) is not list:
        raise PayloadError("'entry' is not a list")
    out: list[Event] = []
    try:
        for entry in entries:
            _entry(entry, source, received_at, out)
    except _Bad as exc:
        raise PayloadError(str(exc)) from None
    return out


# --- envelope helpers -----------------------------------------------------------------------


def _ident(obj: Any, key: str, where: str) -> str:
    v = obj.get(key) if type(obj) is dict else None
    if type(v) is str and v:
        return v
    if type(v) is int:
        return str(v)
    raise _Bad(f"{where}.{key} is missing or not a string")


def _list(obj: dict[str, Any], key: str, where: str) -> list[Any]:
    v = obj.get(key)
    if v is None:
        return []
    if type(v) is not list:
        raise _Bad(f"{where}.{key} is not a list")
    return v


def _time(obj: dict[str, Any], where: str) -> str | None:
    ts = obj.get("timestamp")
    if ts is None:
        return None
    if type(ts) is str:
        try:
            ts = int(ts) if ts.isdigit() else int(float(ts))
        except (ValueError, OverflowError):
            raise _Bad(f"{where}.timestamp is not a number") from None
    elif type(ts) is not int:
        raise _Bad(f"{where}.timestamp is not a number")
    if not 0 <= ts < _YEAR_10000:
        raise _Bad(f"{where}.timestamp is out of range")
    return rfc3339(ts)


_MINUTES: dict[int, str] = {}
_SECONDS = tuple(f"{i:02d}Z" for i in range(60))


def rfc3339(secs: int) -> str:
    """Same result as :func:`omnisdk.events.epoch_to_rfc3339` for ``0 <= secs < year 10000``,
    several times faster: the ``YYYY-MM-DDTHH:MM:`` prefix is cached per minute (a bounded
    cache; the output depends on ``secs`` only, so ``parse`` stays pure)."""
    minute, sec = divmod(secs, 60)
    prefix = _MINUTES.get(minute)
    if prefix is None:
        if len(_MINUTES) >= 4096:
            _MINUTES.clear()
        prefix = _MINUTES[minute] = epoch_to_rfc3339(minute * 60)[:17]
    return prefix + _SECONDS[sec]


def _address(raw: str) -> str:
    return "+" + raw if raw.isdigit() and raw.isascii() else raw


def _digest(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def _notice(eid: str, kind: str, raw: Any, source: str, time: str, subject: str | None) -> Event:
    return Event(id=eid, source=source, type=TYPE_PROVIDER_NOTICE,
                 data={"kind": kind, "raw": raw}, time=time, subject=subject)


# --- entry / change -------------------------------------------------------------------------


def _entry(entry: Any, source: str, received_at: str, out: list[Event]) -> None:
    if type(entry) is not dict:
        raise _Bad("entry item is not an object")
    entry_id = _ident(entry, "id", "entry")
    for change in _list(entry, "changes", "entry"):
        if type(change) is not dict:
            raise _Bad("changes item is not an object")
        field = change.get("field")
        if type(field) is not str or not field:
            raise _Bad("change.field is missing")
        if "value" not in change:
            raise _Bad("change.value is missing")
        value = change["value"]
        n = len(out)
        if field == "messages":
            if type(value) is not dict:
                raise _Bad("change.value is not an object")
            _messages_change(value, source, received_at, out)
        if len(out) == n:  # another field, or a messages change with no message/status
            eid = f"{entry_id}:{field}:{_digest(value)}"
            out.append(_notice(eid, field, value, source, received_at, field))


def _messages_change(value: dict[str, Any], source: str, received_at: str,
                     out: list[Event]) -> None:
    messages = _list(value, "messages", "value")
    statuses = _list(value, "statuses", "value")
    if not messages and not statuses:
        return
    business = _ident(value.get("metadata"), "phone_number_id", "value.metadata")
    if messages:
        names: dict[str, str] = {}
        for c in _list(value, "contacts", "value"):
            if type(c) is not dict:
                raise _Bad("contacts item is not an object")
            profile = c.get("profile")
            name = profile.get("name") if type(profile) is dict else None
            wa_id = c.get("wa_id")
            if type(wa_id) is str and type(name) is str:
                names[wa_id] = name
        errors = value.get("errors") or None
        for m in messages:
            out.append(_message(m, business, names, errors, source, received_at))
    for s in statuses:
        out.append(_status(s, business, source, received_at))


# --- messages -------------------------------------------------------------------------------


def _base(mid: str, customer: str, business: str, name: str | None,
          sent_at: str | None) -> dict[str, Any]:
    return {
        "message_id": mid, "channel": CHANNEL, "customer": customer, "business": business,
        "customer_name": name, "kind": "text", "text": None, "attachments": [],
        "location": None, "contacts": [], "interactive": None, "reaction": None,
        "reply_to": None, "forwarded": False, "sent_at": sent_at, "extra": {},
    }


def _unsupported(data: dict[str, Any], msg: dict[str, Any], reason: str, errors: Any) -> None:
    mtype = msg.get("type")
    data["kind"] = "unsupported"
    data["extra"] = {"type": mtype if type(mtype) is str else None, "reason": reason,
                     "errors": errors if type(errors) is list else [], "raw": msg}


def _message(m: Any, business: str, names: dict[str, str], value_errors: Any, source: str,
             received_at: str) -> Event:
    if type(m) is not dict:
        raise _Bad("messages item is not an object")
    mid = _ident(m, "id", "message")
    wa = m.get("from")
    if type(wa) is int:
        wa = str(wa)
    if type(wa) is str and wa:
        customer = _address(wa)
    elif "from_user_id" in m:  # a business-scoped user id, where no phone number is shared
        customer = _ident(m, "from_user_id", "message")
    else:
        raise _Bad("message.from is missing or not a string")
    sent_at = _time(m, "message")
    name = names.get(wa) if type(wa) is str else None
    data = _base(mid, customer, business, name, sent_at)
    key = conversation_key(source, CHANNEL, business, customer)
    time = sent_at or received_at
    mtype = m.get("type")
    errors = m.get("errors") or value_errors
    etype = TYPE_MESSAGE_RECEIVED
    eid = subject = mid
    if errors:
        _unsupported(data, m, "provider reported errors", errors)
        etype = TYPE_MESSAGE_UNSUPPORTED
    elif (mtype == "system" and type(m.get("system")) is dict and type(m["system"].get("type")) is str
          and m["system"]["type"] in SYSTEM_TYPES):  # a list there is unhashable: not a system change
        return _system(m, data, source, time, key)
    elif mtype == "revoke":
        return _revoke(m, data, source, time, key)
    elif mtype == "edit":
        subject, data = _edit(m, data)
        eid, etype = f"{mid}:edited", TYPE_MESSAGE_EDITED
    else:
        try:
            fill(m, data)
        except Unsupported as exc:
            data = _base(mid, customer, business, name, sent_at)
            _unsupported(data, m, str(exc), None)
            etype = TYPE_MESSAGE_UNSUPPORTED
    return Event(id=eid, source=source, type=etype, data=data, time=time, subject=subject,
                 partitionkey=key)


SYSTEM_TYPES = frozenset({
    "user_changed_number", "user_changed_user_id",  # /whatsapp/webhooks/reference/messages/system
    "customer_changed_number", "customer_identity_changed",  # /whatsapp/cloud-api/webhooks/components
})
"""The documented ``system.type`` values; any other becomes ``io.omnisdk.message.unsupported``."""


def _system(m: dict[str, Any], data: dict[str, Any], source: str, time: str, key: str) -> Event:
    # system: body, type (user_changed_number | customer_identity_changed …), wa_id (new
    # number; legacy new_wa_id); identity: acknowledged, created_timestamp, hash —
    # /docs/whatsapp/cloud-api/webhooks/components ("system", "identity")
    system = m["system"]
    new = system.get("wa_id") or system.get("new_wa_id")
    kind = system.get("type")
    body = system.get("body")
    identity = m.get("identity")
    out = {
        "message_id": data["message_id"], "channel": CHANNEL, "customer": data["customer"],
        "business": data["business"], "customer_name": data["customer_name"],
        "kind": kind if type(kind) is str else None,
        "body": body if type(body) is str else None,
        "new_customer": _address(new) if type(new) is str and new else None,
        "identity": identity if type(identity) is dict else None,
        "at": data["sent_at"], "raw": system,
    }
    return Event(id=data["message_id"], source=source, type=TYPE_CONTACT_CHANGED, data=out,
                 time=time, subject=data["message_id"], partitionkey=key)


def _revoke(m: dict[str, Any], data: dict[str, Any], source: str, time: str, key: str) -> Event:
    # revoke.original_message_id — …/webhooks/reference/messages/revoke
    revoke = m.get("revoke")
    original = _ident(revoke, "original_message_id", "message.revoke")
    out = {
        "message_id": original, "channel": CHANNEL, "customer": data["customer"],
        "business": data["business"], "customer_name": data["customer_name"],
        "at": data["sent_at"], "extra": {"revoke_message_id": data["message_id"]},
    }
    return Event(id=f"{original}:deleted", source=source, type=TYPE_MESSAGE_DELETED, data=out,
                 time=time, subject=original, partitionkey=key)


def _edit(m: dict[str, Any], data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    # edit.original_message_id, edit.message (the new content, a message object without
    # id/from/timestamp) — …/webhooks/reference/messages/edit
    edit = m.get("edit")
    original = _ident(edit, "original_message_id", "message.edit")
    edit_id = data["message_id"]
    data["message_id"] = original
    inner = edit.get("message")
    try:
        if type(inner) is not dict:
            raise Unsupported("edit.message is not an object")
        fill(inner, data)
    except Unsupported as exc:
        data = _base(original, data["customer"], data["business"], data["customer_name"],
                     data["sent_at"])
        _unsupported(data, m, str(exc), None)
    data["extra"]["edits"] = original
    data["extra"]["edit_message_id"] = edit_id
    return original, data


# --- statuses -------------------------------------------------------------------------------


def _status(s: Any, business: str, source: str, received_at: str) -> Event:
    # statuses[]: id, status, timestamp, recipient_id, recipient_type ("group"),
    # recipient_participant_id, errors[] {code, title, message, error_data.details} —
    # /docs/whatsapp/cloud-api/webhooks/components ("statuses"), /support/error-codes
    if type(s) is not dict:
        raise _Bad("statuses item is not an object")
    wamid = _ident(s, "id", "status")
    word = _ident(s, "status", "status")
    at = _time(s, "status")
    time = at or received_at
    group = s.get("recipient_type") == "group"
    if "recipient_id" in s or "recipient_user_id" not in s:
        recipient = _ident(s, "recipient_id", "status")
    else:
        recipient = _ident(s, "recipient_user_id", "status")
    customer = recipient if group else _address(recipient)
    eid = f"{wamid}:{word}"
    if group:
        participant = s.get("recipient_participant_id") or s.get("recipient_participant_user_id")
        if type(participant) is str and participant:
            eid = f"{eid}:{participant}"
    status = _STATUS.get(word)
    if status is None:
        return _notice(eid, "status", s, source, time, wamid)
    data = {
        "message_id": wamid, "channel": CHANNEL, "status": status, "provider_status": word,
        "customer": customer, "business": business, "at": at, "error": None,
    }
    if status == "failed":
        data["error"] = _error(s.get("errors"))
    return Event(id=eid, source=source, type=TYPE_MESSAGE_STATUS, data=data, time=time,
                 subject=wamid, partitionkey=conversation_key(source, CHANNEL, business, customer))


def _error(errors: Any) -> dict[str, str | None] | None:
    if type(errors) is not list or not errors or type(errors[0]) is not dict:
        return None
    e = errors[0]
    code = e.get("code")
    details = e.get("error_data")
    detail = details.get("details") if type(details) is dict else None
    if type(detail) is not str:
        detail = e.get("message")
    title = e.get("title")
    return {
        "code": str(code) if type(code) in (int, str) else None,
        "title": title if type(title) is str else None,
        "detail": detail if type(detail) is str else None,
    }


__all__ = ["CHANNEL", "OBJECT", "parse"]
