"""Decoding Mailgun route posts: ``application/x-www-form-urlencoded`` or
``multipart/form-data`` (documentation.mailgun.com/docs/mailgun/user-manual/
receive-forward-store/receive-http: "We send multipart/form-data when the email has
attachments"), both with the stdlib only.

A route whose URL ends in ``mime`` posts the raw message in ``body-mime`` (same page, "Parsed
vs raw MIME"), besides ``timestamp``, ``token``, ``signature`` (webhooks/securing-webhooks),
``recipient``, ``sender``, ``from`` and ``subject``.  Values are kept as bytes: ``body-mime``
is the mail and need not be UTF-8.
"""

from __future__ import annotations

from email import policy
from email.errors import MessageError
from email.parser import BytesParser
from urllib.parse import unquote_to_bytes

from omnisdk.errors import PayloadError

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
MAX_FIELDS = 1000
_PARSER = BytesParser(policy=policy.default)


def media_type(content_type: str | None) -> str:
    """``Text/Plain; charset=x`` → ``text/plain`` (RFC 9110 section 8.3.1, case-insensitive)."""
    return (content_type or "").partition(";")[0].strip().lower()


def decode(body: bytes, content_type: str) -> dict[str, bytes]:
    """The fields of a Mailgun post, first value of each name.

    Raises:
        PayloadError: not a well-formed form of either kind, or more than 1000 fields.
    """
    kind = media_type(content_type)
    if kind == FORM:
        return _urlencoded(body)
    if kind == MULTIPART:
        return _multipart(body, content_type)
    raise PayloadError(f"unsupported content type {kind[:60]!r}", reason="malformed_payload")


def _urlencoded(body: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if not body:
        return out
    pairs = body.split(b"&")
    if len(pairs) > MAX_FIELDS:
        raise PayloadError("form has too many fields", reason="malformed_payload")
    for pair in pairs:
        name, eq, value = pair.partition(b"=")
        if not eq or not name:
            raise PayloadError("form field without name or '='", reason="malformed_payload")
        try:
            key = unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            raise PayloadError("form field name is not UTF-8", reason="malformed_payload") from None
        out.setdefault(key, unquote_to_bytes(value.replace(b"+", b" ")))
    return out


def _multipart(body: bytes, content_type: str) -> dict[str, bytes]:
    if "\r" in content_type or "\n" in content_type:
        raise PayloadError("malformed multipart content type", reason="malformed_payload")
    try:
        msg = _PARSER.parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
        if not msg.is_multipart() or msg.defects:
            raise PayloadError("malformed multipart/form-data body", reason="malformed_payload")
        out: dict[str, bytes] = {}
        parts = msg.get_payload()
        if len(parts) > MAX_FIELDS:
            raise PayloadError("form has too many fields", reason="malformed_payload")
        for part in parts:
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str) or not name:
                raise PayloadError("form-data part without a name", reason="malformed_payload")
            payload = part.get_payload(decode=True)
            out.setdefault(name, payload if isinstance(payload, bytes) else b"")
        return out
    except PayloadError:
        raise
    except (ValueError, LookupError, TypeError, AttributeError, MessageError):
        raise PayloadError("malformed multipart/form-data body", reason="malformed_payload") from None
