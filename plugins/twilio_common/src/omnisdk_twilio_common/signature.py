"""``X-Twilio-Signature``: compute and verify (twilio.com/docs/usage/security,
twilio.com/docs/usage/webhooks/webhooks-security).

Twilio signs every webhook with HMAC-SHA1 keyed by the account's Auth Token, over:

- form bodies: the full URL Twilio called (scheme, host, port if any, path, query) followed by
  every POST parameter's name and value, sorted by name; for a name that repeats, its values
  are sorted and de-duplicated (the behaviour of Twilio's own validator, pinned by the shared
  vector ``twilio_x_twilio_signature[4]``);
- JSON bodies: the URL alone, which then carries ``bodySHA256=<hex sha256 of the body>`` in
  its query; the body is checked against that hash;
- GET webhooks: the URL alone (the parameters are in its query).

The header is the base64 of the 20-byte digest.  Proxies and Twilio disagree on whether the
default port (``:443``/``:80``) is part of the URL, so both forms are tried; a non-default port
is always kept.

Only the canonical spelling is accepted: a 20-byte digest is 28 base64 characters whose last
data character carries 2 unused low bits, so 4 spellings decode to the same digest.  The header
(surrounding spaces and tabs trimmed, as HTTP does) must equal the standard base64 encoding of
the expected digest, compared as text in constant time — as Twilio's own validators compare it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl, urlsplit

from omnisdk.errors import PayloadError, SignatureError
from omnisdk_twilio_common.forms import decode_form

HEADER = "X-Twilio-Signature"
HEADER_LOWER = HEADER.lower()
"""The name as it appears in :attr:`omnisdk.adapters.WebhookRequest.headers`."""
_DEFAULT_PORTS = {"https": "443", "http": "80"}
_BODY_HASH_PARAM = "bodySHA256"


def signed_payload(url: str, params: Iterable[tuple[str, str]] = ()) -> bytes:
    """The bytes Twilio signs: ``url`` + name/value of each param, names sorted, values sorted
    and de-duplicated per name (sorting the distinct ``(name, value)`` pairs does both)."""
    parts = [url]
    for name, value in sorted(set(params)):
        parts.append(name)
        parts.append(value)
    return "".join(parts).encode("utf-8")


def digest(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> bytes:
    """The raw 20-byte HMAC-SHA1 digest of :func:`signed_payload`."""
    return hmac.new(auth_token.encode("utf-8"), signed_payload(url, params), hashlib.sha1).digest()


def compute(auth_token: str, url: str, params: Iterable[tuple[str, str]] = ()) -> str:
    """The ``X-Twilio-Signature`` header value for ``url`` and form ``params``."""
    return base64.b64encode(digest(auth_token, url, params)).decode("ascii")


def other_port_form(url: str) -> str | None:
    """``url`` with its default port removed if explicit, or added if absent; None when the
    URL has a non-default port, an unknown scheme, or no host."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: only the URL as given is tried
        return None
    default = _DEFAULT_PORTS.get(parts.scheme.lower())
    start = url.find("//") + 2
    if (
        default is None
        or not parts.netloc
        or url[start : start + len(parts.netloc)] != parts.netloc
    ):
        return None
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal: [::1]:443
        close = hostport.find("]")
        if close < 0:
            return None
        host, port = hostport[: close + 1], hostport[close + 1 :].removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    if port == default:
        netloc = f"{userinfo}{at}{host}"
    elif not port:
        netloc = f"{userinfo}{at}{host}:{default}"
    else:
        return None
    # splice into the original string so the rest of the URL stays byte-for-byte as signed
    return url[:start] + netloc + url[start + len(parts.netloc) :]


def _body_hash_param(url: str) -> str | None:
    if _BODY_HASH_PARAM not in url:
        return None
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == _BODY_HASH_PARAM:
            return value
    return None


Decoder = Callable[[bytes], list[tuple[str, str]]]


