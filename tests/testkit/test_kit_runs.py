"""The kit tests itself with pytester: a correct sample adapter passes; each seeded defect fails
with the rule that names it; opt-outs, tiers and the plugin guard behave as documented."""

from __future__ import annotations

import pytest
from kit_runner import failed_rules, rule, run

pytest_plugins = ["pytester"]

DEFECTS = {
    # suite class: (adapter, the rules it must fail, a phrase of the failure message)
    "TestNoSignatureCheck": ("NoSignatureCheck", {"signature.missing", "signature.forged",
                             "signature.malformed", "signature.constant_time", "signature.one_secret",
                             "signature.one_change", "signature.provider_vectors"},
                             ("signature.forged", "signed with another secret: verify() accepted it")),
    "TestEqualsCompare": ("EqualsCompare", {"signature.constant_time"},
                          ("signature.constant_time", "without calling hmac.compare_digest")),
    "TestRandomIds": ("RandomIds", {"dedupe.redelivery", "recordings.parse", "dedupe.whole_event"},
                      ("dedupe.redelivery", "gave different event ids")),
    "TestStatusRegression": ("StatusRegression", {"status.forward_only", "recordings.parse"},
                             ("status.forward_only", "provider status 'seen' maps to 'delivered', below 'read'")),
    "TestCrashOnMalformed": ("CrashOnMalformed", {"parse.malformed", "parse.fuzz", "parse.unknown_values"},
                             ("parse.malformed", "parse() raised JSONDecodeError")),
    "TestDeepNestingAccepted": ("DeepNestingAccepted", {"parse.fuzz"},
                                ("parse.fuzz", "JSON nested 254 levels: parse() returned 0 event(s)")),
    "TestDoubleSendOnRetry": ("DoubleSendOnRetry", {"outbound.idempotency"},
                              ("outbound.idempotency", "the idempotency key changed between attempts")),
    "TestSecretInLog": ("SecretInLog", {"secrets.redacted", "signature.no_oracle"},
                        ("secrets.redacted", "appears in: the log")),
}


def test_a_correct_adapter_passes_and_each_seeded_defect_fails_its_rule(pytester):
    body = "\nclass TestGood(Base):\n    adapter = kit_sample.GoodAdapter\n"
    for cls, (adapter, _, _) in DEFECTS.items():
        body += f"\nclass {cls}(Base):\n    adapter = kit_sample.{adapter}\n"
    result, suites = run(pytester, body)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    good = suites["TestGood"]
    assert failed_rules(good) == set()
    assert (good["tier_reached"], good["declared_reached"]) == ("gold", True)
    assert rule(good, "outbound.send_template")["status"] == "not_applicable"
    for cls, (_, expected, (rule_id, phrase)) in DEFECTS.items():
        suite = suites[cls]
        assert failed_rules(suite) == expected, cls
        assert not suite["declared_reached"], cls
        message = rule(suite, rule_id)["reason"]
        assert message.startswith(f"[{rule_id}]") and phrase in message, (cls, message)
        result.stdout.fnmatch_lines([f"*{cls}*declared gold NOT reached*"])
    result.stdout.fnmatch_lines(["*TestGood (kit): declared gold reached; tier reached: gold"])


def test_rules_above_the_declared_tier_are_informational(pytester):
    result, suites = run(pytester, """
class TestDouble(Base):
    adapter = kit_sample.DoubleSendOnRetry
    tier = "bronze"
""", "-k", "idempotency or send_text or declaration")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, xfailed=1, xpassed=1)
    suite = suites["TestDouble"]
    idem = rule(suite, "outbound.idempotency")
    assert (idem["status"], idem["mandatory"]) == ("failed", False)
    assert suite["tier_reached"] is None  # a partial run reaches nothing for sure
    result.stdout.fnmatch_lines(["*not run (partial run)*"])


def test_an_override_without_a_reason_fails_the_run(pytester):
    result, _ = run(pytester, """
class TestLazy(Base):
    adapter = kit_sample.GoodAdapter

    def test_forged_signature_is_rejected(self):
        pass
""")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([
        "*omnisdk testkit: TestLazy cannot run:*",
        "*test_forged_signature_is_rejected overrides the standard test of rule signature.forged "
        "without a reason*",
    ])


