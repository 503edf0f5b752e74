"""Runs a suite module of the kit's self-tests with pytester and reads the kit's JSON report.

``HEADER`` defines ``Base``, the declaration of the sample adapters (:mod:`kit_sample`) that
every self-test suite starts from: gold, every capability the sample has, and the sample's
declarations for the rules that need one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
CONFTEST = 'pytest_plugins = ["omnisdk.testkit.pytest_plugin"]\n'
HEADER = """
from omnisdk import testkit
from omnisdk.testkit import ChannelAdapterSuite
import kit_sample


class Base(ChannelAdapterSuite):
    capabilities = {"inbound", "statuses", "send_text", "send_media", "batches"}
    tier = "gold"
    fuzz_examples = 20
    signing_secrets = ("secret",)
    dispatch_fields = {"status word": ("statuses", "*", "status")}
    batch_path = [("statuses",)]  # the kit records one message, four statuses
    # POST /messages {"to", "text", "media": [url, ...]}; the made-up API has no caption, no
    # reply reference, no media ids and no file names.
    outbound_mapping = {"to": ("to",), "text": ("text",), "media.url": ("media", "*"),
                        "media.caption": None, "reply_to": None, "media.id": None, "media.filename": None}
    credential_header = "authorization"
"""


def run(pytester: pytest.Pytester, body: str, *args: str, plugin: bool = True,
        header: str = HEADER) -> tuple[Any, dict]:
    """Run a suite module in-process; return the result and the kit's JSON report by suite."""
    if plugin:
        pytester.makeconftest(CONFTEST)
    pytester.syspathinsert(HERE)
    pytester.makepyfile(test_suite=header + body)
    report = pytester.path / "report.json"
    options = [f"--omnisdk-report={report}"] if plugin else []
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:asyncio", *options, *args)
    suites = {}
    if report.exists():
        suites = {s["suite"].split("::")[-1]: s for s in json.loads(report.read_text())["suites"]}
    return result, suites


def failed_rules(suite: dict) -> set[str]:
    """The ids of the suite's failed rules."""
    return {r["id"] for r in suite["rules"] if r["status"] == "failed"}


def rule(suite: dict, rule_id: str) -> dict:
    """The report entry of one rule."""
    return next(r for r in suite["rules"] if r["id"] == rule_id)
