"""The channel suite's test of undocumented values in the declared dispatch fields: rule
``parse.unknown_values``.

Providers add status words, message types and event types without notice.  A plugin that maps
a word it does not know to a known one (``STATUS.get(word, "delivered")``, "anything else is
text") tells the core something the provider never said; one that skips it loses the fact.
The rule does not wait for a lucky fuzz mutation: for each declared dispatch field it puts an
undocumented value (:data:`UNKNOWN`) in every place the field appears in a recording and
parses the result (no signature: ``parse()`` alone).  The outcome must be one of:

- ``PayloadError`` (the whole body refused, with a reason);
- events, where every event that the change made new (compared whole, as CloudEvents JSON,
  with the events of the same body before the change) is a typed unsupported or notice event
  (:data:`NOTICE_TYPES`).

It fails on: an exception other than PayloadError; an event of a known type made from the
unknown value ("mapped to a known value"); events that disappear with nothing in their
place ("dropped silently"); events identical to those before the change ("the value was
ignored": either the plugin does not look at the field, so it does not choose anything and
should not be declared, or it treats every value as the known one).

Declaration (``dispatch_fields`` on the suite), a mapping from a label (used in messages) to
one path, or to a list of paths changed together (aliases: Twilio's ``SmsStatus`` is the
older copy of ``MessageStatus``)::

    dispatch_fields = {
        "status word": ("entry", "*", "changes", "*", "value", "statuses", "*", "status"),
        "Twilio status": [("MessageStatus",), ("SmsStatus",)],
    }

Paths are those of :mod:`omnisdk.testkit.checks.body_paths` (``"*"`` matches every item; a
form parameter is a one-step path).  A plain sequence of paths is accepted too, each its own
field.  Each declared field must appear in at least one recording.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from omnisdk.events import TYPE_MESSAGE_UNSUPPORTED, TYPE_PROVIDER_NOTICE, Event
from omnisdk.recordings import Recording
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import ChannelChecks, listing, parse_outcome
from omnisdk.testkit.checks.body_paths import Body, Path, as_path, show
from omnisdk.testkit.checks.event_diff import changed_events
from omnisdk.testkit.checks.events import event_problems
from omnisdk.testkit.rules import rule

UNKNOWN = "omnisdk_kit_undocumented_value"
"""The value put in a dispatch field: no provider documents it."""

NOTICE_TYPES = frozenset({TYPE_MESSAGE_UNSUPPORTED, TYPE_PROVIDER_NOTICE})
"""The event types an undocumented value may become."""

DECLARE = (
    "declare dispatch_fields = {'<label>': <path> or [<paths changed together>]}: where the "
    "provider's enum-like values that choose the event type live (status word, message type, "
    "event type, webhook field), in the path format of omnisdk.testkit.checks.body_paths"
)


def dispatch_groups(declared: Any) -> tuple[list[tuple[str, list[Path]]], list[str]]:
    """``([(label, paths)], problems)`` from a suite's ``dispatch_fields`` (see the module
    docstring); the problems name each entry that is not a path or a list of paths."""
    if isinstance(declared, Mapping):
        items = list(declared.items())
    elif isinstance(declared, (list, tuple)):
        items = [(None, entry) for entry in declared]
    else:
        return [], [f"dispatch_fields must be a mapping or a sequence, not {type(declared).__name__}"]
    groups: list[tuple[str, list[Path]]] = []
    problems: list[str] = []
    for label, entry in items:
        single = as_path(entry)
        if single is not None and not any(isinstance(s, (list, tuple)) for s in entry):
            paths = [single]
        elif isinstance(entry, list) and entry and all(as_path(p) is not None for p in entry):
            paths = [as_path(p) for p in entry]  # type: ignore[misc]
        else:
            problems.append(f"dispatch_fields entry {entry!r} is neither a path nor a list of paths")
            continue
        groups.append((str(label) if label is not None else show(paths[0]), paths))
    return groups, problems


def _judge(before: list[Event], after: list[Event], source: str) -> str | None:
    """What is wrong with ``after`` (the events of the changed body), or None."""
    problems = event_problems(after, source)
    if problems:
        return f"invalid events: {problems[0]}"
    new, gone = changed_events(before, after)
    known = [e for e in new if e.type not in NOTICE_TYPES]
    if known:
        e = known[0]
        data = e.data if isinstance(e.data, dict) else {}
        shown = ", ".join(f"{k} {data[k]!r}" for k in ("status", "kind", "provider_status") if k in data)
        return f"mapped to a known value: it gave {e.type}" + (f" ({shown})" if shown else "")
    if gone and not new:
        return f"dropped silently: {len(gone)} event(s) gone and no unsupported or notice event instead"
    if not new and not gone:
        return ("the value was ignored: the events are the same as with the documented value "
                "(the plugin treats every value as the known one, or the field chooses nothing "
                "and should not be declared)")
    return None


class UnknownValueChecks(ChannelChecks):
    """Mixin: an undocumented value in each declared dispatch field is refused or typed."""

    _omnisdk_kit_class: ClassVar[bool] = True
    dispatch_fields: ClassVar[Any]

    @rule("parse.unknown_values")
    def test_undocumented_dispatch_values_are_typed_or_refused(self) -> None:
        rid, fx = "parse.unknown_values", self._fx()
        if not self.dispatch_fields:
            fail(rid, DECLARE)
        groups, problems = dispatch_groups(self.dispatch_fields)
        if problems:
            fail(rid, "bad dispatch_fields:" + listing(problems + [DECLARE]))
        adapter = fx.adapter()
        seen: set[str] = set()
        for rec in self._recordings(rid):
            body = Body.decode(rec.body, rec.content_type)
            for label, paths in groups:
                places = [p for pattern in paths for p in body.matches(pattern)]
                if not places:
                    continue
                seen.add(label)
                problem = self._check(adapter, rec, body, places)
                if problem:
                    where = ", ".join(show(p) for p in places[:3]) + (" …" if len(places) > 3 else "")
                    problems.append(f"{rec.name}: {label} = {UNKNOWN!r} at {where}: {problem}")
        problems += [f"dispatch field {label!r} ({', '.join(show(p) for p in paths)}) appears in no "
                     "recording: fix the path, or add a recording that has it"
                     for label, paths in groups if label not in seen]
        if problems:
            fail(rid, "an undocumented value in a dispatch field must give a typed unsupported or "
                 "notice event (io.omnisdk.message.unsupported, io.omnisdk.provider.notice) or "
                 "PayloadError; never a known type, never nothing, never a crash:" + listing(problems))

    def _check(self, adapter: Any, rec: Recording, body: Body, places: list[Path]) -> str | None:
        fx = self._fx()
        kind, before = parse_outcome(adapter, fx.request(rec, body=body.replaced({})))
        if kind != "events":
            return None  # the re-serialized body is refused as it is: recordings.parse's business
        kind, after = parse_outcome(adapter, fx.request(rec, body=body.replaced(dict.fromkeys(places, UNKNOWN))))
        if kind == "crash":
            return f"parse() raised {type(after).__name__} (PayloadError or an unsupported event expected)"
        if kind == "payload_error":
            return None
        return _judge(before, after, adapter.source)
