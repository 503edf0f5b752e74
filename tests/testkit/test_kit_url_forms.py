"""Self-tests of the URL and form forgeries of issue 15 on copies of the real SMS plugin
(:mod:`kit_defects_twilio`): a URL with a query is signed as called (parameters in their
order, none dropped), and form parameter order and encoding are judged by the published
Twilio scheme, not by the plugin's own ``sign()``."""

from __future__ import annotations

import pytest
from kit_runner import failed_rules, rule, run

pytest_plugins = ["pytester"]

SMS = """
from omnisdk_sms.certification import SmsSuite
import kit_defects_twilio as t


class Base(SmsSuite):
    expected_dir = "/nonexistent/expected"  # the rules may not lean on expected files
"""
SELECT = "one_change or published_scheme"
DEFECTS = {
    # suite class: (adapter, the rules it must fail, a phrase of the failure message)
    "TestStripsQuery": ("t.StripsQuery", {"signature.published_scheme"},
                        ("signature.published_scheme", "signed by the kit for a URL with a query "
                         "(https://hooks.example.test/webhooks/sms/acme?kitb=2&kita=1): verify() raised SignatureError")),
    "TestSortsUrlQuery": ("t.SortsUrlQuery", {"signature.one_change", "signature.published_scheme"},
                          ("signature.one_change", "with the URL it was signed for with its query parameters "
                           "in reverse order: verify() accepted it")),
    "TestSignsUrlOnly": ("t.SignsUrlOnly", {"signature.one_change", "signature.published_scheme"},
                         ("signature.one_change", "with a parameter added: verify() accepted it")),
    "TestSignsRawBody": ("t.SignsRawBody", {"signature.one_change", "signature.published_scheme"},
                         ("signature.one_change", "with its parameters in reverse order: verify() refused it, "
                          "but the twilio scheme gives the same signature (it signs the decoded parameters)")),
}


def test_url_and_form_defects_of_a_twilio_copy_fail_and_the_real_plugin_passes(pytester):
    body = "\nclass TestReal(Base):\n    pass\n\nclass TestOwnSigner(Base):\n    adapter = t._OwnSigner\n"
    for cls, (adapter, _, _) in DEFECTS.items():
        body += f"\nclass {cls}(Base):\n    adapter = {adapter}\n"
    result, suites = run(pytester, body, "-k", SELECT, header=SMS)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for good in ("TestReal", "TestOwnSigner"):
        assert failed_rules(suites[good]) == set(), good
        passed = {r["id"] for r in suites[good]["rules"] if r["status"] == "passed"}
        assert {"signature.one_change", "signature.published_scheme"} <= passed, good
    for cls, (_, expected, (rule_id, phrase)) in DEFECTS.items():
        suite = suites[cls]
        assert failed_rules(suite) == expected, (cls, failed_rules(suite))
        message = rule(suite, rule_id)["reason"]
        assert message.startswith(f"[{rule_id}]") and phrase in message, (cls, message)
