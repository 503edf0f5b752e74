"""Reading a MIME message with the stdlib: structure, addresses, message ids, dates.

Parsed with ``email.parser.BytesParser(policy=email.policy.default)``: header fields are
decoded from RFC 2047 encoded words (RFC 2047 section 6), address lists parsed as RFC 5322
section 3.4, parameters as RFC 2231.  (``compat32`` parses a little faster but leaves encoded
words and charsets to the caller; see the README's measurements.)

Refused (:class:`PayloadError`): an empty body; a body with no header field; a multipart
whose structure the parser reports broken (no boundary, no start boundary, no close boundary:
a truncated mail, :data:`FATAL_DEFECTS`).  Other defects (a stray line in the header, bad
base64 padding) leave the mail readable and are tolerated, as mail clients do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import errors, policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from omnisdk.errors import PayloadError
from omnisdk.model.email import strip_msg_id

FATAL_DEFECTS: tuple[type[errors.MessageDefect], ...] = (
    errors.NoBoundaryInMultipartDefect,
    errors.StartBoundaryNotFoundDefect,
    errors.CloseBoundaryNotFoundDefect,
    errors.MultipartInvariantViolationDefect,
)
"""Defects that leave the MIME structure unreadable (email.errors)."""

PARSE_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, LookupError, TypeError, AttributeError, errors.MessageError, AssertionError,
    RecursionError,
)
"""What the stdlib's header and body parsers raise on hostile input (undocumented, so caught
broadly and turned into PayloadError at the edge of :func:`omnisdk_email.translate`)."""

_PARSER = BytesParser(policy=policy.default)
_HEADERS = BytesHeaderParser(policy=policy.default)
_COMMENT = re.compile(r"\([^()]*\)")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_BARE_ID = re.compile(r"[^<>\s@]+@[^<>\s@]+")


def parse(body: bytes) -> EmailMessage:
    """The message, or PayloadError when it is no readable mail (see the module docstring)."""
    if not body.strip():
        raise PayloadError("empty mail", reason="malformed_payload")
    msg = _PARSER.parsebytes(body)
    if not msg.keys():
        raise PayloadError("mail has no header fields", reason="malformed_payload")
    for part in msg.walk():
        for defect in part.defects:
            if isinstance(defect, FATAL_DEFECTS):
                raise PayloadError(
                    f"broken MIME structure: {type(defect).__name__}", reason="malformed_payload"
                )
    return msg  # type: ignore[return-value]


def parse_headers(raw: bytes | str) -> Message:
    """A header block alone (``text/rfc822-headers``, RFC 6522 section 4)."""
    data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else raw
    return _HEADERS.parsebytes(data)


def header(msg: Message, name: str) -> str:
    """The first ``name`` field as text (RFC 2047 decoded), ``""`` when absent."""
    value = msg.get(name)
    return "" if value is None else str(value).strip()


def addr_spec(local: str, domain: str) -> str | None:
    """``local@domain`` with the domain lower-cased, or None when a part is empty."""
    local, domain = local.strip(), domain.strip().lower()
    if not local or not domain or any(c.isspace() for c in local + domain):
        return None
    return f"{local}@{domain}"


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """``[(addr_spec, display name)]`` of every ``name`` field (RFC 5322 section 3.4), in
    order, unusable entries dropped."""
    out: list[tuple[str, str]] = []
    for value in msg.get_all(name) or ():
        found = getattr(value, "addresses", None)
        if found is None:  # a plain header (compat parsing of a sub-block)
            pairs = getaddresses([str(value)])
            for display, spec in pairs:
                local, _, domain = spec.rpartition("@")
                addr = addr_spec(local, domain) if local else None
                if addr:
                    out.append((addr, display))
            continue
        for item in found:
            if isinstance(item, Address):
                addr = addr_spec(item.username, item.domain)
                if addr:
                    out.append((addr, item.display_name))
    return out


def msg_ids(value: str) -> list[str]:
    """The msg-ids of a ``Message-ID``/``In-Reply-To``/``References`` value without ``<>``
    (RFC 5322 section 3.6.4), in order; bare ``id@host`` words when no ``<...>`` is found."""
    found = _MSG_ID.findall(value)
    if not found:
        found = _BARE_ID.findall(value)
    out: list[str] = []
    for item in found:
        item = strip_msg_id(item)
        if item and item not in out:
            out.append(item)
    return out


def message_id(msg: Message) -> str | None:
    """The mail's own Message-ID without ``<>``, or None."""
    ids = msg_ids(header(msg, "Message-ID"))
    return ids[0] if ids else None


def rfc3339(value: str) -> str | None:
    """An RFC 5322 section 3.3 date-time as RFC 3339 UTC (``2010-06-02T03:06:27Z``); None
    when unreadable.  A zone of ``-0000`` (or none) is read as UTC."""
    value = _COMMENT.sub(" ", value) if "(" in value else value
    if not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if not 1 <= when.year <= 9999:
        return None
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def date(msg: Message) -> str | None:
    """The ``Date`` field (RFC 5322 section 3.6.1) as RFC 3339 UTC, or None.  Read from the
    raw field: the default policy's parsed ``Date`` drops a zone that follows a comment."""
    for name, value in msg.raw_items():
        if name.lower() == "date":
            return rfc3339(" ".join(str(value).split()))
    return None


def utc(value: str) -> datetime:
    """An RFC 3339 string of :func:`rfc3339` back to an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
