"""The connector suites test themselves with pytester: the correct sample CCaaS and CTI
connectors pass gold; each seeded defect fails with the rule that names it (and only that one).
``omnisdk certify`` of a connector suite is in test_certify.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import connector_sample
import pytest

from omnisdk.testkit import CCaaSConnectorSuite, CTIConnectorSuite
from omnisdk.testkit.certify.discovery import default_suite

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent
HEADER = """
import connector_sample as cs
from omnisdk.testkit import CCaaSConnectorSuite, CTIConnectorSuite


class CC(CCaaSConnectorSuite):
    tier = "gold"
    fuzz_examples = 10
    signing_secrets = ("webhook_secret",)  # client_secret is the OAuth client's


class Voice(CTIConnectorSuite):
    capabilities = {"inbound", "place_call"}
    tier = "gold"
    fuzz_examples = 10
    signing_secrets = ("secret",)  # api_key authenticates dial()


class VoiceClaimsLine(Voice):
    signature_scheme = "line"  # Kit Voice signs hex HMAC-SHA256, not LINE's base64 X-Line-Signature
"""

DEFECTS = {
    # suite class: (base, connector, the one rule it must fail, a phrase of the failure message)
    "TestNoTokenRefresh": ("CC", "NoTokenRefresh", "ccaas.token_refresh",
                           "a 401 was not followed by a new token (token endpoint hit 1 time(s)"),
    "TestTransfersToUnmappedQueue": ("CC", "TransfersToUnmappedQueue", "ccaas.transfer_mapped",
                                     "transfer to the unmapped queue 'testkit-unmapped-queue' returned instead of "
                                     "raising MappingError"),
    "TestWrongWrapUpCode": ("CC", "WrongWrapUpCode", "ccaas.wrap_up_mapped",
                            "wrap_up('Task created') did not send the mapped code 'wu-task-created'; it sent our "
                            "own code 'Task created'"),
    "TestNoDisconnect": ("CC", "NoDisconnect", "ccaas.disconnect",
                         "disconnect() made no call labelled disconnect"),
    "TestNoRelease": ("CC", "NoRelease", "ccaas.capacity_released", "none labelled release"),
    "TestAcceptsRingingToHeld": ("Voice", "AcceptsRingingToHeld", "cti.illegal_refused",
                                 "accepted 1 illegal transition(s)"),
    "TestNationalNumbers": ("Voice", "NationalNumbers", "cti.call_shape",
                            "the to number '+15550100002' (E.164) is not in the request (phone-like values in it: "
                            "['15550100002'"),
    "TestCCSignsBodyAndNewline": ("CC", "SignsBodyAndNewline", "signature.provider_vectors",
                                  "kit_cc_ping (made up for the kit's self-tests"),
    "TestVoiceSignsUrlAndBody": ("Voice", "SignsUrlAndBody", "signature.provider_vectors",
                                 "kit_voice_ringing (made up for the kit's self-tests"),
    "TestVoiceClaimsLine": ("VoiceClaimsLine", "KitVoice", "signature.published_scheme",
                            "the provider signs with line: X-Line-Signature = base64 HMAC-SHA256"),
}


def run(pytester: pytest.Pytester, body: str, *args: str) -> tuple[Any, dict]:
    pytester.makeconftest('pytest_plugins = ["omnisdk.testkit.pytest_plugin"]\n')
    pytester.syspathinsert(HERE)
    pytester.makepyfile(test_suite=HEADER + body)
    report = pytester.path / "report.json"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio",
                                          f"--omnisdk-report={report}", *args)
    suites = {s["suite"].split("::")[-1]: s for s in json.loads(report.read_text())["suites"]} if report.exists() else {}
    return result, suites


def failed_rules(suite: dict) -> set[str]:
    return {r["id"] for r in suite["rules"] if r["status"] == "failed"}


def test_correct_connectors_pass_and_each_seeded_defect_fails_its_rule(pytester):
    body = "\nclass TestKitCC(CC):\n    connector = cs.KitCC\n\nclass TestKitVoice(Voice):\n    connector = cs.KitVoice\n"
    for cls, (base, connector, _, _) in DEFECTS.items():
        body += f"\nclass {cls}({base}):\n    connector = cs.{connector}\n"
    result, suites = run(pytester, body)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    for good in ("TestKitCC", "TestKitVoice"):
        suite = suites[good]
        assert failed_rules(suite) == set(), (good, [r for r in suite["rules"] if r["status"] == "failed"])
        assert (suite["tier_reached"], suite["declared_reached"]) == ("gold", True)
        assert all(r["status"] in ("passed", "not_applicable") for r in suite["rules"])
    for good in ("TestKitCC", "TestKitVoice"):  # the channel suite's vector rules, on connectors too
        rules = {r["id"]: r for r in suites[good]["rules"]}
        assert rules["signature.provider_vectors"]["status"] == "passed"
        assert rules["signature.published_scheme"]["status"] == "not_applicable"
        assert "no published scheme declared" in rules["signature.published_scheme"]["reason"]
    assert {r["id"] for r in suites["TestKitCC"]["rules"] if r["id"].startswith("ccaas.")} == {
        "ccaas.declaration", "ccaas.token_refresh", "ccaas.transfer_mapped", "ccaas.wrap_up_mapped",
        "ccaas.capacity_released", "ccaas.route", "ccaas.disconnect", "ccaas.token_cached"}
    result.stdout.fnmatch_lines(["*TestKitCC (kitcc): declared gold reached; tier reached: gold",
                                 "*TestKitVoice (kitvoice): declared gold reached; tier reached: gold"])
    for cls, (_, _, rule_id, phrase) in DEFECTS.items():
        suite = suites[cls]
        assert failed_rules(suite) == {rule_id}, (cls, failed_rules(suite))
        message = next(r for r in suite["rules"] if r["id"] == rule_id)["reason"]
        assert message.startswith(f"[{rule_id}]") and phrase in message, (cls, message)
        tier = next(r for r in suite["rules"] if r["id"] == rule_id)["tier"]
        below = {"bronze": None, "silver": "bronze", "gold": "silver"}[tier]  # the tier under the failed rule's
        assert not suite["declared_reached"] and suite["tier_reached"] == below, (cls, suite["tier_reached"])


def test_a_connector_suite_needs_a_connector_of_its_kind():
    class NoConnector(CCaaSConnectorSuite):
        pass

    class WrongKind(CTIConnectorSuite):
        connector = connector_sample.KitCC
        capabilities = {"inbound", "telepathy"}

    assert "set `connector = YourConnector` (a CCaaSConnector subclass)" in NoConnector.declaration_problems()[0]
    problems = WrongKind.declaration_problems()
    assert "a CTIConnector subclass" in problems[0] and any("telepathy" in p for p in problems)


def test_default_suites_for_connectors_infer_their_kind_and_capabilities():
    cc, voice = default_suite(connector_sample.KitCC), default_suite(connector_sample.KitVoice)
    assert issubclass(cc, CCaaSConnectorSuite) and cc.connector is connector_sample.KitCC
    assert issubclass(voice, CTIConnectorSuite) and set(voice.capabilities) == {"inbound", "place_call"}
    assert cc.tier == voice.tier == "bronze" and cc.declaration_problems() == []
