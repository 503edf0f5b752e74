"""No secret in a log line: the last line of defence, after the code's own care.

The code never logs a credential on purpose (SecretStr fields, headers never logged); this
masks what slips through anyway, in every record the handler of
:mod:`omnisdk.observability.logs` writes, text or JSON:

- the value of any field or ``key=value`` / ``key: value`` / ``"key": "value"`` pair whose key
  names a credential (:data:`SENSITIVE_KEY`: authorization, x-api-key, api_key, token,
  access_token, secret, app_secret, client_secret, password, signing_key, private_key, cookie …);
- ``Bearer …`` and ``Basic …`` credentials;
- omnisdk API keys (``omk_<id>_<secret>``: the id, which is public, is kept);
- the values of the configured secrets (every ``SecretStr`` / ``SecretBytes`` of the settings
  and of each account's adapter settings, and a store URL's password), wherever they appear,
  once :meth:`Redactor.remember` has been given them (the runtime does, when it is built).

Each is replaced by :data:`MASK`.  Known secrets shorter than :data:`MIN_SECRET_CHARS` are
not searched for (they would mask ordinary words); the patterns above still apply to them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretBytes, SecretStr

MASK = "********"
MIN_SECRET_CHARS = 4

SENSITIVE_KEY = re.compile(
    r"authorization|api[_-]?key|token|secret|passw(?:or)?d|signing[_-]?key|private[_-]?key|cookie|credential",
    re.IGNORECASE)
"""A field or parameter name whose value is a credential (searched anywhere in the name)."""

_PAIR = re.compile(
    r"(?P<key>[\w.-]*(?:authorization|api[_-]?key|token|secret|passw(?:or)?d|signing[_-]?key|private[_-]?key"
    r"|cookie|credential)[\w.-]*)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>(?:(?:bearer|basic|token)\s+)?[^\s\"',;&)}\]]+)",
    re.IGNORECASE)
_SCHEME = re.compile(r"\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_API_KEY = re.compile(r"omk_(?:(?P<id>[0-9a-f]{12})_)?[A-Za-z0-9_-]+")


def _api_key(m: re.Match[str]) -> str:
    return f"omk_{m['id']}_{MASK}" if m["id"] else f"omk_{MASK}"


class Redactor:
    """Masks credentials in strings and in mappings of log fields (see the module)."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._known: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def remember(self, secrets: Iterable[str]) -> None:
        """Mask these values wherever they appear from now on (thread-safe)."""
        new = {s for s in secrets if len(s) >= MIN_SECRET_CHARS} - self._secrets
        if not new:
            return
        with self._lock:
            self._secrets |= new
            ordered = sorted(self._secrets, key=len, reverse=True)  # the longest first
            self._known = re.compile("|".join(map(re.escape, ordered)))

    def text(self, value: str) -> str:
        """``value`` with every credential masked."""
        known = self._known
        if known is not None:
            value = known.sub(MASK, value)
        if "omk_" in value:
            value = _API_KEY.sub(_api_key, value)
        value = _SCHEME.sub(lambda m: f"{m['scheme']} {MASK}", value)
        return _PAIR.sub(lambda m: f"{m['key']}{m['sep']}{MASK}", value)

    def value(self, key: str | None, value: Any) -> Any:
        """A log field's value: :data:`MASK` if ``key`` names a credential, strings masked
        inside, mappings and lists walked."""
        if key is not None and SENSITIVE_KEY.search(key) and value is not None:
            return MASK
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {k: self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(None, v) for v in value]
        return value


REDACTOR = Redactor()
"""The process's redactor: the log handlers use it, and every runtime gives it its secrets."""


def secrets_of(value: Any) -> set[str]:
    """The plain values of every ``SecretStr`` / ``SecretBytes`` in ``value`` (pydantic models,
    mappings and lists walked), and the password of any URL string in it."""
    found: set[str] = set()
    _walk(value, found, depth=0)
    return found


def _walk(value: Any, found: set[str], depth: int) -> None:
    if depth > 12:
        return
    if isinstance(value, SecretStr):
        found.add(value.get_secret_value())
    elif isinstance(value, SecretBytes):
        found.add(value.get_secret_value().decode("utf-8", "replace"))
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _walk(getattr(value, name, None), found, depth + 1)
    elif isinstance(value, Mapping):
        for v in value.values():
            _walk(v, found, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _walk(v, found, depth + 1)
    elif isinstance(value, str) and "://" in value and "@" in value:
        try:
            password = urlsplit(value).password
        except ValueError:
            return
        if password:
            found.add(password)


__all__ = ["MASK", "REDACTOR", "SENSITIVE_KEY", "Redactor", "secrets_of"]
