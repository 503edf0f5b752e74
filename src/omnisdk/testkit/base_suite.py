"""``ContractSuite``: the base of every kit suite (channel adapters today; CCaaS and CTI next).

A kit suite is a class whose test methods are marked with :func:`omnisdk.testkit.rules.rule`.
A plugin subclasses it (``class TestAcme(ChannelAdapterSuite)``) and configures it with class
attributes.  This module holds what does not depend on the kind of plugin:

- the declared ``tier`` and ``capabilities`` and their validation against the suite's
  :class:`~omnisdk.testkit.rules.RuleBook` and ``known_capabilities``;
- the map from standard test methods to rules, and the detection of overrides, opt-outs and
  raw pytest skip marks (:meth:`ContractSuite.declaration_problems`);
- the state of each rule for one suite (:meth:`ContractSuite.rule_state`): mandatory,
  informational, not applicable, or opted out;
- the guard that the kit's pytest plugin is enabled.

A new kind of suite subclasses :class:`ContractSuite`, sets ``suite_kind``, ``rulebook`` and
``known_capabilities``, marks its test methods with ``@rule(...)``, and may extend
:meth:`declaration_problems` and :meth:`parametrize`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from omnisdk.testkit.rules import OVERRIDE_ATTR, RULE_ATTR, Rule, RuleBook, has_reason
from omnisdk.testkit.tiers import Tier, parse_tier

PLUGIN_NAME = "omnisdk.testkit.pytest_plugin"
ENABLE_HINT = (
    "enable the omnisdk test kit's pytest plugin: add "
    '`pytest_plugins = ["omnisdk.testkit.pytest_plugin"]` to your top-level conftest.py, or '
    "`-p omnisdk.testkit.pytest_plugin` to pytest's addopts"
)
_RAW_OPT_OUT_MARKS = {"skip", "skipif", "xfail"}


@dataclass(frozen=True, slots=True)
class RuleState:
    """How a rule runs for one suite.

    Attributes:
        rule: the rule.
        kind: ``mandatory`` (at or below the declared tier), ``informational`` (above it),
            ``not_applicable`` (needs an undeclared capability or declaration) or ``opted_out``.
        reason: why, for the three last kinds.
    """

    rule: Rule
    kind: str
    reason: str | None = None


class ContractSuite:
    """Base of the kit's suites.  Not collected itself (its name does not start with Test).

    Class attributes a plugin's subclass sets:
        tier: ``"bronze"``, ``"silver"`` or ``"gold"``: the tier the plugin claims.
        capabilities: the capabilities the plugin declares (names from
            ``known_capabilities``); rules needing another capability do not apply.
        skip_rules: ``{rule id: reason}`` opt-outs (see :func:`~omnisdk.testkit.skip_rule`).

    Class attributes a kit suite sets:
        suite_kind: ``"channel"``, ``"ccaas"``, ``"cti"`` …
        rulebook: its :class:`RuleBook`.
        known_capabilities: the capability names it understands.
    """

    suite_kind: ClassVar[str] = "abstract"
    rulebook: ClassVar[RuleBook] = RuleBook(())
    known_capabilities: ClassVar[frozenset[str]] = frozenset()

    tier: ClassVar[str] = "bronze"
    capabilities: ClassVar[Collection[str]] = frozenset()
    skip_rules: ClassVar[Mapping[str, str | None]] = {}

    _omnisdk_kit_class: ClassVar[bool] = True  # set in every kit suite class's own body

    # --- standard tests ------------------------------------------------------------------

    @classmethod
    def standard_tests(cls) -> dict[str, tuple[str, Any]]:
        """``{method name: (rule id, the kit's function)}`` over the kit classes in the MRO."""
        out: dict[str, tuple[str, Any]] = {}
        for klass in reversed(cls.__mro__):
            if not klass.__dict__.get("_omnisdk_kit_class"):
                continue
            for name, fn in klass.__dict__.items():
                rid = getattr(fn, RULE_ATTR, None)
                if rid is not None:
                    out[name] = (rid, fn)
        return out

    @classmethod
    def rule_for(cls, method_name: str) -> Rule | None:
        """The rule a standard test method checks (None for a subclass's own tests)."""
        found = cls.standard_tests().get(method_name)
        return cls.rulebook[found[0]] if found else None

    @classmethod
    def overrides(cls) -> dict[str, str | None]:
        """``{method name: reason}`` of the standard tests this class replaces."""
        out: dict[str, str | None] = {}
        for name, (_rid, kit_fn) in cls.standard_tests().items():
            current = getattr(cls, name, None)
            if current is not kit_fn:
                out[name] = getattr(current, OVERRIDE_ATTR, None)
        return out

    # --- declaration ---------------------------------------------------------------------

    @classmethod
    def declared_tier(cls) -> Tier:
        """The declared tier.  Raises ValueError if it is not a tier."""
        return parse_tier(cls.tier)

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """Everything wrong with the subclass's declaration, as messages (empty = fine).

        Checked: the tier; capability names; every override of a standard test carries a
        reason (and is a function); every ``skip_rules`` entry names a rule and has a
        reason; no raw ``skip``/``skipif``/``xfail`` mark on the class or an override.
        """
        problems: list[str] = []
        try:
            cls.declared_tier()
        except ValueError as exc:
            problems.append(f"tier: {exc}")
        unknown = sorted(set(cls.capabilities) - cls.known_capabilities)
        if isinstance(cls.capabilities, str):
            problems.append("capabilities must be a collection of names, not one string")
        elif unknown:
            problems.append(
                f"unknown capabilities {unknown}: use names from {sorted(cls.known_capabilities)}"
            )
        standard = cls.standard_tests()
        for name, reason in cls.overrides().items():
            rid = standard[name][0]
            current = getattr(cls, name, None)
            if not callable(current):
                problems.append(
                    f"{name} (rule {rid}) is replaced by {current!r}: a standard test cannot be "
                    f"removed; use @testkit.skip_rule({rid!r}, reason=...) to opt out with a reason"
                )
            elif not has_reason(reason):
                problems.append(
                    f"{name} overrides the standard test of rule {rid} without a reason: "
                    f'decorate it with @testkit.override(reason="why this replacement checks the rule")'
                )
            elif _raw_opt_out_marks(current):
                problems.append(
                    f"{name} (rule {rid}) carries a pytest skip/xfail mark: use "
                    f"@testkit.skip_rule({rid!r}, reason=...) so the opt-out is reported"
                )
        for rid, reason in (cls.skip_rules or {}).items():
            if rid not in cls.rulebook:
                problems.append(f"skip_rule names unknown rule {rid!r}")
            elif not has_reason(reason):
                problems.append(
                    f"rule {rid} is skipped without a reason: "
                    f'use @testkit.skip_rule({rid!r}, reason="why")'
                )
        if _raw_opt_out_marks(cls):
            problems.append(
                "the suite class carries a pytest skip/skipif/xfail mark, which would silently "
                "opt out of every rule: use @testkit.skip_rule(rule, reason=...) per rule"
            )
        return problems

    @classmethod
    def not_applicable(cls, rule: Rule) -> str | None:
        """Why ``rule`` does not apply although its capability is declared: it checks a
        declaration the suite did not make (e.g. no published signing scheme), else None.
        Kit mixins extend it (call ``super()``); reported like an undeclared capability."""
        return None

    @classmethod
    def rule_state(cls, rule: Rule) -> RuleState:
        """How ``rule`` runs for this suite (see :class:`RuleState`)."""
        reason = (cls.skip_rules or {}).get(rule.id)
        if rule.id in (cls.skip_rules or {}):
            return RuleState(rule, "opted_out", f"opted out: {reason}")
        if rule.capability is not None and rule.capability not in set(cls.capabilities):
            return RuleState(
                rule, "not_applicable", f"not applicable: capability {rule.capability!r} not declared"
            )
        why = cls.not_applicable(rule)
        if why:
            return RuleState(rule, "not_applicable", f"not applicable: {why}")
        declared = cls.declared_tier()
        if rule.tier > declared:
            return RuleState(
                rule,
                "informational",
                f"informational: {rule.id} is a {rule.tier.value} rule, above the declared "
                f"{declared.value} tier",
            )
        return RuleState(rule, "mandatory")

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """What the report says about the suite itself (kind, tier, capabilities …)."""
        return {
            "kind": cls.suite_kind,
            "declared_tier": str(cls.tier),
            "capabilities": sorted(cls.capabilities),
        }

    # --- pytest integration ----------------------------------------------------------------

    @classmethod
    def parametrize(cls, metafunc: Any) -> None:
        """Parametrize one standard test (override in kit suites; default: nothing)."""

    def pytest_generate_tests(self, metafunc: Any) -> None:
        """pytest calls this for each test of the class: check the plugin, then parametrize."""
        if not metafunc.config.pluginmanager.has_plugin(PLUGIN_NAME):
            import pytest

            pytest.fail(f"omnisdk testkit: {type(self).__name__}: {ENABLE_HINT}", pytrace=False)
        type(self).parametrize(metafunc)


def _raw_opt_out_marks(obj: Any) -> bool:
    marks = getattr(obj, "pytestmark", None) or []
    if not isinstance(marks, list):
        marks = [marks]
    return any(getattr(m, "name", None) in _RAW_OPT_OUT_MARKS for m in marks)


def fail(rule_id: str, message: str) -> None:
    """Fail the current test with ``[rule_id] message`` (no traceback).

    Raises:
        pytest.fail.Exception: always.
    """
    import pytest

    pytest.fail(f"[{rule_id}] {message}", pytrace=False)


def subject_problems(subject: Any, base: type, attr: str, fuzz_examples: Any) -> list[str]:
    """Declaration problems shared by the adapter and connector suites: ``attr`` must name a
    ``base`` subclass and ``fuzz_examples`` be a positive int."""
    problems = []
    if not (isinstance(subject, type) and issubclass(subject, base)):
        problems.append(f"set `{attr} = Your{attr.capitalize()}` (a {base.__name__} subclass), not {subject!r}")
    if not isinstance(fuzz_examples, int) or fuzz_examples < 1:
        problems.append("fuzz_examples must be a positive int")
    return problems


def describe_subject(out: dict[str, Any], subject: Any) -> dict[str, Any]:
    """Add the adapter's or connector's name and channel to a report header."""
    if subject is not None:
        out["adapter"] = getattr(subject, "name", None)
        channel = getattr(subject, "channel", None)
        out["channel"] = getattr(channel, "value", channel)
    return out
