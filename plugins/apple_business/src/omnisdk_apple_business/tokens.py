"""The HS256 JWTs of ``Authorization: Bearer`` between Apple Messages for Business and the MSP.

Apple's rules (https://developer.apple.com/documentation/businesschatapi/authorizing_messages):
every request, both ways, carries ``Authorization: Bearer <JWT>``; ``alg`` is always
``HS256``; the key is the base64-decoded "Messaging API secret key"; a JWT Apple sends to
the MSP has ``aud`` = the MSP id; a JWT the MSP sends to Apple has ``iss`` = the MSP id;
``iat`` is the issue time in seconds since the epoch.  The receiver must reject a request
without the header.

**Inbound check** (:func:`verify_bearer`), with pyjwt (``jwt.decode``: the signature over
``header.payload`` with HMAC-SHA256, compared with :func:`hmac.compare_digest`, and the
audience).  Besides, here:

- only ``Bearer`` + one space + a compact JWS whose three parts are canonical unpadded
  base64url (a second spelling of the same signature is refused);
- ``alg`` must be ``HS256`` (pyjwt's ``algorithms=["HS256"]``: ``none`` and RSA keys are
  refused);
- ``aud`` is required and must be (or, as a list, hold) the MSP id;
- **expiry without the clock**: ``iat`` is required, an integer, at most ``token_max_age``
  seconds before the request's ``received_at`` (the gateway's arrival stamp) and at most
  ``clock_skew`` seconds after it; an ``exp``, when present, must be later than
  ``received_at`` minus the skew.  pyjwt's own time checks are off: they read the wall clock,
  and ``verify()`` must be pure.

What the token does **not** cover: the body.  Apple's JWT holds no digest of the request, so
a valid token authenticates the sender (whoever knows the MSP secret) for its lifetime, not
the bytes it came with; TLS protects those in transit.  The plugin keeps the window short
(``token_max_age``, 10 minutes by default) and checks that the headers ``id``, ``source-id``
and ``destination-id`` agree with the body (:mod:`omnisdk_apple_business.translate`).

**Outbound** (:func:`make_token`): ``{"iss": msp_id, "iat": now}``, signed with the same key,
a fresh token for every request (:class:`FreshToken`, an httpx auth flow, so every retry of
the ProviderClient carries a new one too).
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Generator, Mapping
from datetime import datetime
from typing import Any

import httpx
import jwt

from omnisdk.errors import SignatureError

HEADER = "Authorization"
_HEADER_LC = HEADER.lower()
_PREFIX = "Bearer "
ALGORITHM = "HS256"


def _segment_ok(part: str) -> bool:
    """A canonical unpadded base64url segment (re-encodes to the same text)."""
    if not part or "=" in part:
        return False
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") == part


def bearer(headers: Mapping[str, str]) -> str:
    """The compact JWT of ``Authorization: Bearer <JWT>`` (lower-cased header names).

    Raises:
        SignatureError: the header is missing (``missing_signature``), or not ``Bearer``
            followed by a compact JWS of three canonical base64url parts
            (``malformed_signature``).  The message never holds the value.
    """
    value = headers.get(_HEADER_LC)
    if not value:
        raise SignatureError(f"{HEADER} header is missing", reason="missing_signature")
    if not value.startswith(_PREFIX) or not value.isascii():
        raise SignatureError(f"{HEADER} is not 'Bearer <JWT>'", reason="malformed_signature")
    token = value[len(_PREFIX):]
    parts = token.split(".")
    if len(parts) != 3 or not all(_segment_ok(p) for p in parts):
        raise SignatureError(f"{HEADER} does not hold a compact JWT", reason="malformed_signature")
    return token


def epoch_seconds(received_at: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (the request's ``received_at``).

    Raises:
        SignatureError: not an RFC 3339 time (``bad_signature``: nothing to check expiry against).
    """
    try:
        return datetime.fromisoformat(received_at.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise SignatureError("the request has no valid arrival time", reason="bad_signature") from None


def verify_bearer(headers: Mapping[str, str], *, key: bytes, msp_id: str, received_at: str,
                  max_age: float, skew: float) -> dict[str, Any]:
    """Check the request's JWT (see the module docstring); returns its claims.

    Raises:
        SignatureError: missing or malformed header (as :func:`bearer`), a bad signature, an
            algorithm other than HS256, a missing or wrong audience, a missing or non-integer
            ``iat`` (reason ``bad_signature``), a token older than ``max_age`` or from the
            future (``stale_signature``): the core's codes (:data:`omnisdk.errors.WEBHOOK_REASONS`),
            the only ones the gateway answers with; the message says which check failed (the
            gateway logs it).  Messages never hold the key, the token or a digest.
    """
    token = bearer(headers)
    if not key:
        raise SignatureError("the account has no msp_secret configured", reason="bad_signature")
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], audience=msp_id,
            options={"require": ["aud", "iat"], "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False},
        )
    except jwt.InvalidAudienceError:
        raise SignatureError("the JWT is not for this MSP (aud)", reason="bad_signature") from None
    except jwt.MissingRequiredClaimError as exc:
        raise SignatureError(f"the JWT has no {exc.claim!r} claim", reason="bad_signature") from None
    except jwt.InvalidSignatureError:
        raise SignatureError(f"{HEADER} JWT signature does not match", reason="bad_signature") from None
    except jwt.InvalidTokenError:
        raise SignatureError(f"{HEADER} JWT is not a valid HS256 token", reason="bad_signature") from None
    now = epoch_seconds(received_at)
    iat = claims.get("iat")
    if type(iat) is not int:
        raise SignatureError("the JWT's iat is not an integer", reason="bad_signature")
    if iat > now + skew or iat < now - max_age:
        raise SignatureError("the JWT is expired or not yet valid (iat)", reason="stale_signature")
    exp = claims.get("exp")
    if exp is not None and (type(exp) not in (int, float) or exp <= now - skew):
        raise SignatureError("the JWT is expired (exp)", reason="stale_signature")
    return claims


def signed_claims(token: str, key: bytes) -> dict[str, Any]:
    """The claims of a compact HS256 JWS whose signature ``key`` verifies; no claim checked.

    Raises:
        SignatureError: a bad signature or not an HS256 JWS (``bad_signature``).
    """
    try:
        return jwt.decode(token, key, algorithms=[ALGORITHM],
                          options={"verify_aud": False, "verify_exp": False, "verify_iat": False,
                                   "verify_nbf": False})
    except jwt.InvalidTokenError:
        raise SignatureError(f"{HEADER} JWT is not validly signed", reason="bad_signature") from None


def make_token(key: bytes, msp_id: str, *, iat: int | None = None, audience: str | None = None) -> str:
    """A JWT for ``Authorization: Bearer``: ``{"iss": msp_id, "iat": iat or now}`` (and
    ``aud`` when given: the shape Apple sends inbound, used by :meth:`sign` and tests)."""
    claims: dict[str, Any] = {"iat": int(time.time()) if iat is None else iat}
    if audience is not None:
        claims["aud"] = audience
    else:
        claims["iss"] = msp_id
    return jwt.encode(claims, key, algorithm=ALGORITHM)


class FreshToken(httpx.Auth):
    """httpx auth: a new ``Authorization: Bearer`` JWT (``iss`` the MSP id, ``iat`` now) on
    every request, retries included.  Its repr holds no key."""

    def __init__(self, key: bytes, msp_id: str) -> None:
        self._key = key
        self._msp_id = msp_id

    def __repr__(self) -> str:
        return f"FreshToken(msp_id={self._msp_id!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[HEADER] = _PREFIX + make_token(self._key, self._msp_id)
        yield request
