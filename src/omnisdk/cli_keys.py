"""``omnisdk keys``: create, list and revoke API keys of the agent API, in the configured store.

``create`` prints the key alone on stdout (``KEY=$(omnisdk keys create …)``), once; the store
keeps only its argon2 hash.  A gateway running on the same store sees a new key at once and
stops accepting a revoked one within ``[api] key_cache_seconds``.

Exit codes: 0 ok; 1 no such key (``revoke``); 2 bad usage (a role without its agent, a scope
the role does not grant); 4 configuration or store error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Role
from omnisdk.config import load_settings
from omnisdk.errors import ConfigError
from omnisdk.events import now_rfc3339
from omnisdk.store import StoreError, open_store

T = TypeVar("T")

keys_app = typer.Typer(no_args_is_help=True, help="API keys of the agent API: create, list, revoke.")
err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console()

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML configuration file.")]


def _fail(message: str, code: int) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(code)


def _in_store(config: Path | None, fn: Callable[[Any], T]) -> T:
    """``fn(tx)`` in one transaction of the configured store (opened, migrated, closed)."""
    try:
        settings = load_settings(config)
        store = open_store(settings.store.url, inbox_url=settings.store.inbox_url)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", 4)

    async def run() -> T:
        await store.open()
        try:
            return await store.transact(fn)
        finally:
            await store.close()

    try:
        return asyncio.run(run())
    except (StoreError, OSError) as exc:
        _fail(f"cannot use the store {store.location or 'configured'}: {exc}", 4)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="What the key is for (crm-sync, ci …).")],
    role: Annotated[Role, typer.Option(help="agent, supervisor or admin.")],
    agent: Annotated[Optional[str], typer.Option(help="The agent it acts as (required for --role agent).")] = None,
    queue: Annotated[Optional[list[str]], typer.Option("--queue", help="A supervisor key's queue (repeatable; none: every queue).")] = None,
    scope: Annotated[Optional[list[str]], typer.Option("--scope", help="Fewer scopes than the role's (repeatable).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Make a key and print it once on stdout (its id and role go to stderr)."""
    try:
        key, row = new_api_key(name=name, role=role, agent=agent, created_at=now_rfc3339(),
                               queues=tuple(queue) if queue else None, scopes=frozenset(scope) if scope else None)
    except ValueError as exc:
        _fail(str(exc), 2)
    _in_store(config, lambda tx: tx.save_api_key(row))
    err.print(f"key {row.id} ({row.role}{', agent ' + row.agent if row.agent else ''}) created; "
              "it is shown once:", markup=False)
    print(key)


@keys_app.command("list")
def list_keys(config: ConfigOpt = None,
              as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")] = False) -> None:
    """Every key (id, name, role, agent, queues, created, revoked); never a key or its hash."""
    rows = _in_store(config, lambda tx: tx.list_api_keys())
    docs = []
    for r in rows:
        doc = asdict(r)
        doc.pop("secret_hash")
        docs.append(doc)
    if as_json:
        print(json.dumps(docs, indent=2))
        return
    table = Table("id", "name", "role", "agent", "queues", "created", "revoked")
    for d in docs:
        table.add_row(d["id"], d["name"], d["role"], d["agent"] or "-",
                      ", ".join(d["queues"]) if d["queues"] is not None else "all", d["created_at"],
                      d["revoked_at"] or "-")
    out.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (omnisdk keys list).")],
           config: ConfigOpt = None) -> None:
    """Revoke a key: it authenticates no more."""
    at = now_rfc3339()
    if not _in_store(config, lambda tx: tx.revoke_api_key(key_id, at)):
        _fail(f"no active key {key_id}", 1)
    out.print(f"key {key_id} revoked", markup=False)


__all__ = ["keys_app"]
