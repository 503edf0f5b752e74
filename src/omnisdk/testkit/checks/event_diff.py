"""Whole-event comparison: where two parses of one request differ, in words.

Events are compared as their CloudEvents JSON documents (:meth:`omnisdk.events.Event.to_dict`:
every attribute that is set, and all ``data``), as dicts, so key order does not count.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import orjson

from omnisdk.events import Event


def _short(value: Any, n: int = 60) -> str:
    text = repr(value)
    return text[:n] + ("…" if len(text) > n else "")


def _first_change(a: Any, b: Any, path: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}.{key} only in {'the second' if key not in a else 'the first'}"
            found = _first_change(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_change(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path} {_short(a)} then {_short(b)}"


def first_difference(first: list[Event], second: list[Event]) -> str | None:
    """None when both lists hold the same events in the same order; else the first
    difference, e.g. ``event 0 (io.omnisdk.message.received): data.extra.nonce 'a1' then 'b2'``."""
    if len(first) != len(second):
        return f"{len(first)} event(s) then {len(second)}"
    for i, (a, b) in enumerate(zip(first, second, strict=True)):
        change = _first_change(a.to_dict(), b.to_dict(), "")
        if change:
            return f"event {i} ({a.type}): {change.lstrip('.')}"
    return None


def _key(event: Event) -> bytes:
    return orjson.dumps(event.to_dict(), option=orjson.OPT_SORT_KEYS, default=repr)


def changed_events(before: list[Event], after: list[Event]) -> tuple[list[Event], list[Event]]:
    """``(new, gone)``: the events of ``after`` that are not (whole-event equal to) one of
    ``before``, and those of ``before`` that ``after`` no longer has (multisets)."""
    left = Counter(_key(e) for e in before)
    new: list[Event] = []
    for e in after:
        k = _key(e)
        if left[k]:
            left[k] -= 1
        else:
            new.append(e)
    gone_keys = +left
    gone = []
    for e in before:
        k = _key(e)
        if gone_keys[k]:
            gone_keys[k] -= 1
            gone.append(e)
    return new, gone
