"""One raw mail → CloudEvents.  Pure: no I/O, no clock.

- A report about our mail (:mod:`omnisdk_email.reports`): statuses and notices.
- Any other mail: one ``io.omnisdk.message.received`` whose ``data`` is an
  :class:`omnisdk.model.Message` with ``email`` = :class:`omnisdk.model.EmailHeaders`;
  automatic mail is flagged in ``email.auto`` (:mod:`omnisdk_email.noise`).

Ids: the Message-ID (RFC 5322 section 3.6.4) without ``<>``; a mail without one gets
``sha256(body)[:32]@derived.omnisdk.invalid`` (``.invalid``, RFC 2606: never a real host) and
``message_id_derived`` — the same bytes redelivered give the same id.  Time: the ``Date``
field in UTC, else the gateway's receive time.

Refused with :class:`PayloadError`: an oversize mail (naming its size), an unreadable
structure (:func:`omnisdk_email.mime.parse`), no usable ``From`` addr-spec (RFC 5322
section 3.6.2 requires one), an unknown charset on a body part
(:func:`omnisdk_email.content.decode_text`); whatever else the stdlib parser raises on
hostile bytes becomes a PayloadError too, never another exception.
"""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage, Message
from typing import Any

from omnisdk.errors import PayloadError
from omnisdk.events import TYPE_MESSAGE_RECEIVED, Event
from omnisdk_email import content, mime, noise, reports
from omnisdk_email.context import CHANNEL, Context

DERIVED_DOMAIN = "derived.omnisdk.invalid"
_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*([A-Za-z0-9_.-]+)(?:/[0-9]+)?\s*=\s*([A-Za-z0-9_-]+)")


def derived_id(body: bytes) -> str:
    """The stable id of a mail without Message-ID."""
    return f"{hashlib.sha256(body).hexdigest()[:32]}@{DERIVED_DOMAIN}"


def to_events(body: bytes, ctx: Context, *, max_bytes: int, envelope_to: str | None = None) -> list[Event]:
    """The events of one mail.

    Args:
        body: the raw RFC 5322 message.
        ctx: the receiving account and request.
        max_bytes: the account's ``max_message_bytes``.
        envelope_to: the SMTP ``RCPT TO`` when the poster tells it (Mailgun's ``recipient``).

    Raises:
        PayloadError: see the module docstring.
    """
    if len(body) > max_bytes:
        raise PayloadError(
            f"mail is {len(body)} bytes, over this account's limit of {max_bytes}",
            reason="payload_too_large",
        )
    try:
        msg = mime.parse(body)
        own_id = mime.message_id(msg)
        derived = own_id is None
        mail_id = own_id or derived_id(body)
        date = mime.date(msg)
        time = date or ctx.received_at
        kind = noise.report_kind(msg)
        if kind is not None:
            reader = reports.READERS.get(kind)
            if reader is None:
                return reports.unknown_report(msg, kind, mail_id, time, ctx)
            return reader(msg, mail_id, time, ctx)
        return [_received(msg, mail_id, derived, date, time, ctx, envelope_to)]
    except PayloadError:
        raise
    except mime.PARSE_ERRORS as exc:
        raise PayloadError(
            f"unreadable mail ({type(exc).__name__})", reason="malformed_payload"
        ) from None


def authentication(msg: Message, trusted: str | None) -> dict[str, str]:
    """``{method: result}`` of the topmost ``Authentication-Results`` field (RFC 8601
    section 2.2) whose authserv-id is ``trusted``; empty when none is trusted.  Comments are
    dropped; the first result of each method wins."""
    if not trusted:
        return {}
    for value in msg.get_all("Authentication-Results") or ():
        text = str(value)
        for _ in range(4):
            text = _COMMENT.sub(" ", text)
        parts = text.split(";")
        authserv = parts[0].split()[0].lower() if parts[0].split() else ""
        if authserv != trusted:
            continue
        out: dict[str, str] = {}
        for part in parts[1:]:
            found = _RESULT.match(part)
            if found:
                out.setdefault(found.group(1).lower(), found.group(2).lower())
        return out
    return {}


def _received(msg: EmailMessage, mail_id: str, derived: bool, date: str | None, time: str, ctx: Context,
              envelope_to: str | None) -> Event:
    senders = mime.addresses(msg, "From")
    if not senders:
        raise PayloadError("mail has no From address", reason="missing_field")
    customer, customer_name = senders[0]
    to = [a for a, _ in mime.addresses(msg, "To")]
    cc = [a for a, _ in mime.addresses(msg, "Cc")]
    delivered = [a for a, _ in mime.addresses(msg, "Delivered-To")]
    original_to = [a for a, _ in mime.addresses(msg, "X-Original-To")]
    business = ctx.business(*to, *cc, *delivered, *original_to, envelope_to)
    plain, html = content.bodies(msg)
    full = plain if plain is not None else (content.html_to_text(html) if html is not None else None)
    text, quoted = content.new_text(full) if full is not None else ("", False)
    files = content.attachments(msg)
    kind = "media" if not text and files else "text"
    auto, auto_header = noise.auto(msg)
    headers: dict[str, Any] = {
        "message_id": mail_id,
        "message_id_derived": derived,
        "in_reply_to": mime.msg_ids(mime.header(msg, "In-Reply-To")),
        "references": mime.msg_ids(" ".join(str(v) for v in msg.get_all("References") or ())),
        "subject": mime.header(msg, "Subject"),
        "to": to,
        "cc": cc,
        "reply_to": [a for a, _ in mime.addresses(msg, "Reply-To")],
        "date": date,
        "auto": auto,
        "auto_header": auto_header,
        "authentication": authentication(msg, ctx.trusted_authserv_id),
        "full_text": full,
        "html": content.sanitise_html(html) if html is not None else None,
        "quoted": quoted,
    }
    data: dict[str, Any] = {
        "message_id": mail_id,
        "channel": CHANNEL,
        "customer": customer,
        "business": business,
        "customer_name": customer_name or None,
        "kind": kind,
        "text": text if text or kind == "text" else None,
        "attachments": files,
        "reply_to": headers["in_reply_to"][0] if headers["in_reply_to"] else None,
        "sent_at": date,
        "email": headers,
    }
    return Event(
        id=mail_id,
        source=ctx.source,
        type=TYPE_MESSAGE_RECEIVED,
        data=data,
        time=time,
        subject=mail_id,
        partitionkey=ctx.key(business, customer),
    )
