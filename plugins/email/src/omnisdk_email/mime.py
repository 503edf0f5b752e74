"""Reading a MIME message with the stdlib: structure, addresses, message ids, dates.

Parsed with ``email.parser.BytesParser`` under :data:`POLICY`, ``compat32`` with header values
kept raw (about 10x faster than ``email.policy.default``, which builds a header object on every
read of a field, ``Content-Type`` included).  So the fields this plugin reads are decoded here:
unfolded (RFC 5322 section 2.2.3), encoded words decoded (RFC 2047 section 6, with
``email.header.decode_header``/``make_header``), 8-bit bytes read as UTF-8 with U+FFFD for
invalid ones (as the default policy does), address lists split by ``email.utils.getaddresses``
(RFC 5322 section 3.4), parameters by ``email.message`` (RFC 2231).  A field the fast path
cannot decode (an unknown charset in an encoded word, encoded words beside raw 8-bit text,
bad base64) goes through the default policy's own header parser, so it reads as before.

Refused (:class:`PayloadError`): an empty body; a body with no header field; a multipart
whose structure the parser reports broken (no boundary, no start boundary, no close boundary:
a truncated mail, :data:`FATAL_DEFECTS`).  Other defects (a stray line in the header, bad
base64 padding) leave the mail readable and are tolerated, as mail clients do.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email import errors, policy
from email.header import decode_header, make_header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import Compat32
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


class _RawHeaders(Compat32):
    """``compat32`` whose ``Message.get`` returns the field as received (a ``str``, folded,
    8-bit bytes as surrogate escapes) instead of an ``email.header.Header`` for 8-bit ones:
    :func:`decode` reads it."""

    def header_fetch_parse(self, name: str, value: str) -> str:  # noqa: ARG002 - the policy API
        return value


class Part(EmailMessage):
    """The message class of :data:`POLICY`: ``EmailMessage`` (``get_body``,
    ``iter_attachments``) on plain ``str`` field values."""

    def is_attachment(self) -> bool:
        """``Content-Disposition: attachment`` (RFC 2183); the default policy's version reads
        the parsed header object, which ``compat32`` values are not."""
        return self.get_content_disposition() == "attachment"


POLICY = _RawHeaders()
"""The parsing policy (see the module docstring)."""
_PARSER = BytesParser(Part, policy=POLICY)
_HEADERS = BytesHeaderParser(Part, policy=POLICY)
_DEFAULT_FACTORY = policy.default.header_factory
_LINE_BREAKS = re.compile(r"[\r\n]")
_SURROGATES = re.compile("[\udc80-\udcff]")
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[qQbB]\?[^?\s]*\?=")
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


def _unfold(value: str) -> str:
    """RFC 5322 section 2.2.3 unfolding: line breaks removed, the white space after them kept."""
    return _LINE_BREAKS.sub("", value) if ("\n" in value or "\r" in value) else value


def _sanitise(value: str) -> str:
    """8-bit bytes of a field (surrogate escapes) read as UTF-8, U+FFFD for invalid ones."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def decode(value: str, name: str = "Subject") -> str:
    """A raw unstructured field value as text: unfolded, RFC 2047 encoded words decoded,
    8-bit bytes read as UTF-8.  ``name`` only matters for the fallback (module docstring)."""
    value = _unfold(str(value))
    eight_bit = _SURROGATES.search(value) is not None
    if "=?" not in value:
        return _sanitise(value) if eight_bit else value
    if not eight_bit and value.isascii() and _words_delimited(value):
        try:
            return str(make_header(decode_header(value)))
        except (ValueError, LookupError, errors.HeaderParseError):
            pass
    return str(_DEFAULT_FACTORY(name, value))


def _words_delimited(value: str) -> bool:
    """Every encoded word stands alone between white space (or ``<``/``"`` in an address), as
    RFC 2047 section 5 requires; glued ones (``a=?utf-8?q?b?=c``) take the fallback."""
    for found in _ENCODED_WORD.finditer(value):
        start, end = found.span()
        if start and not value[start - 1].isspace() and value[start - 1] != '"':
            return False
        if end < len(value) and not value[end].isspace() and value[end] not in '"<':
            return False
    return True


def _registry_addresses(name: str, value: str) -> list[tuple[str, str]]:
    """The default policy's reading of an address field (comments, groups, glued words)."""
    out: list[tuple[str, str]] = []
    for item in getattr(_DEFAULT_FACTORY(name, value), "addresses", ()):
        if isinstance(item, Address):
            addr = addr_spec(item.username, item.domain)
            if addr:
                out.append((addr, _sanitise(item.display_name)))
    return out


def header(msg: Message, name: str) -> str:
    """The first ``name`` field as text (:func:`decode`), ``""`` when absent."""
    value = msg.get(name)
    return "" if value is None else decode(value, name).strip()


def addr_spec(local: str, domain: str) -> str | None:
    """``local@domain`` with the domain lower-cased, or None when a part is empty."""
    local, domain = local.strip(), domain.strip().lower()
    if not local or not domain or any(c.isspace() for c in local + domain):
        return None
    return f"{local}@{domain}"


def addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """``[(addr_spec, display name)]`` of every ``name`` field (RFC 5322 section 3.4), in
    order, unusable entries dropped; display names decoded as :func:`decode`."""
    out: list[tuple[str, str]] = []
    for value in msg.get_all(name) or ():
        value = _unfold(str(value))
        if _SURROGATES.search(value) is not None:
            value = _sanitise(value)
        if "(" in value or ";" in value or "=?" in value and not _words_delimited(value):
            out.extend(_registry_addresses(name, value))
            continue
        for display, spec in getaddresses([value]):
            local, _, domain = spec.rpartition("@")
            addr = addr_spec(local, domain) if local else None
            if addr:
                out.append((addr, decode(display, "Subject") if display else ""))
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
