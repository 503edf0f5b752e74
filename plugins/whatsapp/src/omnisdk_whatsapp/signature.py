"""``X-Hub-Signature-256``: Meta's webhook body signature.

Meta signs every webhook POST with ``X-Hub-Signature-256: sha256=<hex>``, the lower-case hex
HMAC-SHA256 of the **raw body bytes** keyed with the app secret
(developers.facebook.com/docs/graph-api/webhooks/getting-started, "Validating payloads";
/docs/whatsapp/cloud-api/guides/set-up-webhooks).  The legacy ``X-Hub-Signature: sha1=…`` is
not accepted: SHA-1 HMACs are refused here even if sent in the sha256 header.

Only the canonical spelling is accepted, as Meta sends it: the ``sha256=`` prefix (lower case)
and exactly 64 **lower-case** hex digits, with nothing around them but HTTP's optional
whitespace (spaces, tabs).  Upper-case hex, a missing prefix or other whitespace would give
more than one accepted spelling of a signature, so they are refused as malformed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from omnisdk.errors import SignatureError

HEADER = "X-Hub-Signature-256"
_HEADER_LC = HEADER.lower()
_PREFIX = "sha256="
_HEX = frozenset("0123456789abcdef")
_OWS = " \t"
"""HTTP optional whitespace (RFC 9110 §5.6.3), the only characters trimmed from the header."""


def compute(app_secret: str, body: bytes) -> str:
    """The header value Meta would send for ``body``: ``"sha256=" + hex digest``."""
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify(app_secret: str, body: bytes, headers: Mapping[str, str]) -> None:
    """Check ``headers["x-hub-signature-256"]`` against the HMAC of ``body``.

    ``headers`` has lower-cased names (as :class:`omnisdk.adapters.WebhookRequest` holds them).
    The digests are compared with :func:`hmac.compare_digest` (constant time).  Error messages
    never contain the secret, nor the expected or received digest.

    Raises:
        SignatureError: header missing (reason ``missing_signature``), malformed — no
            ``sha256=`` prefix, not 64 lower-case hex digits, whitespace other than spaces
            and tabs around it (reason ``malformed_signature``) — or wrong
            (reason ``bad_signature``); also when ``app_secret`` is empty.
    """
    value = headers.get(_HEADER_LC)
    if not value:
        raise SignatureError(f"{HEADER} header is missing", reason="missing_signature")
    value = value.strip(_OWS)
    if not value.startswith(_PREFIX):
        raise SignatureError(
            f"{HEADER} must start with 'sha256='", reason="malformed_signature"
        )
    given = value[len(_PREFIX) :]
    if len(given) != 64 or not _HEX.issuperset(given):
        raise SignatureError(
            f"{HEADER} must carry 64 lower-case hex digits", reason="malformed_signature"
        )
    if not app_secret:
        raise SignatureError("the account has no app_secret configured", reason="bad_signature")
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), given.encode("ascii")):
        raise SignatureError(f"{HEADER} does not match the body", reason="bad_signature")
