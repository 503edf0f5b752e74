"""The delivery tests of the channel suite: redelivery, malformed and fuzzed bodies, status
order (rules ``dedupe.redelivery``, ``parse.*``, ``status.forward_only``).

Three mixins, so that the connector suites can take the first two without the third:
:class:`RedeliveryChecks`, :class:`ParseChecks`, :class:`StatusChecks`
(:class:`DeliveryChecks` is all three)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from hypothesis import given
from hypothesis import strategies as st

from omnisdk.adapters import ChannelAdapter
from omnisdk.config import GatewaySettings
from omnisdk.events import TYPE_MESSAGE_STATUS, Event
from omnisdk.model import DeliveryStatus
from omnisdk.recordings import Recording
from omnisdk.testkit import fuzz
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import (
    ChannelChecks,
    Violation,
    fuzz_settings,
    listing,
    parse_outcome,
    short,
)
from omnisdk.testkit.channel.fixture import OTHER_RECEIVED_AT
from omnisdk.testkit.checks.events import event_problems
from omnisdk.testkit.rules import rule
from omnisdk.testkit.runtime import KitRuntime, diff

GATEWAY_MAX_BODY_BYTES: int = GatewaySettings.model_fields["max_body_bytes"].default
"""The gateway's default ``max_body_bytes``: bodies above it never reach ``parse()``."""
TOO_DEEP = "JSON nested deeper than any provider sends (refuse the documented depth limit)"


class RedeliveryChecks(ChannelChecks):
    """Mixin: the same body twice gives the same ids, and nothing new through a real runtime."""

    _omnisdk_kit_class: ClassVar[bool] = True

    # --- dedupe.redelivery ---------------------------------------------------------------

    @rule("dedupe.redelivery")
    def test_redelivery_gives_the_same_ids(self) -> None:
        fx, problems = self._fx(), []
        for rec in self._recordings("dedupe.redelivery"):
            try:
                first = fx.adapter().parse(fx.request(rec))
                again = fx.adapter().parse(fx.request(rec, received_at=OTHER_RECEIVED_AT))
            except Exception as exc:
                problems.append(f"{rec.name}: parse() raised {type(exc).__name__}")
                continue
            a = [(e.source, e.id) for e in first]
            b = [(e.source, e.id) for e in again]
            if a != b:
                problems.append(f"{rec.name}: {[i for _, i in a][:3]} then {[i for _, i in b][:3]}")
        if problems:
            fail("dedupe.redelivery", "the same body delivered twice gave different event ids, so the "
                 "core cannot deduplicate it (use the provider's own stable ids, never random or "
                 "time-based ones):" + listing(problems))

    @rule("dedupe.redelivery")
    def test_redelivery_adds_nothing_downstream(self, tmp_path: Any) -> None:
        fx = self._fx()
        recs = self._recordings("dedupe.redelivery")

        async def run() -> list[str]:
            problems: list[str] = []
            async with KitRuntime(fx.adapter, tmp_path, fx.url) as rt:
                for rec in recs:
                    first = await rt.deliver(rec)
                    if not 200 <= first.status_code < 300:
                        problems.append(f"{rec.name}: the gateway answered {first.status_code} {first.text[:120]}")
                        continue
                    before = await rt.snapshot()
                    again = await rt.deliver(rec)
                    after = await rt.snapshot()
                    if not 200 <= again.status_code < 300:
                        problems.append(f"{rec.name}: the redelivery was answered {again.status_code}, not 2xx")
                    changed = diff(before, after)
                    if changed:
                        problems.append(f"{rec.name}: the redelivery changed {', '.join(changed)}")
            return problems

        problems = asyncio.run(run())
        if problems:
            fail("dedupe.redelivery", "a redelivered payload must yield no second inbox row, message, "
                 "interaction or status:" + listing(problems))



