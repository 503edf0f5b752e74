"""Signature helpers: wrong and malformed header values, and a spy on compare_digest."""

from __future__ import annotations

import hmac
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

_ORIGINAL = hmac.compare_digest


def malformed_values(value: str) -> list[str]:
    """Header values that cannot be a valid signature of the same request.

    Empty, blank, half of it, one character more, the right length of ``!``, non-ASCII.
    """
    out = ["", " ", value[: len(value) // 2], value + "A", "!" * max(len(value), 1),
           "\u00e9" * max(len(value), 1), value[:-1] if len(value) > 1 else "?"]
    return [v for v in dict.fromkeys(out) if v != value]


def tampered(body: bytes) -> bytes:
    """``body`` with one alphanumeric byte near the middle changed (never a case change)."""
    if not body:
        return b"x"
    buf = bytearray(body)
    mid = len(buf) // 2
    for offset in range(len(buf)):
        for i in (mid + offset, mid - offset):
            if 0 <= i < len(buf) and chr(buf[i]).isalnum():
                buf[i] = ord("0") if buf[i] != ord("0") else ord("1")
                return bytes(buf)
    buf[mid] ^= 0x01
    return bytes(buf)


@dataclass
class DigestSpy:
    """Counts calls of ``hmac.compare_digest`` / ``secrets.compare_digest`` while active."""

    calls: int = 0
    patched: list[str] = field(default_factory=list)

    def __call__(self, a: object, b: object) -> bool:
        self.calls += 1
        return _ORIGINAL(a, b)  # type: ignore[arg-type]


@contextmanager
def compare_digest_spy(*module_prefixes: str) -> Iterator[DigestSpy]:
    """Replace ``compare_digest`` in :mod:`hmac`, :mod:`secrets` and in the globals of every
    loaded module under ``module_prefixes`` (``from hmac import compare_digest`` binds a
    module global) with a counting spy; restore everything afterwards."""
    spy = DigestSpy()
    saved: list[tuple[object, str, object]] = []

    def patch(obj: object, name: str) -> None:
        saved.append((obj, name, getattr(obj, name)))
        setattr(obj, name, spy)

    patch(hmac, "compare_digest")
    patch(secrets, "compare_digest")
    for modname, mod in list(sys.modules.items()):
        if mod is None or not any(modname == p or modname.startswith(p + ".") for p in module_prefixes):
            continue
        for attr, value in list(vars(mod).items()):
            if value is _ORIGINAL:
                patch(mod, attr)
                spy.patched.append(f"{modname}.{attr}")
    try:
        yield spy
    finally:
        for obj, name, value in reversed(saved):
            setattr(obj, name, value)
