"""The channel suite's tests of purity and determinism of verify() and parse(): rules
``parse.pure``, ``dedupe.whole_event`` and ``events.unique_ids``.

``verify()`` and ``parse()`` are functions of the request: the gateway may call them on any
worker, again on a redelivery, and on replay of stored bodies.  What each rule checks:

- ``parse.pure``: (1) each recording is verified and parsed, by a fresh adapter, inside
  :func:`omnisdk.testkit.checks.audit.audited`: any file, socket or subprocess operation fails
  the rule, named (the import system's own file reads are ignored: see that module).  When the
  suite declares ``times_from_payload = True`` (the default), ``parse()`` also runs inside
  :func:`omnisdk.testkit.checks.clock_reads.clock_reads`, which sees every read of the wall
  clock (``time.time``, ``datetime.now`` … raise no audit event: the kit wraps the frozen
  clock time_machine installs) and names the code that made it; ``verify()`` may read the clock
  (a scheme's timestamp tolerance).  (2) When
  the suite declares ``times_from_payload = True`` (the default), each recording is parsed
  twice with the wall clock frozen at one instant and once at an instant eleven years later
  (``time_machine.travel(..., tick=False)``, which replaces ``time.time``, ``datetime.now``,
  ``time.gmtime`` … in C, so every way of reading the clock is moved).  An audit hook cannot
  see clock reads, and patching ``time.time`` from Python misses ``datetime.now``: comparing
  the events at two instants is the sound test.  Events equal at one instant but different at
  the other were made from the clock; events that differ at the same instant are nondeterminism
  (``dedupe.whole_event``'s business, not counted here).  A clock read whose value never reaches
  an event is not seen by this comparison; (1) names it.
- ``dedupe.whole_event``: the same request parsed twice by one adapter and once by a fresh one
  gives the same events, compared whole (every attribute and all ``data``, as CloudEvents JSON
  documents), with the clock frozen so that clock reads are left to ``parse.pure``.
- ``events.unique_ids``: no two events of one recording share ``(source, id)``; no two
  recordings give the same ``(source, id)`` unless the suite declares them redeliveries of
  each other (``redeliveries = {"recording": "recording it redelivers"}``, chains allowed), or
  the id is made only of values both recordings carry alike
  (:mod:`omnisdk.testkit.checks.id_sources`): then the recordings themselves hold one provider
  id twice (a documentation placeholder) and say nothing against the plugin.  Each declared
  redelivery must name two recordings that do share an event id.  Whatever the recordings
  carry, two delivery statuses with different status words never share an id (the core would
  drop the later one).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import ClassVar

import time_machine

from omnisdk.adapters import ChannelAdapter
from omnisdk.events import TYPE_MESSAGE_STATUS, Event
from omnisdk.recordings import Recording
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import ChannelChecks, listing
from omnisdk.testkit.channel.fixture import ChannelFixture
from omnisdk.testkit.checks.audit import audited
from omnisdk.testkit.checks.body_paths import Body
from omnisdk.testkit.checks.clock_reads import clock_reads
from omnisdk.testkit.checks.event_diff import first_difference
from omnisdk.testkit.checks.id_sources import id_inputs, same_inputs
from omnisdk.testkit.rules import rule

INSTANT = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
"""The frozen wall clock of the purity and whole-event checks."""
LATER = datetime(2042, 9, 10, 11, 12, 13, tzinfo=UTC)
"""The second instant of the clock check."""


def status_word(event: Event) -> str | None:
    """The provider's status word of a delivery-status event (``provider_status``, else
    ``status``); None for other events."""
    if event.type != TYPE_MESSAGE_STATUS or not isinstance(event.data, dict):
        return None
    word = event.data.get("provider_status") or event.data.get("status")
    return str(word) if word is not None else None


def _parse(fx: ChannelFixture, rec: Recording, adapter: ChannelAdapter | None = None,
           body: bytes | None = None) -> list[Event] | None:
    """The events of ``rec`` (or of ``body`` in its place), unsigned; None when refused."""
    try:
        return (adapter or fx.adapter()).parse(fx.request(rec, body=body))
    except Exception:  # other rules judge refusals and crashes
        return None


class PurityChecks(ChannelChecks):
    """Mixin: verify()/parse() do no I/O and read no clock; whole events are reproducible;
    event ids are unique across recordings."""

    _omnisdk_kit_class: ClassVar[bool] = True

    # --- parse.pure ----------------------------------------------------------------------

    @rule("parse.pure")
    def test_verify_and_parse_open_no_file_socket_or_process(self) -> None:
        fx, problems = self._fx(), []
        for rec in self._recordings("parse.pure"):
            adapter = fx.adapter()
            request = fx.request(rec, signed_by=adapter)
            for step, call in (("verify", adapter.verify), ("parse", adapter.parse)):
                with audited() as calls, clock_reads(INSTANT) as reads:
                    try:
                        call(request)
                    except Exception:  # refusals and crashes are other rules' business
                        pass
                if calls:
                    problems.append(f"{rec.name}: {step}() called " + ", ".join(dict.fromkeys(calls)))
                if reads and step == "parse" and self.times_from_payload:
                    problems.append(f"{rec.name}: parse() read the wall clock (time.time, datetime.now …) "
                                    "at " + ", ".join(list(dict.fromkeys(reads))[:3]))
        if problems:
            fail("parse.pure", "verify() and parse() must be pure functions of the request: no "
                 "file, socket or subprocess (load data files, lookup tables and keys when the "
                 "module is imported or the adapter is built, never per request), and parse() reads "
                 "no clock when the times come from the payload (take them from the payload, else "
                 "request.received_at; declare times_from_payload = False if the plugin must stamp "
                 "events itself):" + listing(problems))

    @rule("parse.pure")
    def test_parse_reads_no_clock_when_times_come_from_the_payload(self) -> None:
        if not self.times_from_payload:
            return  # declared: the plugin stamps events with the clock (see the module docstring)
        fx, problems = self._fx(), []
        for rec in self._recordings("parse.pure"):
            with time_machine.travel(INSTANT, tick=False):
                first, again = _parse(fx, rec), _parse(fx, rec)
            with time_machine.travel(LATER, tick=False):
                later = _parse(fx, rec)
            if first is None or again is None or later is None or first_difference(first, again):
                continue  # refused, or nondeterministic whatever the clock (dedupe.whole_event)
            change = first_difference(first, later)
            if change:
                problems.append(f"{rec.name}: with the clock at {INSTANT:%Y-%m-%d} then "
                                f"{LATER:%Y-%m-%d}, {change}")
        if problems:
            fail("parse.pure", "parse() read the clock: the same request gave other events when only "
                 "the wall clock moved.  Take each event's time from the payload's timestamp, else "
                 "from request.received_at (part of the request); never datetime.now()/time.time(). "
                 "(A plugin that must stamp events itself declares times_from_payload = False.)"
                 + listing(problems))

    # --- dedupe.whole_event --------------------------------------------------------------

    @rule("dedupe.whole_event")
    def test_the_same_request_gives_the_same_whole_events(self) -> None:
        fx, problems = self._fx(), []
        for rec in self._recordings("dedupe.whole_event"):
            with time_machine.travel(INSTANT, tick=False):
                adapter = fx.adapter()
                first = _parse(fx, rec, adapter)
                runs = (("the same adapter", _parse(fx, rec, adapter)), ("a fresh adapter", _parse(fx, rec)))
            if first is None:
                continue  # refused: recordings.parse says why
            for who, events in runs:
                change = "parse() refused it" if events is None else first_difference(first, events)
                if change:
                    problems.append(f"{rec.name}, parsed again by {who}: {change}")
                    break
        if problems:
            fail("dedupe.whole_event", "parsing the same request twice gave different events: the "
                 "core keeps the first copy of a redelivered event, so every attribute and all data "
                 "must be a function of the request (no random values, counters, per-adapter state "
                 "or clock; compare omnisdk.events.dumps of both parses):" + listing(problems))

    # --- events.unique_ids ---------------------------------------------------------------

    def _redelivery_groups(self, names: set[str], problems: list[str]) -> Callable[[str], str]:
        """Union-find over the declared redeliveries; declaration problems go to ``problems``."""
        parent: dict[str, str] = {}

        def root(n: str) -> str:
            while parent.get(n, n) != n:
                n = parent[n]
            return n

        declared = self.redeliveries
        if not isinstance(declared, dict):
            problems.append(f"redeliveries must be a dict {{recording: recording it redelivers}}, "
                            f"not {type(declared).__name__}")
            return root
        for a, b in declared.items():
            unknown = [n for n in (a, b) if n not in names]
            if unknown or a == b:
                problems.append(f"redeliveries[{a!r}] = {b!r}: " + (
                    f"no recording named {unknown[0]!r}" if unknown else "a recording cannot redeliver itself"))
                continue
            parent[root(a)] = root(b)
        return root

    @rule("events.unique_ids")
    def test_different_recordings_give_different_event_ids(self) -> None:
        problems: list[str] = []
        recs = {r.name: r for r in self._recordings("events.unique_ids")}
        root = self._redelivery_groups(set(recs), problems)
        owners: dict[tuple[str, str], list[str]] = defaultdict(list)
        words: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
        for rec in recs.values():
            events = self._safe_parse(rec)
            keys = [(e.source, e.id) for e in events]
            twice = sorted({k[1] for k in keys if keys.count(k) > 1})
            if twice:
                problems.append(f"{rec.name}: two of its events share the id {twice[0]!r}")
            for k in dict.fromkeys(keys):
                owners[k].append(rec.name)
            for e in events:
                word = status_word(e)
                if word is not None:
                    words[(e.source, e.id)].setdefault(word, rec.name)
        for (_source, eid), by_word in words.items():
            if len(by_word) > 1:
                (w1, r1), (w2, r2) = list(by_word.items())[:2]
                problems.append(f"{r1} ({w1!r}) and {r2} ({w2!r}) give one status id {eid!r}: the "
                                "later status would be dropped as a redelivery of the first")
        shared = {frozenset(v) for v in owners.values() if len(v) > 1}
        for a, b in (self.redeliveries if isinstance(self.redeliveries, dict) else {}).items():
            if a in recs and b in recs and not any({a, b} <= group for group in shared):
                problems.append(f"redeliveries[{a!r}] = {b!r}, but they share no event id (a "
                                "redelivery is the same provider event): remove the declaration")
        inputs: dict[tuple[str, str], list] = {}
        for (_source, eid), names in owners.items():
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    if root(a) != root(b) and not self._same_provider_id(recs[a], recs[b], eid, inputs):
                        problems.append(f"{a} and {b} both give the event id {eid!r}")
        if problems:
            fail("events.unique_ids", "different provider events must get different event ids, or the "
                 "core drops the second as a redelivery: build the id from the provider's own id of "
                 "the item (message id, plus the status word for statuses), never from a timestamp, "
                 "a counter or a constant.  Recordings that are the same provider event on purpose "
                 "are declared in redeliveries = {recording: recording it redelivers}:"
                 + listing(problems))

    def _same_provider_id(self, a: Recording, b: Recording, eid: str,
                          cache: dict[tuple[str, str], list]) -> bool:
        """True when ``eid`` is made only of values ``a`` and ``b`` carry alike (both ways)."""
        fx = self._fx()
        for x, y in ((a, b), (b, a)):
            bx, by = Body.decode(x.body, x.content_type), Body.decode(y.body, y.content_type)
            if (x.name, eid) not in cache:
                cache[(x.name, eid)] = id_inputs(bx, eid, partial(_parse, fx, x, fx.adapter()))
            if not same_inputs(bx, by, cache[(x.name, eid)]):
                return False
        return True

