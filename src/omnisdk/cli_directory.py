"""``omnisdk import directory FILE``: the user directory messaging profiles link numbers to
(:mod:`omnisdk.profiles.directory_file` for the CSV and JSON formats), into the configured
store.  Users are inserted or replaced by id; users absent from the file are kept.

Exit codes: 0 imported; 2 a file that cannot be read or breaks the format (one line naming the
row; nothing is kept); 4 configuration or store error.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, NoReturn, Optional

import typer
from rich.console import Console

from omnisdk.config import load_settings
from omnisdk.errors import ConfigError
from omnisdk.profiles.directory_file import DirectoryFileError, read_directory
from omnisdk.store import StoreError, open_store

err = Console(stderr=True, soft_wrap=True, highlight=False)
out = Console()


def _fail(message: str, code: int) -> NoReturn:
    err.print(message, markup=False)
    raise typer.Exit(code)


def import_directory(
    path: Annotated[Path, typer.Argument(help="A .csv or .json file of users: id, name, phones, emails.")],
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="TOML configuration file.")] = None,
    region: Annotated[Optional[str], typer.Option(
        help="ISO 3166-1 country (US, GB …) of phone numbers written without a country code.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")] = False,
) -> None:
    """Import the user directory (CSV or JSON: id, name, phones, emails): phones are stored in
    E.164; an inbound SMS from one of them is matched to that user (docs/sms.md)."""
    try:
        users = read_directory(path, region=region)
    except (OSError, DirectoryFileError) as exc:
        _fail(f"cannot import {path}: {exc}", 2)
    try:
        settings = load_settings(config)
        store = open_store(settings.store.url, inbox_url=settings.store.inbox_url)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", 4)

    async def run() -> int:
        await store.open()
        try:
            return await store.transact(lambda tx: tx.save_directory_users(users))
        finally:
            await store.close()

    try:
        saved = asyncio.run(run())
    except (StoreError, OSError) as exc:
        _fail(f"cannot use the store {store.location or 'configured'}: {exc}", 4)
    phones = sum(len(u.phones) for u in users)
    if as_json:
        print(json.dumps({"users": saved, "phones": phones, "emails": sum(len(u.emails) for u in users)}))
        return
    out.print(f"imported {saved} users ({phones} phone numbers)", markup=False)


__all__ = ["import_directory"]
