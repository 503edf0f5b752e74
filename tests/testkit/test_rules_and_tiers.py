"""Tiers, rule books, and the suite declaration checks (no pytest run needed)."""

from __future__ import annotations

import pytest
from kit_sample import GoodAdapter

from omnisdk import testkit
from omnisdk.testkit import ChannelAdapterSuite
from omnisdk.testkit.rules import Rule, RuleBook
from omnisdk.testkit.tiers import Tier, parse_tier


def test_tiers_order_by_rank():
    assert Tier.BRONZE < Tier.SILVER < Tier.GOLD
    assert Tier.GOLD >= Tier.SILVER and not Tier.SILVER > Tier.GOLD
    assert sorted([Tier.GOLD, Tier.BRONZE, Tier.SILVER]) == [Tier.BRONZE, Tier.SILVER, Tier.GOLD]
    assert parse_tier(" Silver ") is Tier.SILVER
    with pytest.raises(ValueError, match="unknown tier 'platinum'"):
        parse_tier("platinum")


def test_rule_book_refuses_duplicates():
    with pytest.raises(ValueError, match="duplicate"):
        RuleBook([Rule("a", Tier.BRONZE, "x"), Rule("a", Tier.GOLD, "y")])


def test_every_standard_test_names_a_rule_and_every_rule_has_a_test():
    standard = ChannelAdapterSuite.standard_tests()
    rules = {rid for rid, _ in standard.values()}
    assert rules == {r.id for r in testkit.CHANNEL_RULES}
    assert all(name.startswith("test_") for name in standard)


class _Base(ChannelAdapterSuite):
    adapter = GoodAdapter


def test_a_clean_declaration_has_no_problems():
    assert _Base.declaration_problems() == []


def test_rule_states_follow_tier_capabilities_and_opt_outs():
    @testkit.skip_rule("outbound.retry", reason="the provider never rate-limits")
    class Suite(_Base):
        tier = "silver"
        capabilities = {"inbound", "send_text"}

    book = testkit.CHANNEL_RULES
    assert Suite.rule_state(book["signature.forged"]).kind == "mandatory"
    assert Suite.rule_state(book["outbound.send_text"]).kind == "mandatory"
    assert Suite.rule_state(book["recordings.pinned"]).kind == "informational"
    assert Suite.rule_state(book["status.forward_only"]).kind == "not_applicable"
    state = Suite.rule_state(book["outbound.retry"])
    assert (state.kind, state.reason) == ("opted_out", "opted out: the provider never rate-limits")
    assert _Base.skip_rules == {}  # the decorator did not touch the parent


def test_declaration_problems_name_each_silent_opt_out():
    class NoReason(_Base):
        def test_forged_signature_is_rejected(self):
            pass

    class Bare(_Base):
        @testkit.override
        def test_forged_signature_is_rejected(self):
            pass

    class Removed(_Base):
        test_malformed_signature_is_rejected = None

    class Fine(_Base):
        @testkit.override(reason="the provider signs with RSA")
        def test_forged_signature_is_rejected(self):
            pass

    @testkit.skip_rule("outbound.retry")
    class SkipNoReason(_Base):
        pass

    @testkit.skip_rule("no.such.rule", reason="x")
    class SkipUnknown(_Base):
        pass

    @pytest.mark.skip(reason="later")
    class Marked(_Base):
        pass

    class BadTier(_Base):
        tier = "platinum"
        capabilities = {"inbound", "telepathy"}

    class NoAdapter(ChannelAdapterSuite):
        pass

    assert "without a reason" in NoReason.declaration_problems()[0]
    assert "signature.forged" in NoReason.declaration_problems()[0]
    assert "without a reason" in Bare.declaration_problems()[0]
    assert "cannot be removed" in Removed.declaration_problems()[0]
    assert Fine.declaration_problems() == []
    assert Fine.overrides() == {"test_forged_signature_is_rejected": "the provider signs with RSA"}
    assert "skipped without a reason" in SkipNoReason.declaration_problems()[0]
    assert "unknown rule 'no.such.rule'" in SkipUnknown.declaration_problems()[0]
    assert "skip/skipif/xfail mark" in Marked.declaration_problems()[0]
    problems = BadTier.declaration_problems()
    assert any("unknown tier" in p for p in problems) and any("telepathy" in p for p in problems)
    assert "set `adapter = YourAdapter`" in NoAdapter.declaration_problems()[0]


def test_lazy_exports_do_not_need_pytest_at_import():
    import subprocess
    import sys

    code = ("import sys, omnisdk.testkit, omnisdk.testkit.cli; "
            "assert 'pytest' not in sys.modules and 'hypothesis' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
