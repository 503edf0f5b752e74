"""``omnisdk certify``: the in-tree plugins reach their declared tiers; a defect is reported."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kit_sample import GoodAdapter
from rich.console import Console
from typer.testing import CliRunner

from omnisdk.cli import app
from omnisdk.testkit.certify.discovery import default_suite, find_suites
from omnisdk.testkit.certify.run import render_text, run_certification

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def runs() -> dict:
    """Four certifications, each a pytest subprocess: whatsapp, the defect and the sample CCaaS
    connector in threads while ``omnisdk certify sms --json`` runs through the CLI."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
        with ThreadPoolExecutor(3) as pool:
            whatsapp = pool.submit(run_certification, "whatsapp")
            leaky = pool.submit(run_certification, "kit_certification:LeakySuite")
            ccaas = pool.submit(run_certification, "kit_certification:ConnectorSuite")
            sms = CliRunner().invoke(app, ["certify", "sms", "--json"])
            return {"sms": sms, "whatsapp": whatsapp.result(), "leaky": leaky.result(), "ccaas": ccaas.result()}


def _check_gold(doc: dict, plugin: str) -> None:
    assert doc["passed"] and doc["origin"] == f"omnisdk_{plugin}.certification"
    (suite,) = doc["suites"]
    assert suite["declared_tier"] == suite["tier_reached"] == "gold"
    assert all(r["status"] in ("passed", "not_applicable") for r in suite["rules"])


def test_certify_sms_passes_at_its_declared_tier(runs):
    result = runs["sms"]
    assert result.exit_code == 0, result.output
    _check_gold(json.loads(result.stdout), "sms")


def test_certify_whatsapp_passes_at_its_declared_tier(runs):
    _check_gold(runs["whatsapp"], "whatsapp")


def test_a_defect_misses_the_tier_and_the_report_names_the_rule(runs):
    doc = runs["leaky"]
    assert not doc["passed"] and doc["pytest_exit_code"] == 1
    (suite,) = doc["suites"]
    assert suite["suite"] == "kit_certification.LeakySuite" and suite["tier_reached"] is None
    leaked = next(r for r in suite["rules"] if r["id"] == "secrets.redacted")
    assert leaked["status"] == "failed" and leaked["mandatory"] and "the log" in leaked["reason"]
    console = Console(record=True, width=200)
    render_text(doc, console)
    text = console.export_text()
    assert "declared tier bronze NOT reached; tier reached: none" in text
    assert "secrets.redacted" in text and "[secrets.redacted] the value of a secret" in text


def test_certify_runs_a_connector_suite(runs):
    doc = runs["ccaas"]
    assert doc["passed"] and doc["pytest_exit_code"] == 0, doc
    (suite,) = doc["suites"]
    assert suite["suite"] == "kit_certification.ConnectorSuite"
    assert (suite["kind"], suite["adapter"], suite["declared_tier"]) == ("ccaas", "kitcc", "silver")
    assert suite["tier_reached"] == "gold"  # the sample also keeps the gold rules
    disconnect = next(r for r in suite["rules"] if r["id"] == "ccaas.disconnect")
    assert (disconnect["status"], disconnect["mandatory"]) == ("passed", True)
    console = Console(record=True, width=200)
    render_text(doc, console)
    assert "(ccaas connector kitcc, capabilities inbound)" in console.export_text()


def test_an_unknown_plugin_exits_4():
    result = CliRunner().invoke(app, ["certify", "no_such_plugin"])
    assert result.exit_code == 4 and "no installed plugin 'no_such_plugin'" in result.output


def test_suites_are_found_by_convention_or_built_by_default():
    found = find_suites("sms")
    assert found.origin == "omnisdk_sms.certification" and found.suites[0].tier == "gold"
    suite = default_suite(GoodAdapter)
    assert suite.tier == "bronze" and suite.adapter is GoodAdapter
    assert set(suite.capabilities) == {"inbound", "send_text", "statuses"}
    with pytest.raises(LookupError):
        find_suites("omnisdk.testkit.tiers:Tier")
