"""Secrets: find them in account settings, forge other ones, and look for leaks in text."""

from __future__ import annotations

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
