"""Checks on the events ``parse()`` returns: envelope, JSON-only data, data schemas.

Pure functions returning problem messages (an empty list means fine), used by several rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from omnisdk import events as ev
from omnisdk.catalog import CATALOG
from omnisdk.events import Event

MESSAGE_TYPES = frozenset(
    {ev.TYPE_MESSAGE_RECEIVED, ev.TYPE_MESSAGE_UNSUPPORTED, ev.TYPE_MESSAGE_EDITED}
)


def data_models() -> dict[str, type[BaseModel]]:
    """Event type → the pydantic model of its ``data`` (from :mod:`omnisdk.catalog`)."""
    return {entry.type: entry.data for entry in CATALOG}


def is_rfc3339(value: Any) -> bool:
    """True for an RFC 3339 timestamp with a UTC offset (``…Z`` or ``…+00:00``)."""
    if not isinstance(value, str) or "T" not in value:
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


def json_problem(value: Any, path: str = "data") -> str | None:
    """The first place ``value`` holds something that is not a plain JSON type, or None."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = json_problem(item, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                return f"{path} has a non-string key {k!r}"
            found = json_problem(item, f"{path}.{k}")
            if found:
                return found
        return None
    return f"{path} is a {type(value).__name__}, not a JSON type"


def event_problems(events: Any, source: str) -> list[str]:
    """Problems with what ``parse()`` returned for a request of an adapter with ``source``.

    Checked: a list of :class:`Event`; non-empty string ids, unique within the list;
    ``source``; a known ``io.omnisdk.*`` type; ``time`` RFC 3339 when set; ``data`` of plain
    JSON types that validates with the type's model from :mod:`omnisdk.catalog`.
    """
    if not isinstance(events, list):
        return [f"parse() returned a {type(events).__name__}, not a list of events"]
    problems: list[str] = []
    models = data_models()
    seen: set[str] = set()
    for i, e in enumerate(events):
        where = f"event {i}"
        if not isinstance(e, Event):
            problems.append(f"{where} is a {type(e).__name__}, not an omnisdk.events.Event")
            continue
        if not isinstance(e.id, str) or not e.id:
            problems.append(f"{where} has no id (the provider's stable id)")
        elif e.id in seen:
            problems.append(f"{where}: id {e.id!r} repeats within one body, so the second fact "
                            "would be dropped as a duplicate")
        seen.add(e.id if isinstance(e.id, str) else "")
        if e.source != source:
            problems.append(f"{where}: source {e.source!r} is not the adapter's {source!r}")
        if e.type not in ev.EVENT_TYPES:
            problems.append(f"{where}: type {e.type!r} is not an omnisdk event type")
        if e.time is not None and not is_rfc3339(e.time):
            problems.append(f"{where}: time {e.time!r} is not RFC 3339 with an offset")
        bad = json_problem(e.data)
        if bad:
            problems.append(f"{where}: {bad}")
            continue
        model = models.get(e.type)
        if model is not None and e.type.startswith("io.omnisdk.") and e.data is not None:
            try:
                model.model_validate(e.data)
            except ValidationError as exc:
                errs = exc.errors(include_input=False, include_url=False)
                detail = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in errs[:3])
                problems.append(f"{where} ({e.type}): data does not validate: {detail}")
        elif model is not None and e.data is None:
            problems.append(f"{where} ({e.type}) has no data")
    return problems


def attribute_problems(events: list[Event]) -> list[str]:
    """Gold-tier attribute checks: message events carry ``subject``, ``partitionkey`` and
    ``time``; status events carry ``subject`` (the message id); routing and call events carry
    ``subject`` (the interaction or call id) and ``time``."""
    problems: list[str] = []
    for i, e in enumerate(events):
        if e.type in MESSAGE_TYPES:
            for name in ("subject", "partitionkey", "time"):
                if not getattr(e, name):
                    problems.append(f"event {i} ({e.type}, id {e.id!r}) has no {name}")
        elif e.type == ev.TYPE_MESSAGE_STATUS and not e.subject:
            problems.append(f"event {i} ({e.type}, id {e.id!r}) has no subject (the message id)")
        elif e.type.startswith(("io.omnisdk.routing.", "io.omnisdk.call.")):
            for name in ("subject", "time"):
                if not getattr(e, name):
                    problems.append(f"event {i} ({e.type}, id {e.id!r}) has no {name}")
    return problems
