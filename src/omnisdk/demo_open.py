"""``omnisdk demo --open``: after the report, the demo's gateway keeps serving for a person.

What stays up: the agent console at ``/console`` (:mod:`omnisdk.gateway.console`) and, when the
web chat plugin is installed, the sample portal page of the ``portal`` web chat account at
``/chat/portal/`` (its deliveries go to the gateway itself, so the widget shows the agent's
replies).  The demo agent ``alice`` gets a new agent API key, printed once; the lifecycle's short
test timers are lengthened so a chat is not closed while someone types.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Role
from omnisdk.config import Settings
from omnisdk.events import now_rfc3339

PORTAL = "portal"
"""The web chat account whose sample page is the demo's portal."""
AGENT = "alice"
INACTIVITY_SECONDS = 900.0
WRAP_UP_SECONDS = 120.0


def portal_account(settings: Settings, classes: dict[str, Any], gateway_url: str) -> Settings:
    """``settings`` with a ``portal`` web chat account delivering to ``gateway_url`` (unchanged
    when the web chat plugin is not installed)."""
    cls = classes.get("webchat")
    if cls is None:
        return settings
    accounts = {name: dict(per) for name, per in settings.accounts.items()}
    accounts.setdefault("webchat", {})[PORTAL] = {**cls.example_settings(), "api_base_url": gateway_url}
    return settings.model_copy(update={"accounts": accounts})


async def stay_open(runtime: Any, console: Console, base: str, *, portal: str | None,
                    until: asyncio.Task[None]) -> None:
    """Print the console's URL, the portal's and a new agent key for ``alice``; return when
    ``until`` (the gateway's task: uvicorn ends it on Ctrl-C or SIGTERM) is done."""
    life = runtime.settings.lifecycle
    life.inactivity_timeout = max(life.inactivity_timeout, INACTIVITY_SECONDS)
    life.wrap_up_timeout = max(life.wrap_up_timeout, WRAP_UP_SECONDS)
    key, row = new_api_key(name="demo-console", role=Role.AGENT, agent=AGENT, created_at=now_rfc3339())
    await runtime.store.transact(lambda tx: tx.save_api_key(row))
    console.print()
    console.print("[bold]The gateway stays up (Ctrl-C stops it).[/bold]")
    console.print(f"  agent console:  {base}/console/", soft_wrap=True)
    if portal is not None:
        console.print(f"  customer portal (web chat widget): {base}/chat/{portal}/", soft_wrap=True)
    else:
        console.print("  (no web chat plugin installed: pip install -e plugins/webchat for the portal page)")
    console.print(f"  sign in to the console as {AGENT} with the API key:", soft_wrap=True)
    print(key, flush=True)
    await until


__all__ = ["PORTAL", "portal_account", "stay_open"]
