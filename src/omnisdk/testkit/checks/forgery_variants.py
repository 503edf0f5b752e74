"""Forgeries that change one thing of a signed webhook request, and the encodings of a digest.

Used by :mod:`omnisdk.testkit.channel.forgeries` (rules ``signature.one_change`` and
``signature.no_oracle``).  Every function is pure: it takes a body, a URL or a header value and
returns ``(what changed, changed value)`` pairs, each different from the input.

- :func:`body_variants`: one byte changed, and, for JSON, the same document in other bytes
  (whitespace, a trailing newline, ``\\u`` escapes, ``\\/``, key order): a verifier that
  hashes a parsed or re-serialised body accepts these, and so does not check what the
  provider signed.
- :func:`form_variants`: for ``application/x-www-form-urlencoded`` bodies, one decoded value
  changed, one parameter added, one removed.
- :func:`form_respellings`: the same parameters in another order or percent-encoding: a
  forgery for schemes that sign the raw body, not for those that sign the decoded, sorted
  parameters (Twilio).
- :func:`url_variants`: a query added or dropped, the path or the scheme changed.
- :func:`query_variants`: for a URL with a query, its parameters reordered, one removed,
  changed or added.
- :func:`header_variants`: the signature header's algorithm prefix removed or changed, its
  digest in another encoding (upper-/lower-case hex, base64 ↔ hex, padding, URL-safe base64),
  a space after the prefix.
- :func:`digest_spellings`: every common spelling of a digest, to look for it in error text.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from omnisdk.testkit.checks.signatures import tampered

Variant = tuple[str, bytes]
"""``(what changed, the changed body)``."""

_PREFIX = re.compile(r"^(?P<prefix>[A-Za-z][A-Za-z0-9_-]*[=,])(?P<rest>.{16,})$", re.S)
_HEX = re.compile(r"^[0-9a-fA-F]+$")
MIN_DIGEST_BYTES = 16
"""Values that decode to fewer bytes are not treated as digests."""


# --- bodies ------------------------------------------------------------------------------

def body_variants(body: bytes, content_type: str) -> list[Variant]:
    """One-change forgeries of a raw body (see the module docstring).  Form bodies get
    :func:`form_variants` instead of the JSON ones."""
    out: list[Variant] = [("one body byte changed", tampered(body))]
    if body:
        first = bytearray(body)
        first[-1] ^= 0x01
        out.append(("its last byte changed", bytes(first)))
    if "x-www-form-urlencoded" in content_type.lower():
        out += form_variants(body)
    else:
        out += json_variants(body)
    return _distinct(body, out)


def json_variants(body: bytes) -> list[Variant]:
    """The same JSON document in other bytes; [] when ``body`` is not JSON."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    out: list[Variant] = [
        ("a trailing newline added (same JSON)", body + b"\n"),
        ("a leading space added (same JSON)", b" " + body),
        ("re-serialised compactly (same JSON)",
         json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()),
        ("re-serialised with spaces (same JSON)", json.dumps(doc, indent=1, ensure_ascii=False).encode()),
        ("non-ASCII characters \\u-escaped (same JSON)",
         json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode()),
    ]
    if b"/" in body:
        out.append(("'/' escaped as '\\/' (same JSON)", body.replace(b"/", b"\\/", 1)))
    if isinstance(doc, dict) and len(doc) > 1:
        flipped = dict(reversed(list(doc.items())))
        out.append(("its keys in another order (same JSON)",
                    json.dumps(flipped, separators=(",", ":"), ensure_ascii=False).encode()))
    return out


def form_respellings(body: bytes) -> list[Variant]:
    """The same form parameters in other bytes: in reverse order, spaces as ``%20`` instead
    of ``+`` (or the reverse).  Whether these are forgeries depends on the scheme: those that
    sign the raw body must refuse them, those that sign the decoded parameters (Twilio, sorted)
    must accept them; the suite asks ``sign()`` which it is."""
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (ValueError, UnicodeDecodeError):
        return []
    out: list[Variant] = []
    if len(pairs) > 1:
        out.append(("its parameters in reverse order", urlencode(list(reversed(pairs))).encode()))
    if b"+" in body:
        out.append(("spaces spelled %20 instead of +", body.replace(b"+", b"%20")))
    elif b"%20" in body:
        out.append(("spaces spelled + instead of %20", body.replace(b"%20", b"+")))
    return _distinct(body, out)


def form_variants(body: bytes) -> list[Variant]:
    """One decoded value changed, a parameter added, the last one removed."""
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (ValueError, UnicodeDecodeError):
        return []
    if not pairs:
        return []
    out: list[Variant] = [("a parameter added", (body.decode() + "&KitAdded=1").encode())]
    name, value = pairs[0]
    changed = list(pairs)
    changed[0] = (name, _other_text(value))
    out.append((f"parameter {name} changed", urlencode(changed).encode()))
    if len(pairs) > 1:
        out.append((f"parameter {pairs[-1][0]} removed", urlencode(pairs[:-1]).encode()))
    return out


def _other_text(value: str) -> str:
    if not value:
        return "x"
    chars = list(value)
    i = len(chars) // 2
    chars[i] = "1" if chars[i] != "1" else "2"
    return "".join(chars)


