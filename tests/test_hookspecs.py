"""Every hook specification has a PluginHost method of its name, a test that calls it, and a
row in docs/plugin-contract.md's generated hook table (kept in step with hookspecs.py)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from omnisdk import hookspecs
from omnisdk.catalog import hook_specs, hooks_block, render_hooks
from omnisdk.plugins import PluginHost

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "plugin-contract.md"
HOOKS = [name for name, _ in hook_specs()]
FACADE_SIGNATURES = {
    # hook: the facade's parameters where they differ from the spec's
    "omnisdk_event": ["events"],  # a batch, oldest first
}


def test_the_specs_are_found_and_each_has_a_kind():
    assert len(HOOKS) == 12 and all(h.startswith("omnisdk_") for h in HOOKS)
    assert hookspecs.OBSERVER_HOOKS <= set(HOOKS)
    for name in hookspecs.OBSERVER_HOOKS:
        assert not getattr(hookspecs, name).omnisdk_spec.get("firstresult"), name


def test_every_hook_has_a_facade_method_of_its_name_and_arguments():
    for name, spec in hook_specs():
        method = getattr(PluginHost, name, None)
        assert callable(method), f"PluginHost has no method {name}"
        params = list(inspect.signature(method).parameters)[1:]
        assert params == FACADE_SIGNATURES.get(name, list(inspect.signature(spec).parameters)), name
        assert method.__doc__, name


def _called_in_tests() -> dict[str, list[str]]:
    """Hook name → the test functions that call ``<something>.<hook>(…)`` (not ``pm.hook``)."""
    calls: dict[str, list[str]] = {}
    files = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("plugins/*/tests/**/*.py")]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not (isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name.startswith("test_")):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Call):
                    func = node.func
                    if isinstance(func, ast.Attribute) and func.attr in HOOKS:
                        receiver = func.value
                        if not (isinstance(receiver, ast.Attribute) and receiver.attr == "hook"):
                            calls.setdefault(func.attr, []).append(f"{path.name}::{fn.name}")
    return calls


def test_every_hook_facade_is_called_by_a_test():
    calls = _called_in_tests()
    missing = [h for h in HOOKS if not calls.get(h)]
    assert missing == [], f"no test calls PluginHost.<hook> for {missing}"


def test_every_hook_has_a_row_in_the_docs_and_the_table_is_generated():
    block = hooks_block(DOC.read_text(encoding="utf-8"))
    assert block == render_hooks(), "run: python -m omnisdk.catalog hooks docs/plugin-contract.md"
    rows = [line for line in block.splitlines() if line.startswith("| `omnisdk_")]
    assert [row.split("`")[1].split("(")[0] for row in rows] == HOOKS