class ParseChecks(ChannelChecks):
    """Mixin: malformed, truncated and fuzzed bodies raise PayloadError, never another error."""

    _omnisdk_kit_class: ClassVar[bool] = True

    # --- parse.* -------------------------------------------------------------------------

    def _check_body(self, adapter: ChannelAdapter, rec: Recording, body: bytes, what: str,
                    must_raise: bool, why: str = "a body that is not JSON") -> str | None:
        outcome, value = parse_outcome(adapter, self._fx().request(rec, body=body))
        if outcome == "crash":
            return (f"{what}: parse() raised {type(value).__name__}: {str(value)[:80]} "
                    "(only PayloadError may leave parse())")
        if outcome == "events":
            if must_raise:
                return f"{what}: parse() returned {len(value)} event(s) for {why}; raise PayloadError"
            bad = event_problems(value, adapter.source)
            if bad:
                return f"{what}: parse() returned invalid events ({bad[0]}); raise PayloadError instead"
        return None

    @rule("parse.malformed")
    def test_malformed_and_truncated_bodies(self) -> None:
        recs = self._recordings("parse.malformed")
        adapter, problems = self._fx().adapter(), []
        for body in fuzz.HAND_PICKED:
            found = self._check_body(adapter, recs[0], body, f"body {short(body, 24)}", False)
            if found:
                problems.append(found)
        for rec in recs:
            json_body = fuzz.is_json(rec.body)
            for cut in fuzz.cut_points(len(rec.body)):
                prefix = rec.body[:cut]
                must_raise = json_body and not fuzz.is_json(prefix)
                found = self._check_body(adapter, rec, prefix, f"{rec.name} cut at {cut}/{len(rec.body)}", must_raise)
                if found:
                    problems.append(found)
        if problems:
            fail("parse.malformed", "malformed and truncated bodies must raise PayloadError:" + listing(problems))

    def _fuzz(self, strategy_for: Callable[[Recording], Any], recs: list[Recording]) -> None:
        adapter = self._fx().adapter()
        if not recs:
            return

        @fuzz_settings(self.fuzz_examples)
        @given(data=st.data())
        def run(data: Any) -> None:
            rec = data.draw(st.sampled_from(recs), label="recording")
            body = data.draw(strategy_for(rec), label="body")
            found = self._check_body(adapter, rec, body, f"{rec.name} mutated to {short(body)}", False)
            if found:
                raise Violation(found)

        try:
            run()
        except Violation as exc:
            fail("parse.fuzz", f"a fuzzed body broke parse(): {exc}")

    @rule("parse.fuzz")
    def test_deeply_nested_and_limit_sized_bodies(self) -> None:
        """JSON nested 254–1,024 levels (bare, and inside each JSON recording) must raise
        PayloadError; JSON bodies of exactly the size limit (the smaller of the adapter's
        ``max_body_bytes`` and the gateway's default) give valid events or PayloadError."""
        recs = self._recordings("parse.fuzz")
        adapter, problems = self._fx().adapter(), []
        json_recs = [r for r in recs if fuzz.is_json(r.body)]
        for depth in fuzz.DEEP_NESTING_DEPTHS:
            for body in fuzz.deeply_nested(depth):
                found = self._check_body(adapter, recs[0], body, f"JSON nested {depth} levels", True,
                                         TOO_DEEP)
                if found:
                    problems.append(found)
            for rec in json_recs:
                for body in fuzz.nested_into(rec.body, depth):
                    found = self._check_body(adapter, rec, body,
                                             f"{rec.name} with a value nested {depth} levels", True,
                                             TOO_DEEP)
                    if found:
                        problems.append(found)
                        break
        limit = min(self._fx().adapter_cls.max_body_bytes, GATEWAY_MAX_BODY_BYTES)
        for rec in json_recs:
            for body in fuzz.at_size_limit(rec.body, limit):
                found = self._check_body(adapter, rec, body, f"{rec.name} as {limit} bytes", False)
                if found:
                    problems.append(found)
        if problems:
            fail("parse.fuzz", "deeply nested bodies must raise PayloadError, bodies at the size "
                 "limit must not break parse():" + listing(problems))

    @rule("parse.fuzz")
    def test_fuzzed_bodies_byte_level(self) -> None:
        recs = self._recordings("parse.fuzz")
        self._fuzz(lambda rec: fuzz.byte_mutations([rec.body]), recs)

    @rule("parse.fuzz")
    def test_fuzzed_bodies_structural(self) -> None:
        recs = self._recordings("parse.fuzz")
        json_recs = [r for r in recs if fuzz.is_json(r.body)]
        form_recs = [r for r in recs if r.content_type == "application/x-www-form-urlencoded"]
        self._fuzz(lambda rec: fuzz.json_mutations([rec.body]), json_recs)
        self._fuzz(lambda rec: fuzz.form_mutations([rec.body]), form_recs)



