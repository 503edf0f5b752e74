"""Reports about mail we sent → status and notice events.

- **DSN** (RFC 3464, in ``multipart/report; report-type=delivery-status``, RFC 6522): one
  event per per-recipient block of the ``message/delivery-status`` part.  ``Action``
  (section 2.3.3) chooses: ``failed`` → status ``failed``; ``delivered`` and ``expanded`` →
  ``delivered``; ``relayed`` → ``sent``; ``delayed`` → a ``delivery_delayed`` notice (a delay
  is no delivery status: reporting ``sent`` could never be right after ``delivered``); any
  other word → a ``dsn_unknown_action`` notice.  ``Status`` (RFC 3463 code such as ``5.1.1``)
  is the error code, ``Diagnostic-Code`` its detail, ``Final-Recipient`` the customer.
- **MDN** (RFC 8098, ``report-type=disposition-notification``): ``Disposition`` type
  ``displayed`` (section 3.2.6.2) → status ``read`` of ``Original-Message-ID``; ``deleted``,
  ``dispatched``, ``processed`` (or an unknown word) → a ``disposition`` notice.
- **ARF** (RFC 5965, ``report-type=feedback-report``): a ``spam_complaint`` notice carrying
  ``Feedback-Type``, ``User-Agent``, ``Version``, ``Original-Mail-From``, ``Original-Rcpt-To``,
  ``Arrival-Date`` (or the older ``Received-Date``), ``Source-IP``, ``Reported-Domain`` and
  the returned message's Message-ID and recipient.
- **X-Failed-Recipients** bounces (no DSN: Gmail's "Delivery Status Notification
  (Failure)", Exim): one ``failed`` status per listed recipient, the original Message-ID read
  from the returned header block after "----- Original message -----", the first RFC 3463
  code of the text as the error code (a ``4.x.x`` code makes it a ``delivery_delayed``
  notice).

The original mail's Message-ID comes from the returned ``message/rfc822`` or
``text/rfc822-headers`` part (RFC 6522 section 3, third part), else the report's own
``In-Reply-To``, else the last ``References`` id.  A report that names no original mail
becomes a notice (kind ``bounce``/``disposition`` with ``"unmatched": true``): without the id
no status can be attached to a message.

Event ids: ``{report Message-ID}:{recipient}`` (``:-`` when none), stable across redeliveries.
"""

from __future__ import annotations

import re
from email.message import Message
from typing import Any

from omnisdk.events import TYPE_MESSAGE_STATUS, TYPE_PROVIDER_NOTICE, Event
from omnisdk_email.content import decode_text
from omnisdk_email.context import CHANNEL, Context
from omnisdk_email.mime import addr_spec, addresses, header, message_id, msg_ids, parse_headers

DSN_STATUS = {"failed": "failed", "delivered": "delivered", "expanded": "delivered", "relayed": "sent"}
"""RFC 3464 ``Action`` → delivery status (``delayed`` is a notice, see the module docstring)."""

_CODE = re.compile(r"\b([245]\.[0-9]{1,3}\.[0-9]{1,3})\b")
_SMTP_LINE = re.compile(r"^\s*([245][0-9]{2}[ -][245]\.[0-9]{1,3}\.[0-9]{1,3}\b.*)$", re.MULTILINE)
_ORIGINAL = re.compile(r"^-{3,} ?Original message ?-{3,}\s*$", re.MULTILINE | re.IGNORECASE)
MAX_FIELD = 500


def _text(value: str) -> str:
    return " ".join(value.split())[:MAX_FIELD]


def _recipient(value: str) -> str | None:
    """``rfc822; User@Example.com`` → ``User@example.com`` (RFC 3464 section 2.3.2)."""
    kind, sep, addr = value.partition(";")
    if not sep:
        addr = kind
    addr = addr.strip().strip("<>").strip()
    local, at, domain = addr.rpartition("@")
    return addr_spec(local, domain) if at else (addr[:MAX_FIELD] or None)


def _children(msg: Message) -> list[Message]:
    payload = msg.get_payload() if msg.is_multipart() else []
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a ``message/delivery-status``-like part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = decode_text(part) if isinstance(payload, str) else ""
    return [parse_headers(chunk) for chunk in re.split(r"\r?\n\s*\r?\n", text) if chunk.strip()]


def _original(report: Message) -> Message | None:
    """The returned mail or its header block (RFC 6522 section 3)."""
    for part in _children(report):
        ctype = part.get_content_type()
        if ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        elif ctype in ("text/rfc822-headers", "message/global-headers"):
            return parse_headers(decode_text(part))
    return None