def test_an_override_with_a_reason_runs_in_place_and_is_reported(pytester):
    result, suites = run(pytester, """
class TestRsa(Base):
    adapter = kit_sample.GoodAdapter
    tier = "bronze"

    @testkit.override(reason="the provider signs with RSA; checked against a recorded signature")
    def test_forged_signature_is_rejected(self):
        assert True
""", "-k", "forged")
    assert result.ret == pytest.ExitCode.OK
    forged = rule(suites["TestRsa"], "signature.forged")
    assert forged["status"] == "passed"
    assert forged["overridden"] == {
        "test_forged_signature_is_rejected": "the provider signs with RSA; checked against a recorded signature"}


@pytest.mark.parametrize("decl, message", [
    ('@testkit.skip_rule("outbound.retry")\n', "rule outbound.retry is skipped without a reason"),
    ('@testkit.skip_rule("outbound.retry", reason="  ")\n', "rule outbound.retry is skipped without a reason"),
    ('@testkit.skip_rule("outbound.nope", reason="x")\n', "skip_rule names unknown rule 'outbound.nope'"),
    ('@pytest.mark.skip(reason="later")\n', "carries a pytest skip/skipif/xfail mark"),
])
def test_silent_or_unknown_skips_fail_the_run(pytester, decl, message):
    result, _ = run(pytester, f"""
import pytest

{decl}class TestSkips(Base):
    adapter = kit_sample.GoodAdapter
""")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([f"*{message}*"])


def test_skipping_a_mandatory_rule_with_a_reason_misses_the_tier(pytester):
    result, suites = run(pytester, """
@testkit.skip_rule("outbound.retry", reason="the provider has no rate limits")
class TestSkips(Base):
    adapter = kit_sample.GoodAdapter
    tier = "silver"
""", "-k", "429 or 5xx")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # no test failed, the tier is missed
    result.assert_outcomes(skipped=2)
    retry = rule(suites["TestSkips"], "outbound.retry")
    assert (retry["status"], retry["reason"]) == ("skipped", "opted out: the provider has no rate limits")
    result.stdout.fnmatch_lines([
        "*TestSkips (kit): declared silver NOT reached*",
        "*skipped: outbound.retry (silver): opted out: the provider has no rate limits",
    ])


def test_skipping_a_rule_above_the_tier_keeps_it(pytester):
    result, suites = run(pytester, """
@testkit.skip_rule("recordings.pinned", reason="drafting the expected files")
class TestSkips(Base):
    adapter = kit_sample.GoodAdapter
    tier = "bronze"
""", "-k", "pinned")
    assert result.ret == pytest.ExitCode.OK
    assert rule(suites["TestSkips"], "recordings.pinned")["status"] == "skipped"


def test_without_the_plugin_the_suite_says_how_to_enable_it(pytester):
    result, _ = run(pytester, "\nclass TestKit(Base):\n    adapter = kit_sample.GoodAdapter\n",
                    plugin=False)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert "enable the omnisdk test kit's pytest plugin" in out
    assert 'pytest_plugins = ["omnisdk.testkit.pytest_plugin"]' in out


def test_undeclared_capabilities_make_rules_not_applicable(pytester):
    result, suites = run(pytester, """
class TestInboundOnly(Base):
    adapter = kit_sample.GoodAdapter
    capabilities = {"inbound", "statuses"}
    tier = "silver"
""", "-k", "send or retry or capabilities")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # send() exists but is not declared
    suite = suites["TestInboundOnly"]
    assert rule(suite, "outbound.send_text")["status"] == "not_applicable"
    caps = rule(suite, "adapter.capabilities")
    assert caps["status"] == "failed" and "send() is implemented but no send_text" in caps["reason"]


def test_expected_files_pin_what_they_name_and_orphans_fail(pytester):
    expected = pytester.mkdir("expected")
    (expected / "message.json").write_text('[{"id": "in-1", "data": {"text": "Goodbye"}}]')
    (expected / "mesage.json").write_text("[]")  # a typo: names no recording
    result, suites = run(pytester, f"""
class TestPinned(Base):
    adapter = kit_sample.GoodAdapter
    expected_dir = {str(expected)!r}
""", "-k", "recording or expected")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    suite = suites["TestPinned"]
    parsed = rule(suite, "recordings.parse")
    assert parsed["status"] == "failed"
    assert "does not match message.json: events[0].data.text: expected 'Goodbye', got 'Hello, where" \
        in parsed["reason"]
    orphan = rule(suite, "recordings.expected")
    assert orphan["status"] == "failed" and "expected/mesage.json names no recording" in orphan["reason"]
    assert rule(suite, "recordings.pinned")["status"] == "failed"  # 4 of 5 recordings unpinned