def _distinct(original: bytes, variants: list[Variant]) -> list[Variant]:
    seen, out = {original}, []
    for what, body in variants:
        if body not in seen:
            seen.add(body)
            out.append((what, body))
    return out


# --- URLs --------------------------------------------------------------------------------

def url_variants(url: str) -> list[tuple[str, str]]:
    """``(what changed, URL)``: a query parameter added, the query dropped (when there is
    one), the last path segment changed, the scheme changed."""
    parts = urlsplit(url)
    out = [("a query parameter added to the URL",
            urlunsplit(parts._replace(query=(parts.query + "&" if parts.query else "") + "kit=1")))]
    if parts.query:
        out.append(("the URL's query dropped", urlunsplit(parts._replace(query=""))))
    path = parts.path.rstrip("/") or "/"
    out.append(("the URL's path changed", urlunsplit(parts._replace(path=path + "x"))))
    other = "http" if parts.scheme == "https" else "https"
    out.append((f"the URL's scheme changed to {other}", urlunsplit(parts._replace(scheme=other))))
    return [(what, u) for what, u in out if u != url]


def query_variants(url: str) -> list[tuple[str, str]]:
    """``(what changed, URL)`` for a URL with a query of two or more parameters: the
    parameters in reverse order, the last one removed, the first one's value changed, one
    added; each is another URL the provider did not call."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if len(pairs) < 2:
        return []
    first, value = pairs[0]
    out = [
        ("its query parameters in reverse order", urlencode(list(reversed(pairs)))),
        (f"its query parameter {pairs[-1][0]} removed", urlencode(pairs[:-1])),
        (f"its query parameter {first} changed", urlencode([(first, _other_text(value)), *pairs[1:]])),
        ("a query parameter added", parts.query + "&kitc=3"),
    ]
    return [(what, u) for what, q in out if (u := urlunsplit(parts._replace(query=q))) != url]


def with_query(url: str) -> str:
    """``url`` with a two-parameter query added (the provider signs URLs as configured, query
    included)."""
    parts = urlsplit(url)
    query = (parts.query + "&" if parts.query else "") + "kitb=2&kita=1"
    return urlunsplit(parts._replace(query=query))


# --- header values -----------------------------------------------------------------------

def split_prefix(value: str) -> tuple[str, str]:
    """``("sha256=", "<digest>")`` or ``("", value)`` when the value has no algorithm prefix
    (``name=`` or ``v1,`` before at least 16 characters)."""
    m = _PREFIX.match(value)
    return (m["prefix"], m["rest"]) if m else ("", value)


def digest_bytes(text: str) -> bytes | None:
    """The bytes a hex or base64 (standard or URL-safe, padded or not) digest spells, if it is
    one of at least :data:`MIN_DIGEST_BYTES` bytes; else None."""
    text = text.strip()
    if _HEX.match(text) and len(text) % 2 == 0:
        raw = bytes.fromhex(text)
        return raw if len(raw) >= MIN_DIGEST_BYTES else None
    try:
        padded = text + "=" * (-len(text) % 4)
        alt = "-_" if ("-" in text or "_" in text) else None
        raw = base64.b64decode(padded, altchars=alt.encode() if alt else None, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) >= MIN_DIGEST_BYTES else None


def header_variants(value: str) -> list[tuple[str, str]]:
    """``(what changed, header value)``: the same digest under another prefix or encoding
    (see the module docstring).  Only the first of space-separated signatures is changed."""
    first, sep, others = value.partition(" ")
    prefix, rest = split_prefix(first)
    raw = digest_bytes(rest)
    out: list[tuple[str, str]] = []
    if prefix:
        out.append(("its algorithm prefix removed", rest))
        out.append(("its prefix in upper case", prefix.upper() + rest))
        out.append(("a space after its prefix", prefix + " " + rest))
        for old, new in (("256", "1"), ("256", "512"), ("1,", "2,"), ("1=", "2=")):
            if old in prefix:
                out.append((f"its prefix {prefix!r} changed to {prefix.replace(old, new)!r}",
                            prefix.replace(old, new) + rest))
    if raw is not None:
        if _HEX.match(rest):
            out.append(("its hex digest in upper case", prefix + rest.upper()))
            out.append(("its hex digest in lower case", prefix + rest.lower()))
            out.append(("its digest in base64 instead of hex", prefix + base64.b64encode(raw).decode()))
        else:
            out.append(("its digest in hex instead of base64", prefix + raw.hex()))
            out.append(("its base64 padding removed", prefix + rest.rstrip("=")))
            out.append(("its digest in URL-safe base64", prefix + base64.urlsafe_b64encode(raw).decode()))
    seen, distinct = {value}, []
    for what, v in out:
        full = v + sep + others if sep else v
        if full not in seen:
            seen.add(full)
            distinct.append((what, full))
    return distinct


def digest_spellings(value: str) -> set[str]:
    """The header value, its digest without prefix, and the digest in lower/upper hex and
    standard/URL-safe base64, padded or not (each at least 16 characters)."""
    out = {value}
    for part in value.split(" "):
        prefix, rest = split_prefix(part)
        out |= {part, rest}
        raw = digest_bytes(rest)
        if raw is not None:
            b64, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
            out |= {raw.hex(), raw.hex().upper(), b64, b64.rstrip("="), url, url.rstrip("=")}
    return {s for s in out if len(s) >= MIN_DIGEST_BYTES}