def _original_id(report: Message, original: Message | None) -> str | None:
    if original is not None:
        found = message_id(original)
        if found:
            return found
    replied = msg_ids(header(report, "In-Reply-To"))
    if replied:
        return replied[0]
    refs = msg_ids(header(report, "References"))
    return refs[-1] if refs else None


def _event(kind: str, eid: str, data: dict[str, Any], ctx: Context, time: str, subject: str | None,
           business: str, customer: str | None) -> Event:
    return Event(
        id=eid, source=ctx.source, type=kind, data=data, time=time, subject=subject,
        partitionkey=ctx.key(business, customer) if customer else None,
    )


def _notice(kind: str, raw: dict[str, Any], eid: str, ctx: Context, time: str, business: str,
            customer: str | None) -> Event:
    return _event(TYPE_PROVIDER_NOTICE, eid, {"kind": kind, "raw": raw}, ctx, time, None, business, customer)


def _status(status: str, word: str, original_id: str, eid: str, ctx: Context, time: str,
            business: str, customer: str | None, error: dict[str, str] | None) -> Event:
    data: dict[str, Any] = {
        "message_id": original_id, "channel": CHANNEL, "status": status, "provider_status": word,
        "customer": customer, "business": business, "at": time,
    }
    if error is not None:
        data["error"] = error
    return _event(TYPE_MESSAGE_STATUS, eid, data, ctx, time, original_id, business, customer)


def _business(ctx: Context, report: Message, original: Message | None) -> str:
    cands = [a for a, _ in addresses(original, "From")] if original is not None else []
    cands += [a for a, _ in addresses(report, "To")]
    return ctx.business(*cands)


def dsn(report: Message, report_id: str, time: str, ctx: Context) -> list[Event]:
    """Events of an RFC 3464 delivery status notification."""
    original = _original(report)
    original_id = _original_id(report, original)
    business = _business(ctx, report, original)
    blocks: list[Message] = []
    reporting_mta = ""
    for part in _children(report):
        if part.get_content_type() in ("message/delivery-status", "message/global-delivery-status"):
            every = _blocks(part)
            reporting_mta = _text(header(every[0], "Reporting-MTA")) if every else ""
            blocks = [b for b in every if header(b, "Final-Recipient") or header(b, "Action")]
            break
    out: list[Event] = []
    seen: set[str] = set()
    for block in blocks:
        customer = _recipient(header(block, "Final-Recipient") or header(block, "Original-Recipient"))
        eid = f"{report_id}:{customer or '-'}"
        if eid in seen:
            continue
        seen.add(eid)
        word = header(block, "Action").lower()
        raw = {
            "action": _text(word), "status": _text(header(block, "Status")),
            "diagnostic_code": _text(header(block, "Diagnostic-Code")),
            "final_recipient": customer, "original_message_id": original_id,
            "reporting_mta": reporting_mta,
        }
        status = DSN_STATUS.get(word)
        if word == "delayed":
            out.append(_notice("delivery_delayed", raw, eid, ctx, time, business, customer))
        elif status is None:
            out.append(_notice("dsn_unknown_action", raw, eid, ctx, time, business, customer))
        elif original_id is None:
            out.append(_notice("bounce", {**raw, "unmatched": True}, eid, ctx, time, business, customer))
        else:
            error = None
            if status == "failed":
                error = {"code": raw["status"] or None, "title": word,
                         "detail": raw["diagnostic_code"] or None}
                error = {k: v for k, v in error.items() if v}
            out.append(_status(status, word, original_id, eid, ctx, time, business, customer, error))
    if not out:
        out.append(_notice("bounce", {"unmatched": True, "original_message_id": original_id,
                                      "reason": "no per-recipient fields"},
                           f"{report_id}:-", ctx, time, business, None))
    return out


def mdn(report: Message, report_id: str, time: str, ctx: Context) -> list[Event]:
    """The event of an RFC 8098 message disposition notification."""
    fields: Message | None = None
    for part in _children(report):
        if part.get_content_type() in ("message/disposition-notification",
                                       "message/global-disposition-notification"):
            blocks = _blocks(part)
            fields = blocks[0] if blocks else None
            break
    fields = fields if fields is not None else Message()
    original = _original(report)
    original_id = (msg_ids(header(fields, "Original-Message-ID")) or [None])[0] \
        or _original_id(report, original)
    customer = _recipient(header(fields, "Final-Recipient") or header(fields, "Original-Recipient"))
    if customer is None:
        senders = addresses(report, "From")
        customer = senders[0][0] if senders else None
    business = _business(ctx, report, original)
    disposition = header(fields, "Disposition")
    word = disposition.rpartition(";")[2].split("/")[0].strip().lower()
    eid = f"{report_id}:{customer or '-'}"
    raw = {"disposition": _text(disposition), "final_recipient": customer,
           "original_message_id": original_id,
           "reporting_ua": _text(header(fields, "Reporting-UA"))}
    if word == "displayed" and original_id:
        return [_status("read", word, original_id, eid, ctx, time, business, customer, None)]
    if original_id is None:
        raw["unmatched"] = True
    return [_notice("disposition", raw, eid, ctx, time, business, customer)]


