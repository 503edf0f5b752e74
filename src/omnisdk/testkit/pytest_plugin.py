"""The kit's pytest plugin (opt-in; no ``pytest11`` entry point).  Enable it in the top-level
``conftest.py`` of a plugin's tests::

    pytest_plugins = ["omnisdk.testkit.pytest_plugin"]

or with ``-p omnisdk.testkit.pytest_plugin`` (pytest refuses ``pytest_plugins`` in a conftest
below the rootdir, e.g. a monorepo's ``plugins/<name>/tests/conftest.py``).

What it does, for every collected subclass of a kit suite:

- **no silent opt-outs** — a suite whose declaration has problems (an override without
  ``@testkit.override(reason=...)``, ``skip_rule`` without a reason or for an unknown rule, a
  raw pytest skip/xfail mark, an unknown tier or capability) is a collection error naming each
  problem, so the run fails;
- **tiers** — rules above the declared tier run as ``xfail`` (informational); opted-out and
  not-applicable rules are skipped with their reason;
- **report** — a summary per suite at the end (declared tier, tier reached, what blocks it);
  the run fails when a mandatory rule was opted out or skipped, even if no test failed;
  ``--omnisdk-report=PATH`` writes the full report as JSON (``omnisdk certify`` reads it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omnisdk.testkit.base_suite import ContractSuite
from omnisdk.testkit.report import SuiteRecord, blocking, headline


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("omnisdk-testkit", "omnisdk plugin test kit")
    group.addoption("--omnisdk-report", metavar="PATH", default=None,
                    help="write the test kit's certification report (JSON) to PATH")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(KitSession(config), "omnisdk-testkit-session")


class InvalidSuite(pytest.Class):
    """A suite class whose declaration is refused: collecting it is an error."""

    problems: list[str] = []

    def collect(self) -> Any:
        lines = "\n  - ".join(self.problems)
        raise self.CollectError(f"omnisdk testkit: {self.name} cannot run:\n  - {lines}")


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: Any) -> Any:
    res = yield
    if isinstance(res, pytest.Class) and isinstance(obj, type) and issubclass(obj, ContractSuite):
        problems = obj.declaration_problems()
        if problems:
            node = InvalidSuite.from_parent(collector, name=name, obj=obj)
            node.problems = problems
            return node
    return res


def _rule_of(item: pytest.Item) -> tuple[type[ContractSuite], Any, pytest.Class] | None:
    """(suite class, rule, suite node) of a standard test item, else None."""
    cls = getattr(item, "cls", None)
    if not (isinstance(cls, type) and issubclass(cls, ContractSuite)):
        return None
    rule = cls.rule_for(getattr(item, "originalname", item.name))
    suite = item.getparent(pytest.Class)
    if rule is None or suite is None:
        return None
    return cls, rule, suite


class KitSession:
    """Per-run state: which test checks which rule of which suite, and the outcomes."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.suites: dict[str, SuiteRecord] = {}
        self.items: dict[str, tuple[str, str]] = {}
        self.messages: dict[str, str] = {}
        self.results: list[dict[str, Any]] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            found = _rule_of(item)
            if found is None:
                continue
            cls, rule, _suite = found
            how = cls.rule_state(rule)
            if how.kind in ("opted_out", "not_applicable"):
                item.add_marker(pytest.mark.skip(reason=how.reason))
            elif how.kind == "informational":
                item.add_marker(pytest.mark.xfail(reason=how.reason, strict=False))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:  # after deselection: only what will run is reported
            found = _rule_of(item)
            if found is None:
                continue
            cls, rule, suite = found
            record = self.suites.setdefault(suite.nodeid, SuiteRecord(cls, suite.nodeid))
            self.items[item.nodeid] = (suite.nodeid, rule.id)
            record.expect(rule.id, item.nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
        report = yield
        if item.nodeid in self.items and call.excinfo is not None:
            exc = call.excinfo.value
            if isinstance(exc, (pytest.fail.Exception, pytest.skip.Exception)):
                message = str(exc.msg)
            else:
                message = call.excinfo.exconly()
            self.messages.setdefault(item.nodeid, message[:2000])
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.items or (report.when != "call" and report.passed):
            return
        if hasattr(report, "wasxfail"):
            outcome = "xpassed" if report.passed else "xfailed"
        else:
            outcome = report.outcome
        message = self.messages.get(report.nodeid)
        if outcome == "skipped" and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2]).removeprefix("Skipped: ")
        suite, rule_id = self.items[report.nodeid]
        self.suites[suite].add(rule_id, report.nodeid, outcome, message)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.results = [record.result() for record in self.suites.values()]
        path = self.config.getoption("omnisdk_report")
        if path:
            Path(path).write_text(json.dumps({"suites": self.results}, indent=2), encoding="utf-8")
        if session.exitstatus == pytest.ExitCode.OK and any(blocking(r) for r in self.results):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.results:
            return
        terminalreporter.section("omnisdk testkit")
        for r in self.results:
            reached = r["tier_reached"] or "none"
            mark = "reached" if r["declared_reached"] else "NOT reached"
            who = r.get("adapter") or r["kind"]
            terminalreporter.write_line(
                f"{r['suite']} ({who}): declared {r['declared_tier']} {mark}; tier reached: {reached}")
            for rule in blocking(r):
                terminalreporter.write_line(
                    f"  {rule['status']}: {rule['id']} ({rule['tier']}): {headline(rule['reason'])}")
            not_run = [x["id"] for x in r["rules"] if x["status"] == "not_run"]
            if not_run:
                terminalreporter.write_line(f"  not run (partial run): {', '.join(not_run)}")
