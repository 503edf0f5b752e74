"""What kind of mail this is: a person's, an automatic one, or a report about our own mail.

Automatic mail (:func:`auto`) still becomes ``io.omnisdk.message.received``, with
``email.auto`` set so the core opens no interaction for it and never answers it (mail loops):

- ``Auto-Submitted`` (RFC 3834 section 5): any value but ``no``; ``auto-replied``,
  ``auto-generated`` and ``auto-notified`` (RFC 5436) are kept, other extension values count
  as ``auto-generated``;
- ``X-Autoreply`` / ``X-Autorespond`` (written by vacation responders; RFC 3834 section 3.1.7
  names them as fields auto-responders should also look for): ``out-of-office``;
- ``Precedence: bulk | junk | list`` (RFC 3834 section 3.1.8 and RFC 2076 section 3.9);
- ``List-Id`` (RFC 2919): ``list``.

Reports (:func:`report_kind`), RFC 6522 ``multipart/report`` by ``report-type``:
``delivery-status`` (RFC 3464 DSN), ``disposition-notification`` (RFC 8098 MDN) and
``feedback-report`` (RFC 5965 ARF).  A bounce that is no DSN but carries Exim's
``X-Failed-Recipients`` field (Exim specification, chapter "Message processing": the field
Exim and Gmail add to bounce messages, listing the failed addresses) from a
``MAILER-DAEMON``/``postmaster`` sender is a ``failed-recipients`` report.  Microsoft's
``X-Auto-Response-Suppress`` is not read: its documentation ([MS-OXCMAIL]) describes what
the *sender* asks to suppress, not that a mail is automatic.
"""

from __future__ import annotations

from email.message import Message

from omnisdk_email.mime import addresses, header

AUTO_SUBMITTED_KINDS = frozenset({"auto-replied", "auto-generated", "auto-notified"})
PRECEDENCE_KINDS = frozenset({"bulk", "junk", "list"})
REPORT_TYPES = frozenset({"delivery-status", "disposition-notification", "feedback-report"})
DAEMONS = frozenset({"mailer-daemon", "postmaster"})


def auto(msg: Message) -> tuple[str | None, str | None]:
    """``(kind, "Header: value")`` when the mail is automatic, else ``(None, None)``; kinds
    are :data:`omnisdk.model.email.AUTO_KINDS`."""
    value = header(msg, "Auto-Submitted")
    if value:
        word = value.partition(";")[0].strip().lower()
        if word and word != "no":
            kind = word if word in AUTO_SUBMITTED_KINDS else "auto-generated"
            return kind, f"Auto-Submitted: {value[:200]}"
    for name in ("X-Autoreply", "X-Autorespond"):
        value = header(msg, name)
        if value:
            return "out-of-office", f"{name}: {value[:200]}"
    value = header(msg, "Precedence")
    if value.strip().lower() in PRECEDENCE_KINDS:
        return value.strip().lower(), f"Precedence: {value[:200]}"
    value = header(msg, "List-Id")
    if value:
        return "list", f"List-Id: {value[:200]}"
    return None, None


def report_kind(msg: Message) -> str | None:
    """The RFC 6522 ``report-type`` of a ``multipart/report`` (lower-case; ``"unknown"``
    when it names none), ``"failed-recipients"`` for an Exim/Gmail style bounce, else None.
    Report types outside :data:`REPORT_TYPES` become provider notices, never messages."""
    if msg.get_content_type() == "multipart/report":
        kind = str(msg.get_param("report-type") or "").strip().lower()
        return kind or "unknown"
    if header(msg, "X-Failed-Recipients"):
        senders = addresses(msg, "From")
        if senders and senders[0][0].partition("@")[0].lower() in DAEMONS:
            return "failed-recipients"
    return None