def arf(report: Message, report_id: str, time: str, ctx: Context) -> list[Event]:
    """The ``spam_complaint`` notice of an RFC 5965 abuse report."""
    fields = Message()
    for part in _children(report):
        if part.get_content_type() == "message/feedback-report":
            blocks = _blocks(part)
            fields = blocks[0] if blocks else fields
            break
    original = _original(report)
    original_id = _original_id(report, original)
    rcpt = header(fields, "Original-Rcpt-To")
    customer = _recipient(rcpt) if rcpt else None
    if customer is None and original is not None:
        tos = addresses(original, "To")
        customer = tos[0][0] if tos else None
    raw = {
        "feedback_type": _text(header(fields, "Feedback-Type")).lower(),
        "user_agent": _text(header(fields, "User-Agent")),
        "version": _text(header(fields, "Version")),
        "original_mail_from": _text(header(fields, "Original-Mail-From")),
        "original_recipient": customer,
        "original_message_id": original_id,
        "arrival_date": _text(header(fields, "Arrival-Date") or header(fields, "Received-Date")),
        "source_ip": _text(header(fields, "Source-IP")),
        "reported_domain": _text(header(fields, "Reported-Domain")),
    }
    business = _business(ctx, report, original)
    return [_notice("spam_complaint", raw, report_id, ctx, time, business, customer)]


def failed_recipients(report: Message, report_id: str, time: str, ctx: Context) -> list[Event]:
    """Events of a bounce that lists ``X-Failed-Recipients`` instead of a DSN."""
    text = ""
    plain = report.get_body(preferencelist=("plain",)) if hasattr(report, "get_body") else None
    if plain is not None:
        text = decode_text(plain)
    notice_text, original = text, None
    found = _ORIGINAL.search(text)
    if found:
        notice_text = text[: found.start()]
        original = parse_headers(text[found.end():].lstrip("\r\n"))
    original_id = _original_id(report, original)
    code_match = _CODE.search(notice_text)
    code = code_match.group(1) if code_match else None
    line = _SMTP_LINE.search(notice_text)
    detail = _text(line.group(1)) if line else None
    business = _business(ctx, report, original)
    out: list[Event] = []
    seen: set[str] = set()
    value = header(report, "X-Failed-Recipients")
    for item in value.split(","):
        customer = _recipient(item)
        if not customer or customer in seen:
            continue
        seen.add(customer)
        eid = f"{report_id}:{customer}"
        raw = {"failed_recipient": customer, "status": code, "diagnostic_code": detail,
               "original_message_id": original_id}
        if code is not None and code.startswith("4"):
            out.append(_notice("delivery_delayed", raw, eid, ctx, time, business, customer))
        elif original_id is None:
            out.append(_notice("bounce", {**raw, "unmatched": True}, eid, ctx, time, business, customer))
        else:
            error = {k: v for k, v in {"code": code, "title": "failed", "detail": detail}.items() if v}
            out.append(_status("failed", "failed", original_id, eid, ctx, time, business, customer, error))
    if not out:
        out.append(_notice("bounce", {"unmatched": True, "reason": "no usable X-Failed-Recipients"},
                           f"{report_id}:-", ctx, time, business, None))
    return out


def unknown_report(report: Message, kind: str, report_id: str, time: str, ctx: Context) -> list[Event]:
    """A ``multipart/report`` of a type this plugin does not read: a ``report`` notice."""
    original = _original(report)
    raw = {"report_type": _text(kind), "original_message_id": _original_id(report, original),
           "subject": _text(header(report, "Subject"))}
    return [_notice("report", raw, report_id, ctx, time, _business(ctx, report, original), None)]


READERS = {"delivery-status": dsn, "disposition-notification": mdn, "feedback-report": arf,
           "failed-recipients": failed_recipients}
"""Report kind (:func:`omnisdk_email.noise.report_kind`) → reader."""
