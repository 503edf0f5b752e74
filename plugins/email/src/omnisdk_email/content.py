"""The content of a mail: text and HTML bodies, the new text of a reply, attachments.

- Bodies: ``EmailMessage.get_body`` (RFC 2046 section 5.1.4: the last ``multipart/alternative``
  part the reader can show is the preferred one; ``multipart/related`` roots per RFC 2387).
  The text body is the ``text/plain`` part; an HTML-only mail is converted to text with
  inscriptis (layout-aware, so tables and lists stay readable).
- New text: quoted history and the signature are cut with mail-parser-reply (the reply
  header lines "On ... wrote:", "-----Original Message-----", Outlook "From:/Sent:" blocks,
  "-- " signatures, "Sent from my ..."); texts over :data:`MAX_STRIP_CHARS` are kept whole.
  Its three patterns are built once (:func:`read_reply`), not on every mail.
- HTML is sanitised with nh3 (ammonia): no script, style, event handler or form; images
  keep ``src`` only for ``cid:`` references to parts of the mail, so showing the mail loads
  nothing remote (no tracking pixels).
- Charsets: a text part's ``charset`` parameter (RFC 2046 section 4.1.2) decodes it; bytes
  invalid in it become U+FFFD.  A charset Python does not know raises PayloadError (reason
  ``unknown_charset``): guessing could show the agent garbage as the customer's words.
  ``unknown-8bit`` (RFC 1428) is read as UTF-8 with replacement.
"""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage, Message
from typing import Any

import nh3
from inscriptis import get_text
from mailparser_reply import EmailMessage as ReplyMessage
from mailparser_reply import EmailReplyParser

from omnisdk.errors import PayloadError
from omnisdk.model.email import strip_msg_id
from omnisdk_email.mime import decode, header

MAX_STRIP_CHARS = 100_000
"""Longer texts are not quote-stripped (the reply parser's regexes grow with the text)."""
REPLY_LANGUAGES = ("en", "de", "fr", "es")
"""Languages whose reply headers ("On ... wrote:", "Am ... schrieb ...") are recognised."""

_TRAILING_RULE = re.compile(r"(?:\n[ \t]*[-_=*]{5,}[ \t]*)+\Z")
_UNKNOWN_8BIT = frozenset({"unknown-8bit", "x-unknown", "unknown"})
_LANGUAGES = tuple(EmailReplyParser(languages=list(REPLY_LANGUAGES)).languages)
""":data:`REPLY_LANGUAGES` as the library's parser keeps them (known ones, lower-case)."""
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}

_MEDIA_MAJOR = frozenset({"image", "video", "audio"})


def decode_text(part: Message) -> str:
    """The text of a ``text/*`` part, decoded from its transfer encoding and charset.

    Raises:
        PayloadError: the charset is unknown (reason ``unknown_charset``).
    """
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    charset = str(part.get_content_charset("us-ascii") or "us-ascii").strip().lower()
    if charset in _UNKNOWN_8BIT:
        charset = "utf-8"
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        raise PayloadError(
            f"text part has an unknown charset {charset[:40]!r}", reason="unknown_charset"
        ) from None


def bodies(msg: EmailMessage) -> tuple[str | None, str | None]:
    """``(text/plain body, text/html body)``, each None when the mail has none."""
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return (
        _lines(decode_text(plain)) if plain is not None else None,
        _lines(decode_text(html)) if html is not None else None,
    )


def _lines(text: str) -> str:
    """CRLF (the wire form, RFC 5322 section 2.1) → LF."""
    return text.replace("\r\n", "\n")


def html_to_text(html: str) -> str:
    """Readable text of an HTML body (inscriptis)."""
    return get_text(html).strip() if html.strip() else ""


def _keep_attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute in ("src", "srcset", "background", "poster") and not value.strip().lower().startswith("cid:"):
        return None
    return value


_CLEANER = nh3.Cleaner(
    url_schemes=_URL_SCHEMES,
    attribute_filter=_keep_attribute,
    strip_comments=True,
    link_rel="noopener noreferrer nofollow",
)
"""Built once: ``nh3.clean`` builds the same ammonia cleaner on every call (~10 % of it)."""


def sanitise_html(html: str) -> str:
    """HTML safe to show an agent: nh3's defaults (no script, style, event handlers), no
    remote image sources (only ``cid:``), comments dropped."""
    return _CLEANER.clean(html)


_PATTERNS = ReplyMessage(text="", languages=list(_LANGUAGES))


class _Reply(ReplyMessage):
    """mail-parser-reply's ``EmailMessage`` with the library's own three patterns built once.

    ``EmailReplyParser.read`` makes a new ``EmailMessage`` per mail, whose ``HEADER_REGEX``,
    ``SIGNATURE_REGEX`` and ``DISCLAIMERS_REGEX`` properties join the languages' pattern
    strings again on first use (about a tenth of the stripping).  Here they are the patterns a
    message of :data:`_LANGUAGES` builds, taken once from the public properties; the library
    reads them through those names, so a version that stops doing so is only slower."""

    HEADER_REGEX = _PATTERNS.HEADER_REGEX
    SIGNATURE_REGEX = _PATTERNS.SIGNATURE_REGEX
    DISCLAIMERS_REGEX = _PATTERNS.DISCLAIMERS_REGEX


def read_reply(full: str) -> ReplyMessage:
    """mail-parser-reply's reading of a text (its replies, each with its signature and
    disclaimers) in :data:`REPLY_LANGUAGES`, as ``EmailReplyParser.read`` gives it."""
    return _Reply(text=full, languages=list(_LANGUAGES)).read()


def new_text(full: str) -> tuple[str, bool]:
    """``(the new text of a reply, whether anything was cut)``."""
    if not full.strip() or len(full) > MAX_STRIP_CHARS:
        return full.strip(), False
    message = read_reply(full)
    if not message.replies:
        return full.strip(), False
    first = message.replies[0]
    text = _TRAILING_RULE.sub("", first.body).strip()
    if not text:
        return full.strip(), False
    cut = len(message.replies) > 1 or bool(first.signatures) or bool(first.disclaimers)
    return text, cut


def media_type(mime: str) -> str:
    """``image``/``video``/``audio`` from the major type, else ``document``."""
    major = mime.partition("/")[0]
    return major if major in _MEDIA_MAJOR else "document"


def attachments(msg: EmailMessage) -> list[dict[str, Any]]:
    """Attachment dicts (:class:`omnisdk.model.Attachment`) of the mail's non-body parts
    (``EmailMessage.iter_attachments``): type, file name (RFC 2183/2231), Content-ID (RFC
    2392) without ``<>``, decoded size, inline or not, SHA-256 of the decoded bytes; never
    the content itself."""
    out: list[dict[str, Any]] = []
    for part in msg.iter_attachments():
        mime = part.get_content_type()
        item: dict[str, Any] = {"media_type": media_type(mime), "mime_type": mime}
        filename = part.get_filename()
        if filename:
            item["filename"] = decode(str(filename))  # RFC 2047 words, 8-bit bytes as UTF-8
        cid = header(part, "Content-ID")
        if cid:
            item["content_id"] = strip_msg_id(cid)
        disposition = part.get_content_disposition()
        if disposition is not None:
            item["inline"] = disposition == "inline"
        if not part.is_multipart():
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                item["size"] = len(data)
                item["sha256"] = hashlib.sha256(data).hexdigest()
        out.append(item)
    return out
