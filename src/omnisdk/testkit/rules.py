"""Rules, rule books and the decorators that tie test methods to rules.

Not specific to channel adapters: a CCaaS or CTI suite defines its own :class:`RuleBook` and
marks its test methods with :func:`rule` in the same way.

- :func:`rule` marks a *standard* test method of a kit suite with the rule it checks;
- :func:`override` marks a subclass's replacement of a standard test, with the reason;
- :func:`skip_rule` opts a suite subclass out of one rule, with the reason.

An override or a skip without a reason is refused at collection by
:mod:`omnisdk.testkit.pytest_plugin`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from omnisdk.testkit.tiers import Tier

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=type)

RULE_ATTR = "_omnisdk_rule"
OVERRIDE_ATTR = "_omnisdk_override"
_NO_REASON = object()


@dataclass(frozen=True, slots=True)
class Rule:
    """One checked promise.

    Attributes:
        id: dotted, stable id used in messages, reports and :func:`skip_rule`
            (``"signature.forged"``).
        tier: the lowest tier at which the rule is mandatory.
        title: what the rule asks of the plugin, one line.
        capability: the declared capability the rule needs; ``None`` = always applies.
    """

    id: str
    tier: Tier
    title: str
    capability: str | None = None


class RuleBook:
    """An ordered set of rules, by id.

    Raises:
        ValueError: on construction, for a duplicate rule id.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules: dict[str, Rule] = {}
        for r in rules:
            if r.id in self._rules:
                raise ValueError(f"duplicate rule id {r.id!r}")
            self._rules[r.id] = r

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules.values())

    def __len__(self) -> int:
        return len(self._rules)

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def __getitem__(self, rule_id: str) -> Rule:
        """The rule with this id.  Raises KeyError if there is none."""
        return self._rules[rule_id]


def rule(rule_id: str) -> Callable[[F], F]:
    """Mark a kit suite's test method as checking ``rule_id`` (kit authors only)."""

    def mark(fn: F) -> F:
        setattr(fn, RULE_ATTR, rule_id)
        return fn

    return mark


def override(fn: F | None = None, *, reason: str | None = None) -> Any:
    """Mark a suite subclass's method that replaces a standard test, with the reason::

        @testkit.override(reason="the provider signs with RSA; we verify a recorded signature")
        def test_forged_signature_is_rejected(self): ...

    The replacement runs in place of the standard test and counts for the rule; the report
    shows the reason.  Used bare (``@testkit.override``) or without a non-empty reason, the
    kit fails the run at collection.
    """

    def mark(f: F) -> F:
        setattr(f, OVERRIDE_ATTR, reason)
        return f

    if fn is not None:  # bare @override: no reason given
        setattr(fn, OVERRIDE_ATTR, None)
        return fn
    return mark


def skip_rule(rule_id: str, reason: str | None = None) -> Callable[[C], C]:
    """Class decorator: opt the suite out of ``rule_id``, with the reason::

        @testkit.skip_rule("outbound.retry", reason="the provider API has no rate limits")
        class TestAcme(ChannelAdapterSuite): ...

    The rule's tests are skipped with the reason.  A skipped rule is not passed: when it is at
    or below the declared tier, that tier is not reached and the run fails (lower the declared
    tier instead, or fix the plugin).  Equivalent to the class attribute
    ``skip_rules = {"outbound.retry": "..."}``.  An unknown rule id or a missing reason fails
    the run at collection.
    """

    def mark(cls: C) -> C:
        inherited = dict(getattr(cls, "skip_rules", None) or {})
        inherited[rule_id] = reason
        cls.skip_rules = inherited  # type: ignore[attr-defined]
        return cls

    return mark


def has_reason(value: object) -> bool:
    """True for a non-blank string."""
    return isinstance(value, str) and bool(value.strip())