class StatusChecks(ChannelChecks):
    """Mixin: delivery statuses only move forward, in the events and in a real runtime."""

    _omnisdk_kit_class: ClassVar[bool] = True

    # --- status.forward_only ---------------------------------------------------------------

    def _status_steps(self) -> list[tuple[Recording, Event]]:
        recs = {r.name: r for r in self._recordings("status.forward_only")}
        if self.status_order is not None:
            unknown = [n for n in self.status_order if n not in recs]
            if unknown:
                fail("status.forward_only", f"status_order names unknown recordings {unknown}")
            ordered = [recs[n] for n in self.status_order]
        else:
            with_status = [(r, [e for e in self._safe_parse(r) if e.type == TYPE_MESSAGE_STATUS])
                           for r in recs.values()]
            with_status = [(r, evs) for r, evs in with_status if evs]
            with_status.sort(key=lambda item: min(e.time or "" for e in item[1]))
            ordered = [r for r, _ in with_status]
        steps = [(r, e) for r in ordered for e in self._parsed("status.forward_only", r)
                 if e.type == TYPE_MESSAGE_STATUS]
        if not steps:
            fail("status.forward_only", "no recording parses to io.omnisdk.message.status")
        return steps

    @rule("status.forward_only")
    def test_status_never_moves_backwards(self, tmp_path: Any) -> None:
        fx, problems = self._fx(), []
        steps = self._status_steps()
        hint = "" if self.status_order is not None else (
            " (ordered by event time; declare status_order if the provider's payloads carry none)")
        current: dict[str, tuple[DeliveryStatus, str]] = {}
        for rec, event in steps:
            mid = str((event.data or {}).get("message_id"))
            try:
                new = DeliveryStatus((event.data or {}).get("status"))
            except ValueError:
                problems.append(f"{rec.name}: status {(event.data or {}).get('status')!r} is not a DeliveryStatus")
                continue
            word = (event.data or {}).get("provider_status")
            if mid in current:
                old, old_rec = current[mid]
                if old is DeliveryStatus.FAILED and new is not DeliveryStatus.FAILED:
                    problems.append(f"{rec.name} ({word!r} → {new.value}) comes after {old_rec} (failed), "
                                    f"which is terminal{hint}")
                    continue
                if new.rank < old.rank:
                    problems.append(f"{rec.name}: provider status {word!r} maps to {new.value!r}, below "
                                    f"{old.value!r} reached earlier by {old_rec}{hint}")
                    continue
            current[mid] = (new, rec.name)
        recs = list(dict.fromkeys(r.name for r, _ in steps))
        by_name = {r.name: r for r, _ in steps}

        async def final(order: list[str]) -> dict[str, str | None]:
            async with KitRuntime(fx.adapter, tmp_path, fx.url) as rt:
                for name in order:
                    await rt.deliver(by_name[name])
                return {mid: await rt.status(mid) for mid in current}

        forward = asyncio.run(final(recs))
        backward = asyncio.run(final(list(reversed(recs))))
        for mid, (status, _rec) in current.items():
            if forward.get(mid) != status.value:
                problems.append(f"message {mid}: forward delivery ends {forward.get(mid)!r}, the events say {status.value!r}")
            if backward.get(mid) != forward.get(mid):
                problems.append(f"message {mid}: delivered in reverse order it ends {backward.get(mid)!r}, "
                                f"in provider order {forward.get(mid)!r}")
        if problems:
            fail("status.forward_only", "delivery status must only move forward:" + listing(problems))


class DeliveryChecks(RedeliveryChecks, ParseChecks, StatusChecks):
    """Mixin: redelivery through a real runtime, bad bodies, forward-only statuses."""

    _omnisdk_kit_class: ClassVar[bool] = True
