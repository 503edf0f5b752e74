"""``X-Hub-Signature-256``: Meta's webhook body signature, as the Messenger Platform sends it.

Meta signs every webhook POST with ``X-Hub-Signature-256: sha256=<hex>``, the lower-case hex
HMAC-SHA256 of the **raw body bytes** keyed with the app secret
(https://developers.facebook.com/docs/graph-api/webhooks/getting-started, "Validating
payloads"; https://developers.facebook.com/docs/messenger-platform/webhooks, "Validate
payloads").  The legacy SHA-1 ``X-Hub-Signature`` is not accepted.

One spelling only: the ``sha256=`` prefix and exactly 64 lower-case hex digits, with nothing
around them but HTTP's optional whitespace (spaces and tabs, RFC 9110 §5.6.3).  Upper-case hex
or a missing prefix would give a second accepted spelling of one signature, so they are
refused as malformed.  The comparison is :func:`hmac.compare_digest` over the header text.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from omnisdk.errors import SignatureError

HEADER = "X-Hub-Signature-256"
_HEADER_LC = HEADER.lower()
_PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")
_OWS = " \t"


def compute(app_secret: str, body: bytes) -> str:
    """The header value Meta would send for ``body``: ``"sha256=" + hex digest``."""
    return _PREFIX + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _given_hex(value: str | None) -> bytes:
    """The header's 64 hex digits as ASCII bytes, once checked to be the canonical spelling.

    Raises:
        SignatureError: missing (``missing_signature``) or malformed (``malformed_signature``).
    """
    if not value:
        raise SignatureError(f"{HEADER} header is missing", reason="missing_signature")
    value = value.strip(_OWS)
    if not value.startswith(_PREFIX):
        raise SignatureError(f"{HEADER} must start with 'sha256='", reason="malformed_signature")
    digits = value[len(_PREFIX):]
    if len(digits) != 64 or not _HEX_DIGITS.issuperset(digits):
        raise SignatureError(f"{HEADER} must carry 64 lower-case hex digits", reason="malformed_signature")
    return digits.encode("ascii")


def verify(app_secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Check ``headers["x-hub-signature-256"]`` (lower-cased names) against the HMAC of ``body``.

    The accepted header is exactly ``"sha256=" + expected hex`` (after trimming optional
    whitespace), so one constant-time comparison of the whole text against the expected one
    accepts a good signature; only a refused one is then read again to say why.

    Raises:
        SignatureError: missing, malformed, or wrong (``bad_signature``); also when the secret
            is empty.  Messages never hold the secret or a digest.
    """
    value = headers.get(_HEADER_LC)
    if value and app_secret and value.isascii():  # compare_digest takes ASCII text only
        expected = _PREFIX + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(value.strip(_OWS), expected):
            return
    # refused: the same reasons, in the same order, as a reading of the header before the HMAC
    _given_hex(value)  # missing_signature, malformed_signature
    if not app_secret:
        raise SignatureError("the account has no app_secret configured", reason="bad_signature")
    raise SignatureError(f"{HEADER} does not match the body", reason="bad_signature")
