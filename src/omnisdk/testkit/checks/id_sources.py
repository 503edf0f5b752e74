"""Which values of a body an event's id is made of, found by changing one value at a time.

Used by rule ``events.unique_ids`` to tell two kinds of id collision apart:

- the plugin's fault: two recordings that differ in everything the id is made of still get
  the same id (an id from the minute of a timestamp, a counter, a constant …);
- the recordings' own: both carry the same provider id (pywa's recorded WhatsApp updates all
  use the placeholder ``wamid.xyzxyz``), so any correct plugin gives both the same id.

:func:`id_inputs` changes each scalar of the body in turn (:func:`changed`) and keeps the paths
whose change makes the id disappear from the parsed events; a change the plugin refuses
(PayloadError, any exception, no events) tells nothing and is left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omnisdk.events import Event
from omnisdk.testkit.checks.body_paths import Body, Path

SHIFT = 1_000_003
"""Added to numbers (and to numeric strings): large enough to change any rounding of a
timestamp to the minute, hour or day."""


def changed(value: Any) -> Any:
    """A different value of the same JSON type: numbers and numeric strings shifted by
    :data:`SHIFT`, other strings suffixed with ``~``."""
    if isinstance(value, str):
        return str(int(value) + SHIFT) if value.isascii() and value.isdigit() else value + "~"
    return value + SHIFT


def id_inputs(body: Body, event_id: str, parse: Callable[[bytes], list[Event] | None]) -> list[Path]:
    """The concrete paths of ``body`` whose value, changed, makes ``event_id`` leave the events
    ``parse`` returns (``parse`` returns None when the changed body is refused)."""
    found = []
    for path, value in list(body.leaves()):
        events = parse(body.replaced({path: changed(value)}))
        if events and all(e.id != event_id for e in events):
            found.append(path)
    return found


def same_inputs(first: Body, second: Body, paths: list[Path]) -> bool:
    """True when ``paths`` is not empty and ``second`` has ``first``'s value at every one."""
    missing = object()
    return bool(paths) and all(first.get(p) == second.get(p, missing) for p in paths)
