"""``CTIConnectorSuite``: the kit's suite for CTI (telephony) connectors
(:class:`omnisdk.connectors.CTIConnector`).

A plugin's test module subclasses it and sets class attributes::

    from omnisdk.testkit import CTIConnectorSuite
    from omnisdk_acme_voice import AcmeVoice

    class TestAcmeVoice(CTIConnectorSuite):
        connector = AcmeVoice
        capabilities = {"inbound", "place_call"}

Besides the webhook rules it shares with channels, it checks that every recorded call follows
:data:`omnisdk.connectors.CALL_TRANSITIONS` (calls are the recordings' ``io.omnisdk.call.*``
events grouped by ``call_id``, in recording order, or in ``call_order``), that the connector's
call tracker refuses illegal transitions, and, with ``place_call``, the request ``place_call()``
sends to a respx-mocked CTI API.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar

from omnisdk.connectors import (
    CALL_EVENT_TYPES,
    CALL_TRANSITIONS,
    CallState,
    CallStateError,
    CallTracker,
    CTIConnector,
    OutboundCall,
    PlacedCall,
)
from omnisdk.events import Event
from omnisdk.recordings import Recording
from omnisdk.testkit.base_suite import fail
from omnisdk.testkit.channel.checks import listing
from omnisdk.testkit.checks.provider_api import Reply, describe_error
from omnisdk.testkit.connector.checks import (
    ConnectorSuite,
    carries,
    describe,
    outcome,
    request_values,
)
from omnisdk.testkit.connector.rules import CTI_CAPABILITIES, CTI_RULES
from omnisdk.testkit.rules import RuleBook, rule

KIT_TO = "+15550100002"
KIT_FROM = "+15550100001"
KIT_AGENT = "testkit-agent-7"
KIT_TIMEOUT = 25
BAD_NUMBERS = ("15550100002", "+1 555 010 0002", "555-0100", "+1555", "tel:+15550100002", "")
_PHONE_LIKE = re.compile(r"^(tel:)?\+?[0-9 ()-]{6,}$")


def _path_to(state: CallState) -> list[CallState]:
    """The shortest legal sequence of states ending in ``state``."""
    paths: dict[CallState, list[CallState]] = {}
    frontier: list[tuple[CallState | None, list[CallState]]] = [(None, [])]
    while frontier:
        current, path = frontier.pop(0)
        for nxt in sorted(CALL_TRANSITIONS.get(current, ())):
            if nxt not in paths:
                paths[nxt] = [*path, nxt]
                frontier.append((nxt, paths[nxt]))
    return paths[state]


def _event(call_id: str, state: CallState, n: int) -> Event:
    return Event(id=f"{call_id}:{n}", source="/testkit/acme", type=state.event_type,
                 data={"call_id": call_id, "from": KIT_FROM, "to": KIT_TO, "direction": "inbound",
                       "at": "2030-01-02T03:04:05Z"})


class CTIConnectorSuite(ConnectorSuite):
    """The standard tests of a CTI connector.

    Class attributes: those of :class:`~omnisdk.testkit.connector.checks.ConnectorSuite`
    (``connector`` is required), plus ``call_order``: recording names in the order the CTI
    sends them, when name order is not it (default: every recording, in name order).
    Capabilities: ``inbound`` (default), ``handshake``, ``place_call``.
    """

    _omnisdk_kit_class: ClassVar[bool] = True
    suite_kind: ClassVar[str] = "cti"
    rulebook: ClassVar[RuleBook] = CTI_RULES
    known_capabilities: ClassVar[frozenset[str]] = CTI_CAPABILITIES
    connector_base: ClassVar[type] = CTIConnector

    call_order: ClassVar[Sequence[str] | None] = None

    # --- helpers -------------------------------------------------------------------------

    def kit_call(self) -> OutboundCall:
        """The call the kit places."""
        return OutboundCall(to=KIT_TO, agent=KIT_AGENT, timeout=KIT_TIMEOUT,
                            interaction_id="0190aa55c0ffee0000000000000ca11e", **{"from": KIT_FROM})

    def api_exercises(self) -> list[tuple[str, Sequence[Reply], Sequence[Reply], Callable[[Any], Awaitable[Any]]]]:
        if "place_call" not in self.capabilities:
            return []
        call = self.kit_call()

        def place(c: Any) -> Awaitable[Any]:
            return c.place_call(call)

        return [("place_call() answered 401", [Reply(401, json={"error": "unauthorized"})], (), place),
                ("place_call() answered 500", [Reply(500, text="<html>oops</html>")], (), place),
                ("place_call()", (), (), place)]

    def _calls(self, rule_id: str) -> dict[str, list[tuple[Recording, Event]]]:
        """Recorded call events grouped by call_id, in the CTI's order."""
        recs = {r.name: r for r in self._recordings(rule_id)}
        if self.call_order is not None:
            unknown = [n for n in self.call_order if n not in recs]
            if unknown:
                fail(rule_id, f"call_order names unknown recordings {unknown}")
            ordered = [recs[n] for n in self.call_order]
        else:
            ordered = list(recs.values())
        calls: dict[str, list[tuple[Recording, Event]]] = {}
        for rec in ordered:
            for event in self._parsed(rule_id, rec):
                if event.type in CALL_EVENT_TYPES:
                    calls.setdefault(str((event.data or {}).get("call_id")), []).append((rec, event))
        return calls

    def _place(self, call: OutboundCall, script: Sequence[Reply] = ()) -> tuple[Any, Any, BaseException | None]:
        async def go() -> tuple[Any, Any, BaseException | None]:
            with self.platform(script) as mp:
                connector = self.make_connector()
                try:
                    result, error = await outcome(connector.place_call(call))
                finally:
                    await connector.aclose()
            return mp, result, error

        return asyncio.run(go())

    # --- cti.declaration -----------------------------------------------------------------

    @rule("cti.declaration")
    def test_cti_declaration(self) -> None:
        problems = []
        cls = self._fx().adapter_cls
        dials = cls.dial is not CTIConnector.dial
        if "place_call" in self.capabilities and not dials:
            problems.append("place_call declared but dial() is not implemented")
        if dials and "place_call" not in self.capabilities:
            problems.append("dial() is implemented but the place_call capability is not declared")
        calls = self._calls("cti.declaration")
        whole = [cid for cid, steps in calls.items()
                 if len(steps) > 1 and steps[0][1].type == CallState.RINGING.event_type
                 and steps[-1][1].type == CallState.ENDED.event_type]
        if not whole:
            problems.append(f"no recorded call goes from ringing to ended (calls: {sorted(calls) or 'none'}): "
                            "record the webhooks of at least one whole call")
        if problems:
            fail("cti.declaration", "the CTI connector is not usable as declared:" + listing(problems))

    # --- cti.transitions / cti.illegal_refused -------------------------------------------------

    @rule("cti.transitions")
    def test_recorded_calls_follow_the_transitions(self) -> None:
        problems = []
        tracker = self._fx().adapter().tracker()
        for steps in self._calls("cti.transitions").values():
            canonical = CallTracker()
            for rec, event in steps:
                try:
                    canonical.apply(event)
                except CallStateError as exc:
                    problems.append(f"{rec.name}: {exc}")
                    break
                try:
                    tracker.apply(event)
                except CallStateError as exc:
                    problems.append(f"{rec.name}: the connector's own tracker refused a legal step: {exc}")
                    break
        if problems:
            fail("cti.transitions", "recorded calls must follow omnisdk.connectors.CALL_TRANSITIONS "
                 "(check how the CTI's call states map to ringing/answered/held/resumed/transferred/ended):"
                 + listing(problems))

    @rule("cti.illegal_refused")
    def test_illegal_transitions_are_refused(self) -> None:
        connector = self._fx().adapter()
        accepted = []
        pairs: list[tuple[CallState | None, CallState]] = [
            (None, s) for s in CallState if s not in CALL_TRANSITIONS[None]]
        pairs += [(a, b) for a in CallState for b in CallState if b not in CALL_TRANSITIONS[a]]
        for i, (before, after) in enumerate(pairs):
            call_id = f"testkit-call-{i:03d}"
            tracker = connector.tracker()
            path = _path_to(before) if before is not None else []
            try:
                for n, state in enumerate(path):
                    tracker.apply(_event(call_id, state, n))
            except CallStateError as exc:
                fail("cti.illegal_refused", f"the connector's tracker refused a legal sequence {[s.value for s in path]}: {exc}")
            try:
                tracker.apply(_event(call_id, after, len(path)))
            except CallStateError:
                continue
            except Exception as exc:
                accepted.append(f"{before.value if before else '(start)'} → {after.value} raised "
                                f"{type(exc).__name__}, not CallStateError")
                continue
            accepted.append(f"{before.value if before else '(start)'} → {after.value}")
        if accepted:
            fail("cti.illegal_refused", f"the connector's call tracker accepted {len(accepted)} illegal "
                 "transition(s) (keep call_transitions = omnisdk.connectors.CALL_TRANSITIONS):" + listing(accepted))

    # --- cti.call_shape / cti.invalid_number -------------------------------------------------

    @rule("cti.call_shape")
    def test_outbound_call_request_shape(self) -> None:
        call = self.kit_call()
        mp, result, error = self._place(call)
        if error is not None:
            fail("cti.call_shape", f"place_call() raised {describe_error(error)}")
        if len(mp.api_requests) != 1 or mp.other_requests:
            fail("cti.call_shape", f"place_call() made {len(mp.api_requests)} request(s) to the CTI API and "
                 f"{len(mp.other_requests)} elsewhere ({describe(mp.requests)}), not one")
        sent = mp.api_requests
        values = request_values(sent[0])
        problems = []
        for field, value in (("to", call.to), ("from", call.from_)):
            if not carries(sent, value):
                phoneish = [v for v in values if _PHONE_LIKE.match(v)]
                problems.append(f"the {field} number {value!r} (E.164) is not in the request "
                                f"(phone-like values in it: {phoneish or 'none'})")
        if not carries(sent, call.agent):
            problems.append(f"the agent {call.agent!r} is not in the request")
        if not any(_number(v) == KIT_TIMEOUT for v in values):
            problems.append(f"the timeout ({KIT_TIMEOUT} s) is not in the request")
        reply = self._fx().adapter_cls.sandbox_reply(1)
        if not (isinstance(result, PlacedCall) and result.call_id and result.call_id in map(str, _values(reply))):
            problems.append(f"place_call() returned {result!r}, not a PlacedCall with the CTI's call id from "
                            f"its answer {reply!r}")
        if problems:
            fail("cti.call_shape", f"the outbound call request ({describe(sent)}) is not right:" + listing(problems))

    @rule("cti.invalid_number")
    def test_invalid_numbers_fail_before_io(self) -> None:
        problems = []
        for bad in BAD_NUMBERS:
            try:
                OutboundCall(to=bad, agent=KIT_AGENT, **{"from": KIT_FROM})
            except ValueError:
                pass
            else:
                problems.append(f"OutboundCall accepted the number {bad!r}")
            for field in ("to", "from_"):
                values = {"to": KIT_TO, "from_": KIT_FROM, field: bad}
                call = OutboundCall.model_construct(agent=KIT_AGENT, timeout=KIT_TIMEOUT, interaction_id=None, **values)
                mp, _, error = self._place(call)
                if not isinstance(error, ValueError):
                    problems.append(f"place_call() with {field.rstrip('_')}={bad!r} ended with {describe_error(error)}, "
                                    "not ValueError")
                if mp.requests:
                    problems.append(f"place_call() with {field.rstrip('_')}={bad!r} made {len(mp.requests)} HTTP "
                                    "request(s): validate before any I/O")
        if problems:
            fail("cti.invalid_number", "numbers that are not E.164 must be refused before any I/O:" + listing(problems))


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _values(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [x for v in node.values() for x in _values(v)]
    if isinstance(node, list):
        return [x for v in node for x in _values(v)]
    return [node]
