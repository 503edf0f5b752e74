"""The kit's commands, registered in :mod:`omnisdk.cli`: ``omnisdk certify`` and
``omnisdk new-plugin``.  Importing this module imports neither pytest nor hypothesis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from omnisdk.testkit.scaffold import ScaffoldError, scaffold

_err = Console(stderr=True)
_out = Console()


def certify(
    plugin: Annotated[str, typer.Argument(help="Installed plugin name (entry point), or module:SuiteClass.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON report.")] = False,
) -> None:
    """Run the plugin test kit against a plugin; print the tier reached and every rule.

    Exit 0 when every suite reaches its declared tier, 1 when not (or the kit could not run),
    4 when the plugin is not installed.
    """
    from omnisdk.testkit.certify.run import CertifyError, render_text, run_certification

    try:
        outcome = run_certification(plugin)
    except LookupError as exc:
        _err.print(f"[red]{exc}[/red]")
        raise typer.Exit(4) from None
    except ImportError as exc:
        _err.print(f"[red]cannot import the suite: {exc}[/red] (is omnisdk[testkit] installed?)")
        raise typer.Exit(1) from None
    except CertifyError as exc:
        _err.print(f"[red]certification could not run:[/red] {exc}")
        raise typer.Exit(1) from None
    if as_json:
        print(json.dumps(outcome, indent=2))
    else:
        render_text(outcome, _out)
    raise typer.Exit(0 if outcome["passed"] else 1)


def new_plugin(
    name: Annotated[str, typer.Argument(help="Plugin name: lower-case letters, digits, underscores.")],
    directory: Annotated[Path, typer.Option("--dir", help="Parent folder of the new plugin.")] = Path("plugins"),
) -> None:
    """Scaffold plugins/NAME: pyproject, adapter skeleton, one recording, a bronze test suite.

    Exit 2 for an invalid name or an existing folder.
    """
    try:
        root = scaffold(name, directory)
    except ScaffoldError as exc:
        _err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    _out.print(f"created {root}", markup=False)
    _out.print(f"next: pip install -e '{root}[test]' && pytest {root / 'tests'} && omnisdk certify {name}",
               markup=False, soft_wrap=True)
