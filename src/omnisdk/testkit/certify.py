"""``omnisdk certify PLUGIN``: find a plugin's suite, run it with pytest, report the tier.

**Where the suite comes from** (first match):

1. ``PLUGIN`` written ``module:Class`` names a suite class directly;
2. the installed plugin (entry point ``PLUGIN`` in the group ``omnisdk``) ships a module
   ``<its package>.certification`` (e.g. ``omnisdk_whatsapp.certification``); its suite is
   the attribute ``Suite`` if there is one, else every kit suite subclass defined in it;
3. otherwise a **default suite** per adapter class of the plugin, of the adapter's kind
   (:class:`ChannelAdapterSuite`; :class:`CCaaSConnectorSuite` for a
   :class:`~omnisdk.connectors.CCaaSConnector`; :class:`CTIConnectorSuite` for a
   :class:`~omnisdk.connectors.CTIConnector`): tier bronze, capabilities inferred
   (``inbound``; ``handshake`` if ``handshake()`` is implemented; channels: ``send_text`` if
   ``send()`` is, ``statuses`` if a recording parses to a status; CTI: ``place_call`` if
   ``dial()`` is).

**How it runs**: pytest in a subprocess, on a generated test module that subclasses each
suite, with the kit's plugin and ``--omnisdk-report``; nothing of the current directory's
pytest configuration applies.  The result is the report of :mod:`omnisdk.testkit.report`
plus ``plugin``, ``origin`` and ``passed`` (every suite reached its declared tier).
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from omnisdk.testkit.base_suite import ContractSuite


class CertifyError(Exception):
    """The kit could not run (the suite does not import, pytest produced no report …)."""


@dataclass
class FoundSuites:
    """The suites to run for a plugin and where they came from."""

    plugin: str
    origin: str
    suites: list[type[ContractSuite]]


def _suites_in(module: Any) -> list[type[ContractSuite]]:
    chosen = getattr(module, "Suite", None)
    if isinstance(chosen, type) and issubclass(chosen, ContractSuite):
        return [chosen]
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, ContractSuite) and v.__module__ == module.__name__]
    return sorted(found, key=lambda c: c.__name__)


def default_suite(adapter_cls: type) -> type[ContractSuite]:
    """A bronze suite of the adapter's kind for ``adapter_cls``, with inferred capabilities."""
    from omnisdk.adapters import ChannelAdapter
    from omnisdk.connectors import CCaaSConnector, CTIConnector
    from omnisdk.events import TYPE_MESSAGE_STATUS
    from omnisdk.testkit.channel_suite import ChannelAdapterSuite

    caps = {"inbound"}
    if adapter_cls.handshake is not ChannelAdapter.handshake:
        caps.add("handshake")
    if issubclass(adapter_cls, (CCaaSConnector, CTIConnector)):
        from omnisdk.testkit.ccaas_suite import CCaaSConnectorSuite
        from omnisdk.testkit.cti_suite import CTIConnectorSuite

        base: type[ContractSuite] = CCaaSConnectorSuite
        if issubclass(adapter_cls, CTIConnector):
            base = CTIConnectorSuite
            if adapter_cls.dial is not CTIConnector.dial:
                caps.add("place_call")
        return type(f"Default{adapter_cls.__name__}Suite", (base,),
                    {"connector": adapter_cls, "capabilities": frozenset(caps), "tier": "bronze",
                     "__module__": __name__})
    if adapter_cls.send is not ChannelAdapter.send:
        caps.add("send_text")
    suite = type(f"Default{adapter_cls.__name__}Suite", (ChannelAdapterSuite,),
                 {"adapter": adapter_cls, "capabilities": frozenset(caps), "tier": "bronze",
                  "__module__": __name__})
    fx = suite.fixture()
    for rec in fx.recordings:
        try:
            if any(e.type == TYPE_MESSAGE_STATUS for e in fx.parsed(rec)):
                suite.capabilities = frozenset(caps | {"statuses"})
                break
        except Exception:
            continue
    return suite


def find_suites(plugin: str) -> FoundSuites:
    """The suites of ``plugin`` (see the module docstring for the order).

    Raises:
        LookupError: no such installed plugin, or ``module:Class`` is not a kit suite.
        ImportError: the suite's module does not import (e.g. the testkit extra is missing).
    """
    if ":" in plugin:
        modname, _, attr = plugin.partition(":")
        obj = getattr(importlib.import_module(modname), attr, None)
        if not (isinstance(obj, type) and issubclass(obj, ContractSuite)):
            raise LookupError(f"{plugin} is not a test kit suite class")
        return FoundSuites(plugin, plugin, [obj])
    eps = [ep for ep in metadata.entry_points(group="omnisdk") if ep.name == plugin]
    if not eps:
        names = sorted(ep.name for ep in metadata.entry_points(group="omnisdk"))
        raise LookupError(f"no installed plugin {plugin!r} (installed: {', '.join(names) or 'none'})")
    ep = eps[0]
    package = ep.module.rsplit(".", 1)[0] if "." in ep.module else ep.module
    certification = f"{package}.certification"
    try:
        module = importlib.import_module(certification)
    except ModuleNotFoundError as exc:
        if exc.name != certification:
            raise
    else:
        suites = _suites_in(module)
        if suites:
            return FoundSuites(plugin, certification, suites)
    from omnisdk.adapters import ChannelAdapter

    adapters = [c for result in [getattr(ep.load(), "omnisdk_adapters", lambda: [])()]
                for c in (result or ()) if isinstance(c, type) and issubclass(c, ChannelAdapter)]
    if not adapters:
        raise LookupError(f"plugin {plugin!r} has no certification module and provides no adapter")
    return FoundSuites(plugin, "default suite (no certification module)", [default_suite(c) for c in adapters])


