"""``omnisdk call``: the call controls of a running gateway's agent API, for an agent at a
terminal (or a script): answer, hold, resume, transfer, hang up, dial, softphone token.

Every command talks to ``--url`` (the gateway) with the API key in ``$OMNISDK_API_KEY`` (never
an option: it would stay in the shell's history), and prints the interaction (or the token) as
JSON.  Exit codes: 0 ok; 1 the gateway refused (its status and reason are printed) or is
unreachable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

call_app = typer.Typer(no_args_is_help=True, help="Call controls of voice interactions (through a running gateway).")
err = Console(stderr=True, soft_wrap=True, highlight=False)

UrlOpt = Annotated[str, typer.Option("--url", help="The gateway (http://HOST:PORT); the API key in $OMNISDK_API_KEY.")]
AgentOpt = Annotated[Optional[str], typer.Option("--agent", help="The agent acting (an agent's key: themself).")]
Ident = Annotated[str, typer.Argument(metavar="ID", help="The voice interaction's id.")]


def _send(url: str, fn: Callable[[Any], Any]) -> None:
    from omnisdk.client import AgentClient, APIConnectionError, APIStatusError, RetryPolicy

    key = os.environ.get("OMNISDK_API_KEY")
    try:
        with AgentClient(url, api_key=key or None, timeout=10, retry=RetryPolicy(max_attempts=1)) as client:
            result = fn(client)
    except APIConnectionError as exc:
        err.print(f"cannot reach the gateway at {url}: {exc.cause}")
        raise typer.Exit(1) from None
    except APIStatusError as exc:
        err.print(f"the gateway answered {exc.status}: {exc.detail}", markup=False)
        raise typer.Exit(1) from None
    print(json.dumps(result.model_dump(mode="json"), indent=2))


def _control(name: str) -> Callable[..., None]:
    def command(ident: Ident, url: UrlOpt, agent: AgentOpt = None) -> None:
        _send(url, lambda api: api.call_control(ident, name, agent=agent))

    command.__doc__ = {"answer": "Answer an offered call: the caller is connected to the agent's softphone.",
                       "hold": "Put the caller on hold (music).",
                       "resume": "Take the caller off hold.",
                       "hangup": "End the call: the interaction goes to wrap-up."}[name]
    return command


for _name in ("answer", "hold", "resume", "hangup"):
    call_app.command(_name)(_control(_name))


@call_app.command()
def transfer(
    ident: Ident, url: UrlOpt, agent: AgentOpt = None,
    to_agent: Annotated[Optional[str], typer.Option("--to-agent", help="Transfer to this agent.")] = None,
    to_queue: Annotated[Optional[str], typer.Option("--to-queue", help="Transfer to this queue.")] = None,
    to_number: Annotated[Optional[str], typer.Option("--to-number", help="Transfer to this number (E.164).")] = None,
    warm: Annotated[bool, typer.Option("--warm", help="Hold the caller until the target answers.")] = False,
) -> None:
    """Transfer the call (cold unless --warm) to an agent, a queue or a number."""
    _send(url, lambda api: api.call_transfer(ident, to_agent=to_agent, to_queue=to_queue, to_number=to_number,
                                             mode="warm" if warm else "cold", agent=agent))


@call_app.command()
def dial(
    to: Annotated[str, typer.Argument(help="The customer's number, E.164.")], url: UrlOpt,
    plugin: Annotated[str, typer.Option("--plugin", help="The CTI connector.")] = "cti_twilio",
    account: Annotated[str, typer.Option("--account", help="Its account.")] = "default",
    agent: AgentOpt = None,
    from_: Annotated[Optional[str], typer.Option("--from", help="Our caller id (one of the account's numbers).")] = None,
) -> None:
    """Click-to-dial: place a call for the agent (a new outbound voice interaction)."""
    _send(url, lambda api: api.dial(plugin=plugin, account=account, to=to, agent=agent, from_=from_))


@call_app.command()
def token(
    agent: Annotated[str, typer.Argument(help="The agent whose softphone it is.")], url: UrlOpt,
    plugin: Annotated[str, typer.Option("--plugin", help="The CTI connector.")] = "cti_twilio",
    account: Annotated[str, typer.Option("--account", help="Its account.")] = "default",
) -> None:
    """The agent's softphone access token (short-lived)."""
    _send(url, lambda api: api.softphone_token(agent, plugin=plugin, account=account))
