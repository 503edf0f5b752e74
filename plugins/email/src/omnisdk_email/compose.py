"""OutboundMessage → one RFC 5322 mail (:class:`email.message.EmailMessage`), no I/O.

The message is built with the standard library's ``email`` package under
:data:`POLICY` (``email.policy.SMTP``: CRLF line ends, RFC 2047 encoded words for non-ASCII
display names and subjects), never by string concatenation.  One exception, explained at
:class:`MsgIdListHeader`: ``In-Reply-To`` and ``References`` are folded by a small header
class of their own, because the standard library treats them as unstructured text and would
RFC 2047-encode a long msg-id, which breaks threading.

Header fields written (RFC 5322 section 3.6):

- ``From`` (3.6.2) with an optional display name, ``To`` (3.6.3) the customer,
  ``Subject`` (3.6.5), ``Date`` (3.6.1, UTC), ``Message-ID`` (3.6.4);
- ``In-Reply-To`` and ``References`` (3.6.4) when answering a mail;
- ``Auto-Submitted: auto-replied`` (RFC 3834 section 5) and ``X-Auto-Response-Suppress: All``
  on automatic answers (see :func:`compose`).

Message-IDs are passed in and kept **without** angle brackets, as everywhere in omnisdk
(:mod:`omnisdk.model.email`); this module adds the ``<>`` when writing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime

from omnisdk.adapters import OutboundMessage
from omnisdk.model.email import strip_msg_id

MAX_REFERENCES = 20
"""At most this many msg-ids in ``References``: the first one (the thread's root) and the
most recent ones.  RFC 5322 section 3.6.4 sets no limit, but a header line must stay under
998 octets (section 2.1.1); RFC 5537 section 3.4.4 (Netnews, the same field) allows trimming
as long as the first id and the last three are kept, which is what common MUAs do for mail
too.  20 ids of typical length fit well under the limit once folded."""

AUTO_RESPONSE_SUPPRESS = "OOF, AutoReply"
"""``X-Auto-Response-Suppress`` of automatic mail ([MS-OXCMAIL] section 2.1.3.2.20):
Exchange/Outlook then send no out-of-office (``OOF``) nor other auto-reply (``AutoReply``) to
it, which is what stops an auto-reply loop with them.  ``All`` would also suppress delivery
and non-delivery reports (``DR``, ``NDR``), and a bounce of our automatic mail is a fact we
want: it marks the message failed."""

_ATEXT = re.compile(r"[A-Za-z0-9!#$&'*+\-/=?^_`{|}~]")
"""RFC 5322 section 3.2.3 ``atext`` minus ``%`` (kept as the escape character of
:func:`message_id_for`) — so the escaping is injective."""

_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")
"""RFC 5322 section 3.2.3 ``dot-atom-text``."""

_MSG_ID_CHARS = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]+")
"""A msg-id without its ``<>``: printable ASCII, no space, no ``<`` or ``>`` (RFC 5322
section 3.6.4 ``id-left "@" id-right``, loosely: foreign ids are not always ``@``-shaped)."""

_RE_PREFIX = re.compile(r"\s*re\s*:", re.IGNORECASE)
_MAX_ID_LEFT = 200


class MsgIdListHeader(UnstructuredHeader):
    """``In-Reply-To`` / ``References``: a list of ``<msg-id>`` folded between ids.

    The standard library's header registry has no class for these fields and treats them as
    unstructured text: a msg-id longer than the line gets RFC 2047-encoded
    (``=?utf-8?q?=3Cqq...?=``), which RFC 2047 section 5 forbids inside a msg-id and which
    receivers do not thread on.  This class folds only at the spaces between ids (RFC 5322
    section 3.2.2 folding white space), never inside one, and never encodes.  The values are
    checked by :func:`compose` (printable ASCII, no CR/LF) before they get here.
    """

    def fold(self, *, policy: Policy) -> str:
        """``Name: <a> <b>`` folded to ``policy.max_line_length`` where ids allow, CRLF-ended."""
        limit = policy.max_line_length or 998
        lines: list[str] = []
        current = f"{self.name}:"
        for n, msg_id in enumerate(str(self).split()):
            if n and len(current) + 1 + len(msg_id) > limit:
                lines.append(current)  # fold before this id; the first stays on the name line
                current = ""
            current += " " + msg_id
        lines.append(current)
        return policy.linesep.join(lines) + policy.linesep


def _header_factory() -> HeaderRegistry:
    registry = HeaderRegistry()
    registry.map_to_type("in-reply-to", MsgIdListHeader)
    registry.map_to_type("references", MsgIdListHeader)
    return registry


POLICY: Policy = email_policy.SMTP.clone(header_factory=_header_factory())
"""``email.policy.SMTP`` (CRLF, RFC 2047 for non-ASCII words, 78-character folding) with
:class:`MsgIdListHeader` for ``In-Reply-To`` and ``References``."""


def _no_crlf(value: str, what: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"{what} must not contain CR or LF (header injection)")
    return value


def _check_msg_id(value: str, what: str) -> str:
    value = strip_msg_id(_no_crlf(value, what))
    if not _MSG_ID_CHARS.fullmatch(value):
        raise ValueError(f"{what} must be a msg-id of printable ASCII without spaces or <>")
    return value


def message_id_for(idempotency_key: str, sender: str) -> str:
    """The Message-ID (without ``<>``) of the send with this outbox idempotency key.

    ``<key>@<domain of sender>``: deterministic, so a retried send (same key, same sender) is
    the *same* message and receivers that dedupe on Message-ID show it once; the sender's
    domain as id-right keeps ids unique across senders (RFC 5322 section 3.6.4 recommends the
    domain of the generating host).  The key is made RFC 5322 ``dot-atom-text``: characters
    outside ``atext`` (and ``%``, ``.``) become ``%XX`` of their UTF-8 bytes; a key whose
    escaped form is longer than 200 characters is replaced by ``sha256-<hex>`` of it.

    Raises:
        ValueError: an empty key; a sender without an ``@domain`` or whose domain is not a
            dot-atom (RFC 5322 section 3.4.1).
    """
    if not idempotency_key:
        raise ValueError("the idempotency key must not be empty")
    local, at, domain = _no_crlf(sender, "sender").strip().rpartition("@")
    if not at or not local or not _DOT_ATOM.fullmatch(domain):
        raise ValueError("sender must be an address with a domain, such as support@example.com")
    left = "".join(
        ch if _ATEXT.fullmatch(ch) else "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
        for ch in idempotency_key
    )
    if len(left) > _MAX_ID_LEFT:
        left = "sha256-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()
    return f"{left}@{domain.lower()}"


def reply_subject(subject: str) -> str:
    """``subject`` with ``Re: `` in front unless it already starts with ``Re:`` (any case).

    RFC 5322 section 3.6.5: a reply's subject is the original's with ``Re: `` prepended, and
    only once.
    """
    subject = _no_crlf(subject, "subject").strip()
    return subject if _RE_PREFIX.match(subject) else f"Re: {subject}"


def thread_references(references: Sequence[str], in_reply_to: str | None) -> list[str]:
    """The reply's ``References`` ids (without ``<>``), oldest first.

    RFC 5322 section 3.6.4: the parent's ``References`` followed by the parent's Message-ID
    (``in_reply_to``).  Duplicates are dropped (first occurrence kept), ids that are no
    msg-id (spaces, ``<``/``>``, non-ASCII, CR/LF — foreign mail is not always clean) are
    dropped, and the list is capped at :data:`MAX_REFERENCES`: the first id and the most
    recent ones.
    """
    ids: list[str] = []
    for raw in [*references, *([in_reply_to] if in_reply_to else [])]:
        value = strip_msg_id(raw)
        if _MSG_ID_CHARS.fullmatch(value) and value not in ids:
            ids.append(value)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1):]]
    return ids


def _body(message: OutboundMessage) -> str:
    """The text part: ``message.text``, then for each media item its label and, on the next
    line, its URL (paragraphs apart).

    Attachments are not made: :class:`~omnisdk.adapters.OutboundMedia` carries a URL or a
    provider media id, never bytes, and fetching a URL taken from payload data would let a
    payload make this process call any host (SSRF).  Attaching files needs a content store
    the core does not have yet; until then the URLs are listed in the text.
    """
    lines: list[str] = [message.text] if message.text else []
    for item in message.media:  # its label (caption, file name or kind) above its URL
        if not item.url:
            raise ValueError("email media must be given by URL (a provider media_id means nothing here)")
        label = item.caption or item.filename or item.media_type
        lines.append(f"{_no_crlf(label, 'media caption')}\n{_no_crlf(item.url, 'media url')}")
    if not lines:
        raise ValueError("an email needs text or media")
    return "\n\n".join(lines) + "\n"


def compose(
    message: OutboundMessage,
    *,
    sender: str,
    sender_name: str | None,
    message_id: str,
    subject: str,
    in_reply_to: str | None,
    references: Sequence[str],
    automatic: bool = False,
    date: datetime,
) -> EmailMessage:
    """The mail that sends ``message`` to ``message.customer``.

    Args:
        message: ``customer`` is the ``To`` addr-spec; ``text`` the body; ``media`` URLs are
            listed in the body (see :func:`_body`: no attachments yet); templates are refused.
        sender: the ``From`` addr-spec (a business address of the account).
        sender_name: ``From`` display name; non-ASCII is RFC 2047-encoded by the policy.
        message_id: this mail's Message-ID without ``<>`` (:func:`message_id_for`).
        subject: the subject, our reference token included (the core writes it:
            ``OutboundMessage.email.subject``, :mod:`omnisdk.model.subjects`); ``Re: `` is
            added once when ``in_reply_to`` is set (:func:`reply_subject`).
        in_reply_to: the parent's Message-ID (without ``<>``) when answering a mail.
        references: the parent's ``References`` ids, oldest first; the parent's Message-ID
            is appended and the list capped (:func:`thread_references`).
        automatic: an automatic answer (acknowledgement, auto-reply, not a person's).  Adds
            ``Auto-Submitted: auto-replied`` (RFC 3834 section 5: responders MUST NOT answer
            such mail, so an out-of-office or another help desk does not loop with us) and
            ``X-Auto-Response-Suppress: All`` (:data:`AUTO_RESPONSE_SUPPRESS`: Exchange and
            Outlook decide their out-of-office and auto-replies on this header, not on
            ``Auto-Submitted``).
        date: the ``Date`` (RFC 5322 section 3.6.1), an aware datetime written in UTC.

    Raises:
        ValueError: CR/LF in a header value (header injection); a ``customer`` or ``sender``
            that is no addr-spec; an invalid ``message_id``/``in_reply_to``; a naive
            ``date``; a template; no text and no media; media without URL.
    """
    if message.template is not None:
        raise ValueError("the email plugin does not send templates")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date must be timezone-aware")
    subject = _no_crlf(subject, "subject")
    if sender_name is not None:
        _no_crlf(sender_name, "sender_name")
    message_id = _check_msg_id(message_id, "message_id")
    parent = _check_msg_id(in_reply_to, "in_reply_to") if in_reply_to else None
    try:
        from_addr = Address(display_name=sender_name or "", addr_spec=_no_crlf(sender, "sender"))
        to_addr = Address(addr_spec=_no_crlf(message.customer, "customer"))
    except (ValueError, IndexError, TypeError) as exc:
        raise ValueError(f"not an email address: {exc}") from None
    if not to_addr.domain or not from_addr.domain:
        raise ValueError("sender and customer must be addresses with a domain")

    msg = EmailMessage(policy=POLICY)
    msg["From"] = from_addr
    msg["To"] = to_addr
    msg["Subject"] = reply_subject(subject) if parent else subject.strip()
    msg["Date"] = format_datetime(date.astimezone(UTC))
    msg["Message-ID"] = f"<{message_id}>"
    if parent:
        msg["In-Reply-To"] = f"<{parent}>"
        msg["References"] = " ".join(f"<{i}>" for i in thread_references(references, parent))
    if automatic:
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = AUTO_RESPONSE_SUPPRESS
    msg.set_content(_body(message), charset="utf-8")
    return msg


__all__ = [
    "AUTO_RESPONSE_SUPPRESS",
    "MAX_REFERENCES",
    "POLICY",
    "compose",
    "message_id_for",
    "reply_subject",
    "thread_references",
]