_TEST_MODULE = '''\
"""Generated by omnisdk certify."""
from omnisdk.testkit.certify import find_suites as _find

_SUITES = _find({plugin!r}).suites
'''


def run_certification(plugin: str) -> dict[str, Any]:
    """Run the kit against ``plugin`` and return the report (see the module docstring).

    Raises:
        LookupError, ImportError: from :func:`find_suites`.
        CertifyError: pytest ran but produced no usable report (its output is in the message).
    """
    found = find_suites(plugin)
    with tempfile.TemporaryDirectory(prefix="omnisdk-certify-") as tmp:
        d = Path(tmp)
        lines = [_TEST_MODULE.format(plugin=plugin)]
        names: dict[str, str] = {}
        for i, suite in enumerate(found.suites):
            generated = f"Test{i}{suite.__name__.removeprefix('Test')}"
            names[generated] = f"{suite.__module__}.{suite.__qualname__}"
            lines.append(f"\n\nclass {generated}(_SUITES[{i}]):\n    pass\n")
        test_file = d / "test_omnisdk_certification.py"
        test_file.write_text("".join(lines), encoding="utf-8")
        (d / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        report = d / "report.json"
        cmd = [sys.executable, "-m", "pytest", str(test_file), "-c", str(d / "pytest.ini"),
               "--rootdir", str(d), "-p", "omnisdk.testkit.pytest_plugin", "-p", "no:cacheprovider",
               "-p", "no:asyncio", "-q", "--no-header", f"--omnisdk-report={report}"]
        env = dict(os.environ)
        inherited = [str(Path(p).resolve()) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *inherited])  # absolute: pytest runs in tmp
        env.pop("PYTEST_ADDOPTS", None)
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=d, env=env, check=False)
        if not report.exists():
            raise CertifyError(f"pytest exited {proc.returncode} without a report:\n{_tail(proc)}")
        doc = json.loads(report.read_text(encoding="utf-8"))
    suites = doc.get("suites") or []
    if not suites:
        raise CertifyError(f"pytest exited {proc.returncode} and certified nothing:\n{_tail(proc)}")
    for s in suites:
        generated = s["suite"].split("::")[-1]
        s["suite"] = names.get(generated, generated)
    return {
        "plugin": plugin,
        "origin": found.origin,
        "passed": all(s["declared_reached"] for s in suites) and proc.returncode in (0, 1),
        "pytest_exit_code": proc.returncode,
        "suites": suites,
    }


def _tail(proc: subprocess.CompletedProcess[str], lines: int = 40) -> str:
    text = (proc.stdout or "") + (proc.stderr or "")
    return "\n".join(text.strip().splitlines()[-lines:])


def render_text(outcome: dict[str, Any], console: Any) -> None:
    """Print the report for humans on a rich console."""
    from rich.markup import escape
    from rich.table import Table

    from omnisdk.testkit.report import headline

    console.print(f"[bold]{escape(outcome['plugin'])}[/bold] — suite from {escape(outcome['origin'])}")
    for s in outcome["suites"]:
        ok = "[green]reached[/green]" if s["declared_reached"] else "[red]NOT reached[/red]"
        kind = "adapter" if s.get("kind") == "channel" else f"{s.get('kind')} connector"
        console.print(f"{escape(s['suite'])} ({kind} {s.get('adapter')}, capabilities "
                      f"{', '.join(s['capabilities']) or 'none'}): declared tier {s['declared_tier']} "
                      f"{ok}; tier reached: [bold]{s['tier_reached'] or 'none'}[/bold]")
        table = Table("rule", "tier", "result", "detail")
        for r in s["rules"]:
            colour = {"passed": "green", "failed": "red", "skipped": "yellow"}.get(r["status"], "dim")
            status = r["status"] + ("" if r["mandatory"] or r["status"] == "not_applicable" else " (info)")
            text = headline(r["reason"], 110)
            if r["overridden"]:
                text = (text + " " if text else "") + "overridden: " + "; ".join(
                    str(v) for v in r["overridden"].values())
            table.add_row(r["id"], r["tier"], f"[{colour}]{status}[/{colour}]", escape(text))
        console.print(table)