def _signed_params(method: str, url: str, body: bytes, decode: Decoder) -> list[tuple[str, str]]:
    """The parameters that enter the signature (empty for GET and JSON-body webhooks).

    Raises:
        SignatureError: the body's hash does not match ``bodySHA256``, or a form body cannot be
            decoded (it cannot have been signed by Twilio).
    """
    body_hash = _body_hash_param(url)
    if body_hash is not None:
        actual = hashlib.sha256(body).hexdigest().encode("ascii")
        if not hmac.compare_digest(actual, body_hash.lower().encode("utf-8")):
            raise SignatureError("body does not match the bodySHA256 query parameter")
        return []
    if method.upper() == "GET":
        return []
    try:
        return decode(body)
    except PayloadError:
        raise SignatureError("body is not a form Twilio could have signed") from None


_OWS = " \t"
"""HTTP optional whitespace (RFC 9110 §5.6.3), the only characters trimmed from the header."""


def _canonical_header(header: str | None) -> bytes:
    """The header's base64 text as ASCII bytes, once checked to be the canonical standard
    base64 of a 20-byte digest (padding included, no unused bit set).

    Raises:
        SignatureError: missing or empty, not base64, not 20 bytes, or a non-canonical spelling
            (reason ``bad_signature``; the message never holds the value).
    """
    if not header:
        raise SignatureError(f"missing {HEADER} header")
    try:
        text = header.strip(_OWS).encode("ascii")
        raw = base64.b64decode(text, validate=True)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise SignatureError(f"{HEADER} is not base64") from None
    if len(raw) != hashlib.sha1().digest_size:
        raise SignatureError(f"{HEADER} is not an HMAC-SHA1 digest")
    if base64.b64encode(raw) != text:  # unused low bits set: one of the 3 other spellings
        raise SignatureError(f"{HEADER} is not canonical base64")
    return text


def verify(
    auth_token: str,
    url: str,
    body: bytes,
    header: str | None,
    *,
    method: str = "POST",
    decode: Decoder = decode_form,
) -> None:
    """Check the ``X-Twilio-Signature`` of one webhook request: the canonical base64 of the
    expected digest, compared as text in constant time.

    Args:
        auth_token: the account's Auth Token.
        url: the full public URL Twilio called, query included.
        body: the raw body.
        header: the value of the ``X-Twilio-Signature`` header, or None if absent.
        method: ``POST`` (form or JSON body) or ``GET`` (parameters in the URL).
        decode: the form decoder (the adapter passes one that shares its work with ``parse``).

    Raises:
        SignatureError: the header is missing, empty, not a base64 SHA-1 digest or not its
            canonical spelling (unused low bits set in the last character); the body
            does not match ``bodySHA256``; or no URL form verifies.  Messages never hold the
            token or an expected digest.
    """
    given = _canonical_header(header)
    params = _signed_params(method, url, body, decode)
    if hmac.compare_digest(base64.b64encode(digest(auth_token, url, params)), given):
        return
    alt = other_port_form(url)
    if alt is not None and hmac.compare_digest(base64.b64encode(digest(auth_token, alt, params)), given):
        return
    raise SignatureError(f"{HEADER} does not match the request")


def sign(auth_token: str, url: str, body: bytes, content_type: str, *, method: str = "POST") -> str:
    """The header value Twilio would send for this request (replay, demo, tests).

    Raises:
        ValueError: a non-form body without ``bodySHA256`` in the URL (Twilio signs JSON
            bodies only through that parameter), or a form body that does not decode.
    """
    if _body_hash_param(url) is not None or method.upper() == "GET":
        return compute(auth_token, url)
    if not content_type.lower().startswith("application/x-www-form-urlencoded"):
        raise ValueError("Twilio signs non-form bodies only with bodySHA256 in the URL")
    try:
        params = decode_form(body)
    except PayloadError as exc:
        raise ValueError(str(exc)) from None
    return compute(auth_token, url, params)
