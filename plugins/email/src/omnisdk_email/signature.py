"""Webhook authentication: Standard Webhooks on raw-MIME posts, and Mailgun's signed form fields.

**Raw MIME** is signed as Standard Webhooks specifies (github.com/standard-webhooks/
standard-webhooks, ``spec/standard-webhooks.md``, "Signature scheme"): the headers
``webhook-id`` (a unique message id), ``webhook-timestamp`` (Unix seconds) and
``webhook-signature`` (``v1,`` + the base64 HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{body}``,
keyed with the base64-decoded part of the ``whsec_…`` secret after its prefix; several
space-separated signatures are allowed during a key rotation).  The timestamp must be within
:data:`MAX_SKEW_SECONDS` of the gateway's receive time.  Each signature is compared in constant
time over its one canonical spelling (standard base64 with padding).  The ``standardwebhooks``
library is not used to verify: it decodes the body as UTF-8 text (a mail's 8bit parts need not
be) and reads the wall clock (verify() here is pure and uses the request's receive time).

**Mailgun** (documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks):
the form fields ``timestamp`` (seconds since the epoch), ``token`` (a random string of 50
characters) and ``signature`` (hex HMAC-SHA256 of ``timestamp`` + ``token`` concatenated with
no separator, keyed with the HTTP webhook signing key).  The same page recommends refusing
stale timestamps and reused tokens; a timestamp more than :data:`MAX_SKEW_SECONDS` from the
gateway's receive time is refused here (the token cache is the inbox's dedupe on the
Message-ID: a replayed route post yields no second message).

Pure: no clock (the receive time comes in the request), no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime

from omnisdk.errors import SignatureError

ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"
SECRET_PREFIX = "whsec_"
MAX_SKEW_SECONDS = 300
"""Five minutes, Standard Webhooks' and Mailgun's recommended tolerance."""
MAX_ID_CHARS = 256

_SIGNATURE = re.compile(r"v1,[A-Za-z0-9+/]{43}=")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
MAX_TOKEN_CHARS = 256


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret.

    Raises:
        ValueError: no ``whsec_`` prefix, not base64, or an empty key.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("must be a Standard Webhooks secret: whsec_ followed by base64")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be a Standard Webhooks secret: whsec_ followed by base64") from None
    if len(key) < 16:
        raise ValueError("the key after whsec_ must decode to at least 16 bytes")
    return key


def sign_raw(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of a raw-MIME post."""
    digest = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {ID_HEADER: msg_id, TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: "v1," + base64.b64encode(digest).decode("ascii")}


def verify_raw(secret: str, body: bytes, headers: Mapping[str, str], *, received_at: str) -> None:
    """Check the Standard Webhooks headers of a raw-MIME post (lower-case header names).

    Raises:
        SignatureError: a header missing or malformed, a timestamp more than five minutes from
            ``received_at`` (reason ``stale_signature``), or no signature that matches; the
            message never holds the secret nor a digest.
    """
    msg_id, stamp, given = (headers.get(h) for h in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    if not msg_id or not stamp or not given:
        raise SignatureError("webhook-id, webhook-timestamp or webhook-signature is missing",
                             reason="missing_signature")
    if len(msg_id) > MAX_ID_CHARS or not msg_id.isascii() or not msg_id.isprintable() or "." in msg_id \
            or not _TIMESTAMP.fullmatch(stamp):
        raise SignatureError("webhook-id or webhook-timestamp is malformed", reason="malformed_signature")
    candidates = given.split(" ")
    if not all(_SIGNATURE.fullmatch(c) or not c.startswith("v1,") for c in candidates):
        raise SignatureError("a v1 webhook-signature is not standard base64 of 32 bytes",
                             reason="malformed_signature")
    if abs(int(stamp) - _epoch(received_at)) > MAX_SKEW_SECONDS:
        raise SignatureError("webhook-timestamp is more than 5 minutes from the receive time",
                             reason="stale_signature")
    want = sign_raw(secret, msg_id, int(stamp), body)[SIGNATURE_HEADER].encode()
    matched = False
    for candidate in candidates:  # every one is compared: the time does not tell which matched
        matched |= hmac.compare_digest(candidate.encode(), want)
    if not matched:
        raise SignatureError("signature does not match", reason="bad_signature")


def mailgun_signature(signing_key: str, timestamp: str, token: str) -> str:
    """Mailgun's ``signature``: hex HMAC-SHA256 of ``timestamp + token`` (no separator)."""
    msg = (timestamp + token).encode("utf-8")
    return hmac.new(signing_key.encode("utf-8"), msg, hashlib.sha256).hexdigest()


def _epoch(received_at: str) -> float:
    try:
        return datetime.fromisoformat(received_at.replace("Z", "+00:00")).timestamp()
    except (ValueError, TypeError, OverflowError):
        raise SignatureError(
            "the request's receive time is unreadable", reason="stale_signature"
        ) from None


def verify_mailgun(
    signing_key: str,
    timestamp: str | None,
    token: str | None,
    signature: str | None,
    *,
    received_at: str,
) -> None:
    """Check the ``timestamp``/``token``/``signature`` fields of a Mailgun route post.

    Raises:
        SignatureError: a field missing or malformed, a timestamp more than five minutes from
            ``received_at`` (reason ``stale_signature``), or a wrong signature.
    """
    if not timestamp or not token or not signature:
        raise SignatureError(
            "Mailgun post lacks timestamp, token or signature", reason="missing_signature"
        )
    if (
        not _TIMESTAMP.fullmatch(timestamp)
        or len(token) > MAX_TOKEN_CHARS
        or not token.isascii()
        or not token.isprintable()
        or not _HEX64.fullmatch(signature)
    ):
        raise SignatureError("Mailgun signature fields are malformed", reason="malformed_signature")
    if abs(int(timestamp) - _epoch(received_at)) > MAX_SKEW_SECONDS:
        raise SignatureError(
            "Mailgun timestamp is more than 5 minutes from the receive time",
            reason="stale_signature",
        )
    expected = mailgun_signature(signing_key, timestamp, token)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise SignatureError("signature does not match", reason="bad_signature")
