"""``X-Line-Signature``: LINE's webhook body signature.

LINE signs every webhook POST with ``X-Line-Signature: <base64 HMAC-SHA256 of the raw body>``,
keyed with the channel secret
(https://developers.line.biz/en/reference/messaging-api/#signature-validation).

Only the canonical spelling is accepted: standard base64 (``+``, ``/``) of the 32-byte digest,
with its ``=`` padding, 44 characters, nothing around it but HTTP's optional whitespace.  Hex,
URL-safe or unpadded base64, and the three other spellings a lenient decoder maps to the same
bytes (unused low bits set in the last character) are refused as malformed, so one signature
has one spelling.  The comparison is :func:`hmac.compare_digest` over the base64 text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from omnisdk.errors import SignatureError

HEADER = "X-Line-Signature"
_HEADER_LC = HEADER.lower()
_OWS = " \t"
"""HTTP optional whitespace (RFC 9110 §5.6.3), the only characters trimmed from the header."""
_DIGEST_SIZE = hashlib.sha256().digest_size


def compute(channel_secret: str, body: bytes) -> str:
    """The header value LINE would send for ``body``."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _canonical(value: str | None) -> bytes:
    """The header's base64 text as ASCII bytes, once checked to be canonical.

    Raises:
        SignatureError: missing (``missing_signature``) or not the canonical base64 of a
            32-byte digest (``malformed_signature``).  The message never holds the value.
    """
    if not value:
        raise SignatureError(f"{HEADER} header is missing", reason="missing_signature")
    try:
        text = value.strip(_OWS).encode("ascii")
        raw = base64.b64decode(text, validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise SignatureError(f"{HEADER} is not base64", reason="malformed_signature") from None
    if len(raw) != _DIGEST_SIZE:
        raise SignatureError(f"{HEADER} is not an HMAC-SHA256 digest", reason="malformed_signature")
    if base64.b64encode(raw) != text:
        raise SignatureError(f"{HEADER} is not canonical base64", reason="malformed_signature")
    return text


def verify(channel_secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Check ``headers["x-line-signature"]`` (lower-cased names) against the HMAC of ``body``.

    Raises:
        SignatureError: header missing, malformed, or wrong (``bad_signature``); also when the
            secret is empty.  Messages never hold the secret or a digest.
    """
    given = _canonical(headers.get(_HEADER_LC))
    if not channel_secret:
        raise SignatureError("the account has no channel_secret configured", reason="bad_signature")
    expected = compute(channel_secret, body).encode("ascii")
    if not hmac.compare_digest(expected, given):
        raise SignatureError(f"{HEADER} does not match the body", reason="bad_signature")
