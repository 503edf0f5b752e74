"""Secrets: find them in account settings, forge other ones, and look for leaks in text."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

MIN_SECRET_LEN = 4
"""Secret values shorter than this are not searched for (they would match by chance)."""


def secret_values(value: Any) -> list[str]:
    """Every SecretStr/SecretBytes value inside ``value`` (settings models, dicts, lists)."""
    return sorted({s for s in _walk(value) if len(s) >= MIN_SECRET_LEN})


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, SecretBytes):
        yield value.get_secret_value().decode("utf-8", "replace")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            yield from _walk(item)


def secret_fields(settings: BaseModel) -> dict[str, str]:
    """``{setting name: secret value}`` of the settings' top-level SecretStr/SecretBytes
    fields with a non-empty value."""
    out: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretBytes):
            out[name] = value.get_secret_value().decode("utf-8", "replace")
        elif isinstance(value, SecretStr):
            out[name] = value.get_secret_value()
    return {k: v for k, v in out.items() if v}


def with_other_secrets(settings: BaseModel) -> BaseModel:
    """A copy of ``settings`` whose top-level SecretStr fields hold different values of the
    same shape (each character rotated), for forging well-formed but wrong signatures.

    Raises:
        ValueError: the settings have no SecretStr field (nothing to forge with).
    """
    changes: dict[str, Any] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            changes[name] = SecretStr(rotated(value.get_secret_value()))
    if not changes:
        raise ValueError("the account settings hold no SecretStr to sign with")
    raw = {name: getattr(settings, name) for name in type(settings).model_fields}
    raw.update(changes)
    return type(settings).model_validate(raw)


_TYPE_PREFIX = re.compile(r"^[a-z]{2,8}_")
"""A secret's type prefix (``whsec_``, ``sk_``, ``rk_``), kept by :func:`rotated`."""


def rotated(text: str) -> str:
    """``text`` with the same length and character classes, every character different (a
    well-formed but wrong secret); a type prefix such as ``whsec_`` is kept, so the rotated
    secret still has the shape the settings require."""
    prefix = m.group(0) if (m := _TYPE_PREFIX.match(text)) and len(text) > len(m.group(0)) else ""
    text = text[len(prefix):]
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(str((int(ch) + 1) % 10))
        elif "a" <= ch <= "z":
            out.append(chr((ord(ch) - 97 + 1) % 26 + 97))
        elif "A" <= ch <= "Z":
            out.append(chr((ord(ch) - 65 + 1) % 26 + 65))
        else:
            out.append(ch)
    changed = "".join(out)
    return prefix + (changed if changed != text else text + "x")


def leaks(secrets: Iterable[str], texts: Iterable[tuple[str, str]]) -> list[str]:
    """``"<where> contains the value of a secret"`` for every (where, text) holding a secret."""
    found: list[str] = []
    secrets = list(secrets)
    for where, text in texts:
        if any(s in text for s in secrets):
            found.append(where)
    return found


# --- anything derived from a secret or from the expected signature ----------------------

WINDOW = 8
"""A leak is any run of this many characters of a secret, of one of its encodings, or of a
spelling of the expected signature."""


def secret_derivations(secret: str) -> dict[str, str]:
    """``{what: text}``: the secret and the spellings a verifier could let slip: its UTF-8
    bytes in hex and base64 (standard, URL-safe, unpadded), the bytes of a ``whsec_``-style
    base64 key, the HMAC-SHA256 and HMAC-SHA1 of an empty message keyed with it (hex and
    base64: what a verifier computes before it reads the body) and its SHA-256."""
    raw = secret.encode("utf-8", "replace")
    keys = {"the secret": raw}
    _prefix, _, rest = secret.rpartition("_")
    if _prefix and rest:
        try:
            keys["the secret's base64 key"] = base64.b64decode(rest + "=" * (-len(rest) % 4), validate=True)
        except (binascii.Error, ValueError):
            pass
    out = {"the secret": secret}
    for label, key in keys.items():
        if not key:
            continue
        for name, digest in (("", key), (" HMAC-SHA256 of an empty message keyed with",
                                         hmac.new(key, b"", hashlib.sha256).digest()),
                             (" HMAC-SHA1 of an empty message keyed with", hmac.new(key, b"", hashlib.sha1).digest()),
                             (" SHA-256 of", hashlib.sha256(key).digest())):
            where = f"the{name} {label}" if name else label
            for enc, text in _encodings(digest).items():
                out[f"{where} in {enc}"] = text
    return out


def _encodings(raw: bytes) -> dict[str, str]:
    b64, url = base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()
    return {"hex": raw.hex(), "upper-case hex": raw.hex().upper(), "base64": b64,
            "unpadded base64": b64.rstrip("="), "URL-safe base64": url}


class Needles:
    """Finds any :data:`WINDOW`-character run of the given values in a text (a whole value
    when it is shorter), ignoring runs that also occur in ``allowed`` (what the request itself
    carried: echoing it is no oracle)."""

    def __init__(self, values: dict[str, str], allowed: Iterable[str] = ()) -> None:
        ok = {w for text in allowed for w in _windows(text)}
        self._runs: dict[str, str] = {}
        self._short: dict[str, str] = {}
        for what, text in values.items():
            if len(text) < MIN_SECRET_LEN:
                continue
            if len(text) < WINDOW:
                self._short.setdefault(text, what)
                continue
            for w in _windows(text):
                if w not in ok:
                    self._runs.setdefault(w, what)

    def find(self, text: str) -> str | None:
        """What the first run found in ``text`` comes from, or None."""
        for w in _windows(text):
            if w in self._runs:
                return self._runs[w]
        for short, what in self._short.items():
            if short in text:
                return what
        return None


def _windows(text: str) -> Iterator[str]:
    for i in range(len(text) - WINDOW + 1):
        yield text[i:i + WINDOW]
