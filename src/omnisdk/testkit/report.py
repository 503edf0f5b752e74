"""Rule outcomes → the certification report: each rule's status, and the tier reached.

Used by the pytest plugin (which feeds it test outcomes) and by ``omnisdk certify`` (which
renders the JSON the plugin wrote).

Rule statuses: ``passed``; ``failed``; ``skipped`` (opted out, or a test skipped itself);
``not_applicable`` (needs a capability the suite does not declare); ``not_run`` (deselected).
The tier reached is the highest tier whose rules (that tier and below) are all ``passed`` or
``not_applicable``; rules above the declared tier count too, which is how a plugin can reach
more than it declares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omnisdk.testkit.base_suite import ContractSuite
from omnisdk.testkit.tiers import TIERS, Tier

_WORST = ("failed", "xfailed", "skipped", "xpassed", "passed")


@dataclass
class SuiteRecord:
    """Test outcomes of one collected suite class, by rule.

    Attributes:
        suite: the suite class.
        nodeid: its pytest node id.
        outcomes: ``{rule id: {test node id: (outcome, message)}}``; outcome is one of
            passed, failed, skipped, xfailed, xpassed.
    """

    suite: type[ContractSuite]
    nodeid: str
    outcomes: dict[str, dict[str, tuple[str, str | None]]] = field(default_factory=dict)

    def expect(self, rule_id: str, test: str) -> None:
        """Register a collected test of a rule (it counts as not run until reported)."""
        self.outcomes.setdefault(rule_id, {}).setdefault(test, ("not_run", None))

    def add(self, rule_id: str, test: str, outcome: str, message: str | None) -> None:
        """Record one phase's outcome of a test; the worst outcome of its phases wins."""
        tests = self.outcomes.setdefault(rule_id, {})
        old, old_msg = tests.get(test, ("not_run", None))
        if old == "not_run" or _WORST.index(outcome) < _WORST.index(old):
            tests[test] = (outcome, message or old_msg)

    def rule_results(self) -> list[dict[str, Any]]:
        """One dict per rule of the suite's rule book (see the module docstring)."""
        declared = self.suite.declared_tier()
        overrides = self.suite.overrides()
        standard = self.suite.standard_tests()
        out: list[dict[str, Any]] = []
        for rule in self.suite.rulebook:
            state = self.suite.rule_state(rule)
            tests = self.outcomes.get(rule.id, {})
            status, reason = _status(state.kind, state.reason, tests)
            overridden = {name: why for name, why in overrides.items() if standard[name][0] == rule.id}
            out.append({
                "id": rule.id,
                "tier": rule.tier.value,
                "title": rule.title,
                "capability": rule.capability,
                "mandatory": rule.tier <= declared and state.kind != "not_applicable",
                "status": status,
                "reason": reason,
                "tests": len(tests),
                "overridden": overridden or None,
                "notes": list(_NOTES.get((self.suite, rule.id), ())) or None,
            })
        return out

    def result(self) -> dict[str, Any]:
        """The suite's report: its description, each rule, the tier reached."""
        rules = self.rule_results()
        reached = tier_reached(rules)
        declared = self.suite.declared_tier()
        return {
            "suite": self.nodeid,
            **self.suite.describe(),
            "tier_reached": reached.value if reached else None,
            "declared_reached": reached is not None and reached >= declared,
            "rules": rules,
        }


_NOTES: dict[tuple[type, str], list[str]] = {}


def note(suite: type, rule_id: str, text: str) -> None:
    """Attach ``text`` to ``rule_id``'s result for ``suite``: something a passed rule wants the
    reader to know (what it could not prove).  Shown as the rule's ``notes`` in the report and
    in ``omnisdk certify``'s table."""
    found = _NOTES.setdefault((suite, rule_id), [])
    if text not in found:
        found.append(text)


def _status(kind: str, reason: str | None, tests: dict[str, tuple[str, str | None]]) -> tuple[str, str | None]:
    if kind == "opted_out":
        return "skipped", reason
    if kind == "not_applicable":
        return "not_applicable", reason
    outcomes = [o for o, _ in tests.values()]
    if not outcomes or all(o == "not_run" for o in outcomes):
        return "not_run", "not run (deselected)"
    for bad in ("failed", "xfailed"):
        for o, msg in tests.values():
            if o == bad:
                return "failed", msg
    if all(o in ("passed", "xpassed") for o in outcomes):
        return "passed", None
    for o, msg in tests.values():
        if o == "skipped":
            return "skipped", msg
    return "not_run", "partly not run (deselected)"


def tier_reached(rules: list[dict[str, Any]]) -> Tier | None:
    """The highest tier whose rules at or below it are all passed or not applicable."""
    reached: Tier | None = None
    for tier in TIERS:
        if all(r["status"] in ("passed", "not_applicable") for r in rules if Tier(r["tier"]) <= tier):
            reached = tier
        else:
            break
    return reached


def blocking(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The mandatory rules that keep a suite from its declared tier (not_run excluded)."""
    return [r for r in result["rules"] if r["mandatory"] and r["status"] in ("failed", "skipped")]


def headline(reason: str | None, width: int = 160) -> str:
    """A one-line summary of a rule's reason: its first line, plus the first listed item when
    the first line ends with a colon."""
    lines = [ln.strip() for ln in (reason or "").strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    text = lines[0]
    if text.endswith(":") and len(lines) > 1:
        text += " " + lines[1]
    return text if len(text) <= width else text[: width - 1] + "…"
