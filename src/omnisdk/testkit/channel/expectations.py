"""Expected-events files: what a recording must parse to, pinned only where it matters.

Layout: beside the recordings, ``expected/<recording name>.json``.  A collection entry
``message.json`` → ``text`` is the recording ``message/text``, so its file is
``expected/message/text.json``.  Content: a JSON list with one *pattern* per event, in
order (or an object ``{"events": [...], ...}``, whose other keys, e.g. ``"note"``, are
ignored)::

    [{"type": "io.omnisdk.message.received", "id": "SM123",
      "data": {"kind": "text", "text": "Hello"}}]

Matching (:func:`match`) is a *subset* match on the CloudEvent in its JSON form (the
attributes and ``data``):

- an object matches when every key it names matches (other keys are ignored);
- a list matches a list of the **same length**, element by element (so the number of events
  is always pinned);
- ``null`` matches a missing key or ``null``;
- scalars match by equality; booleans only match booleans.

``python -m omnisdk.testkit.certify.drafts PLUGIN`` prints draft files (:func:`draft`) for the
recordings that have none (``--write`` writes them); review and trim them before committing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omnisdk.events import Event

_MISSING = object()

DRAFT_DATA_FIELDS = (
    "message_id", "kind", "text", "status", "provider_status", "customer", "business",
    "new_customer",
)
"""``data`` fields a draft pins (when present, scalar and not null)."""


def expected_path(folder: Path, recording_name: str) -> Path:
    """Where the expected-events file of a recording lives."""
    return folder / f"{recording_name}.json"


def load_expected(path: Path) -> list[Any]:
    """The event patterns of one expected file.

    Raises:
        ValueError: not JSON, or neither a list nor an object with an ``events`` list.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path.name} is not JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("events"), list):
        doc = doc["events"]
    if not isinstance(doc, list):
        raise ValueError(f"{path.name} must hold a list of event patterns (or {{\"events\": [...]}})")
    for i, pattern in enumerate(doc):
        if not isinstance(pattern, dict):
            raise ValueError(f"{path.name}: pattern {i} is a {type(pattern).__name__}, not an object")
    return doc


def expected_names(folder: Path) -> list[str]:
    """Recording names that have an expected file under ``folder`` (sorted)."""
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(folder).with_suffix("").as_posix() for p in folder.rglob("*.json"))


def match(pattern: Any, actual: Any, path: str = "events") -> list[str]:
    """Mismatches of ``actual`` against ``pattern`` (rules in the module docstring), each
    naming its JSON path, e.g. ``events[0].data.status: expected 'read', got 'delivered'``."""
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {_show(actual)}"]
        out: list[str] = []
        for key, sub in pattern.items():
            value = actual.get(key, _MISSING)
            if value is _MISSING:
                if sub is not None:
                    out.append(f"{path}.{key}: missing (expected {_show(sub)})")
                continue
            out.extend(match(sub, value, f"{path}.{key}"))
        return out
    if isinstance(pattern, list):
        if not isinstance(actual, list):
            return [f"{path}: expected a list, got {_show(actual)}"]
        if len(pattern) != len(actual):
            return [f"{path}: expected {len(pattern)} item(s), got {len(actual)}"]
        out = []
        for i, (p, a) in enumerate(zip(pattern, actual, strict=True)):
            out.extend(match(p, a, f"{path}[{i}]"))
        return out
    if isinstance(pattern, bool) or isinstance(actual, bool):
        ok = type(pattern) is type(actual) and pattern == actual
    else:
        ok = pattern == actual
    return [] if ok else [f"{path}: expected {_show(pattern)}, got {_show(actual)}"]


def match_events(patterns: Sequence[Any], events: Sequence[Event]) -> list[str]:
    """:func:`match` of a pattern list against events in their CloudEvents JSON form."""
    return match(list(patterns), [e.to_dict() for e in events])


def draft(events: Sequence[Event]) -> list[dict[str, Any]]:
    """A draft pattern list for ``events``: type, id, subject, partitionkey and the
    :data:`DRAFT_DATA_FIELDS` of ``data``.  Review it: a draft pins today's output."""
    out: list[dict[str, Any]] = []
    for e in events:
        pattern: dict[str, Any] = {"type": e.type, "id": e.id}
        if e.subject:
            pattern["subject"] = e.subject
        if e.partitionkey:
            pattern["partitionkey"] = e.partitionkey
        data = e.data or {}
        picked = {
            k: data[k] for k in DRAFT_DATA_FIELDS
            if data.get(k) is not None and isinstance(data[k], (str, int, float, bool))
        }
        if picked:
            pattern["data"] = picked
        out.append(pattern)
    return out


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
