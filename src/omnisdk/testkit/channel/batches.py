"""The channel suite's test of bodies holding several recorded items: rule ``parse.batches``.

Providers batch: one WhatsApp webhook may carry several messages and statuses, one LINE
webhook several events.  Recordings mostly hold one item each, so a plugin that reads only
``messages[0]`` passes every rule on them and loses the rest of a real batch.

Declaration (``batch_path`` on the suite, with the ``batches`` capability): the paths of the
lists that hold the items, in the path format of :mod:`omnisdk.testkit.checks.body_paths`
(``"*"`` for every item of a list or value of an object)::

    batch_path = [
        ("entry", "*", "changes", "*", "value", "messages"),
        ("entry", "*", "changes", "*", "value", "statuses"),
    ]

The merge rule, for each path and each pair of JSON recordings *A*, *B* that both have a
non-empty list there (the first match of the path in each):

- *merged* is *A* with that list holding *A*'s items followed by *B*'s;
- *B-in-A* is *A* with that list holding *B*'s items alone (*B*'s items in *A*'s envelope:
  the envelope's account and metadata apply to every item of a body);
- the events of *merged* must include, whole (every attribute and all data), each event of
  *A* and each event of *B-in-A*.  Pairs where *B-in-A* is refused with PayloadError (the
  item does not fit the envelope) are skipped; at least one pair per path must be usable.
- *A* with its first item twice must give events or PayloadError, never another exception,
  and no more distinct event ids than *A* has events plus the duplicate's.

Bodies are parsed with ``parse()`` alone (no signature), with the clock frozen at one instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import orjson
import time_machine

from omnisdk.adapters import ChannelAdapter, WebhookRequest
from omnisdk.events import Event
from omnisdk.recordings import Recording
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import ChannelChecks, listing, parse_outcome
from omnisdk.testkit.channel.fixture import RECEIVED_AT
from omnisdk.testkit.checks.body_paths import WILDCARD, Path, as_path, show
from omnisdk.testkit.checks.event_diff import changed_events
from omnisdk.testkit.rules import rule

CLOCK = "2030-01-02T03:04:05Z"
"""The wall clock is frozen here while the rule parses (one instant for every parse)."""

MAX_PAIRS = 6
"""Pairs of recordings merged per batch path."""

DECLARE = ("declare batch_path = [(<steps to a list of items>), ...]: where the provider puts "
           "the items of one body (see omnisdk.testkit.channel.batches)")


def first_list(doc: Any, pattern: Path) -> Path | None:
    """The concrete path of the first non-empty list ``pattern`` selects in ``doc``, else None."""
    def walk(node: Any, i: int, path: Path) -> Iterator[Path]:
        if i == len(pattern):
            if isinstance(node, list) and node:
                yield path
            return
        step = pattern[i]
        if isinstance(node, dict):
            keys = list(node) if step == WILDCARD else [step] if step in node else []
            for k in keys:
                yield from walk(node[k], i + 1, path + (k,))
        elif isinstance(node, list):
            idx = range(len(node)) if step == WILDCARD else (
                [step] if isinstance(step, int) and 0 <= step < len(node) else [])
            for k in idx:
                yield from walk(node[k], i + 1, path + (k,))

    return next(walk(doc, 0, ()), None)


def _at(doc: Any, path: Path) -> Any:
    for step in path:
        doc = doc[step]
    return doc


def with_items(doc: Any, path: Path, items: list[Any]) -> bytes:
    """``doc`` (unchanged) serialised with the list at ``path`` replaced by ``items``."""
    copy = orjson.loads(orjson.dumps(doc))
    parent = _at(copy, path[:-1])
    parent[path[-1]] = orjson.loads(orjson.dumps(items))
    return orjson.dumps(copy)


class BatchChecks(ChannelChecks):
    """Mixin: several recorded items in one body."""

    _omnisdk_kit_class: ClassVar[bool] = True
    batch_path: ClassVar[Any]

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """A ``batch_path`` that is not a list of paths is a declaration problem."""
        problems = super().declaration_problems()  # type: ignore[misc]
        if cls.batch_path is not None:
            bad = [p for p in cls.batch_path if as_path(p) is None] if isinstance(cls.batch_path, (list, tuple)) \
                else [cls.batch_path]
            if bad or not cls.batch_path:
                problems.append(f"batch_path {cls.batch_path!r} is not a non-empty list of paths "
                                "(tuples of str keys, int indices or '*')")
        return problems

    def _parse(self, adapter: ChannelAdapter, body: bytes, content_type: str) -> tuple[str, Any]:
        request = WebhookRequest(method="POST", url=self._fx().url, headers={"content-type": content_type},
                                 body=body, received_at=RECEIVED_AT)
        return parse_outcome(adapter, request)

    @rule("parse.batches")
    def test_batches_give_every_items_events(self) -> None:
        rid, fx = "parse.batches", self._fx()
        if not self.batch_path:
            fail(rid, DECLARE)
        adapter, problems = fx.adapter(), []
        docs: list[tuple[Recording, Any]] = []
        for rec in self._recordings(rid):
            if rec.content_type.split(";")[0].strip().lower().endswith("json"):
                try:
                    docs.append((rec, orjson.loads(rec.body)))
                except orjson.JSONDecodeError:
                    continue
        with time_machine.travel(CLOCK, tick=False):  # a clock-reading plugin is parse.pure's business
            for raw in self.batch_path:
                pattern = as_path(raw)
                if pattern is None:
                    fail(rid, f"batch_path entry {raw!r} is not a path")
                    return
                holders = [(rec, doc, p) for rec, doc in docs if (p := first_list(doc, pattern)) is not None]
                if len(holders) < 2:
                    problems.append(f"{show(pattern)}: {len(holders)} recording(s) have items there; the "
                                    "rule needs two (record a second one, or fix the path)")
                    continue
                problems += self._path_problems(adapter, pattern, holders)
        if problems:
            fail(rid, "a body with several items must give every item's events:" + listing(problems))

    def _path_problems(self, adapter: ChannelAdapter, pattern: Path,
                       holders: list[tuple[Recording, Any, Path]]) -> list[str]:
        problems: list[str] = []
        used = 0
        pairs = [(a, b) for i, a in enumerate(holders) for b in holders[i + 1:] + holders[:i]]
        for (rec_a, doc_a, path_a), (rec_b, doc_b, path_b) in pairs:
            if used >= MAX_PAIRS:
                break
            items_a, items_b = _at(doc_a, path_a), _at(doc_b, path_b)
            outcome, b_in_a = self._parse(adapter, with_items(doc_a, path_a, items_b), rec_a.content_type)
            if outcome != "events" or not b_in_a:
                continue
            used += 1
            what = f"{show(pattern)}: {rec_a.name} + {rec_b.name}"
            outcome, events_a = self._parse(adapter, rec_a.body, rec_a.content_type)
            if outcome != "events":
                continue
            outcome, merged = self._parse(adapter, with_items(doc_a, path_a, items_a + items_b), rec_a.content_type)
            if outcome != "events":
                problems.append(f"{what}: parse() {_outcome(outcome, merged)}; each alone gives events")
                continue
            missing, _ = changed_events(merged, events_a + b_in_a)
            if missing:
                problems.append(f"{what}: {len(missing)} of the {len(events_a) + len(b_in_a)} events the "
                                f"items give one by one are missing or changed in the batch (first: "
                                f"{_describe(missing[0])})")
        if used == 0:
            problems.append(f"{show(pattern)}: no pair of recordings could be merged (each item moved "
                            "into another recording's envelope was refused)")
        rec, doc, path = holders[0]
        items = _at(doc, path)
        outcome, value = self._parse(adapter, with_items(doc, path, items + items[:1]), rec.content_type)
        if outcome == "crash":
            problems.append(f"{show(pattern)}: {rec.name} with its first item twice: parse() raised "
                            f"{type(value).__name__} (events or PayloadError expected)")
        return problems


def _outcome(outcome: str, value: Any) -> str:
    if outcome == "payload_error":
        return f"raised PayloadError ({value})"
    if outcome == "crash":
        return f"raised {type(value).__name__}"
    return "gave no events"


def _describe(event: Event) -> str:
    return f"{event.type} {event.id!r}"
