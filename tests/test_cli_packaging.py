"""Packaging (issue 8, B11): the core sdist ships only the core; the core, each plugin and the
scaffold ship a ``py.typed`` (PEP 561), so type checkers read their annotations.

The distributions are built for real with ``python -m build --no-isolation`` (offline: the
backend, hatchling, must be installed; ``pip install -e '.[dev]'`` installs it with ``build``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from omnisdk.testkit.scaffold import scaffold

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = {"sms": "omnisdk_sms", "whatsapp": "omnisdk_whatsapp", "cti_twilio": "omnisdk_cti_twilio"}


def build(project: Path, kind: str, out: Path) -> Path:
    for module in ("build", "hatchling"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed: the distributions cannot be built offline "
                        "(pip install -e '.[dev]' installs it)")
    proc = subprocess.run([sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(out),
                           str(project)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (dist,) = out.glob("*.tar.gz" if kind == "sdist" else "*.whl")
    return dist


def test_the_core_sdist_ships_only_the_core(tmp_path: Path) -> None:
    sdist = build(ROOT, "sdist", tmp_path)
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    top = {n.split("/")[0] for n in names}
    assert len(top) == 1
    (prefix,) = top
    inside = [n.removeprefix(prefix + "/") for n in names if n != prefix]
    assert {n.split("/")[0] for n in inside} <= {"src", "README.md", "pyproject.toml", "PKG-INFO", ".gitignore"}
    for foreign in ("plugins", "tests", "bench", "docs", "scripts", ".ci"):
        assert not any(n == foreign or n.startswith(foreign + "/") for n in inside), foreign
    assert all(n.startswith("src/omnisdk/") for n in inside if n.startswith("src/"))
    # every module of the core is in it, and its py.typed
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "src/omnisdk").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert modules <= set(inside)
    assert "src/omnisdk/py.typed" in inside


def test_the_core_wheel_ships_py_typed_and_the_scaffolds(tmp_path: Path) -> None:
    with zipfile.ZipFile(build(ROOT, "wheel", tmp_path)) as whl:
        names = set(whl.namelist())
    assert "omnisdk/py.typed" in names
    assert "omnisdk/testkit/scaffold_template/src/omnisdk_{{name}}/py.typed.tmpl" in names
    assert not any(n.startswith(("omnisdk_sms/", "omnisdk_whatsapp/", "tests/")) for n in names)


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_each_plugin_wheel_ships_py_typed(tmp_path: Path, plugin: str) -> None:
    with zipfile.ZipFile(build(ROOT / "plugins" / plugin, "wheel", tmp_path)) as whl:
        names = set(whl.namelist())
    package = PLUGINS[plugin]
    assert f"{package}/py.typed" in names
    assert f"{package}/plugin.py" in names


def test_a_scaffolded_plugin_ships_py_typed(tmp_path: Path) -> None:
    root = scaffold("parrot", tmp_path)
    typed = root / "src" / "omnisdk_parrot" / "py.typed"
    assert typed.is_file() and typed.read_bytes() == b""
    with zipfile.ZipFile(build(root, "wheel", tmp_path / "dist")) as whl:
        assert "omnisdk_parrot/py.typed" in whl.namelist()
