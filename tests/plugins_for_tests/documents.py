"""Comparing a document a release wrote with what today's code makes of it."""

from __future__ import annotations

from typing import Any


def kept(old: Any, new: Any) -> bool:
    """``new`` holds every key of ``old`` with the same value, at every depth; keys only ``new``
    has are fields added since, at their empty defaults (None, [], {}, False)."""
    if isinstance(old, dict) and isinstance(new, dict):
        return all(k in new and kept(v, new[k]) for k, v in old.items()) and all(
            new[k] in (None, [], {}, False) for k in new.keys() - old.keys())
    if isinstance(old, list) and isinstance(new, list):
        return len(old) == len(new) and all(kept(a, b) for a, b in zip(old, new, strict=True))
    return old == new
