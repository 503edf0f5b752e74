"""The demo's recorded call: for each installed CTI connector whose recordings hold an incoming
call (``inbound_1_ringing``, ``inbound_2_completed``, ``inbound_3_recording``: the ``cti_twilio``
plugin's), the call rings over HTTP (signed as the provider signs), an agent answers, holds,
transfers it cold to a colleague who answers, hangs up; the provider's completed and recording
callbacks follow, and the wrap-up timer closes it with the default code.  The call commands go to
the demo's stand-in provider API.  :mod:`omnisdk.demo` prints the steps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from omnisdk.adapters import ChannelAdapter
from omnisdk.connectors import CTIConnector
from omnisdk.demo_mail import Outcome

NEEDED = ("inbound_1_ringing", "inbound_2_completed", "inbound_3_recording")
"""The recordings the story plays (the ``cti_twilio`` plugin ships them)."""
FORM = "application/x-www-form-urlencoded"


def has_story(cls: type[ChannelAdapter], names: set[str]) -> bool:
    """Whether ``cls`` is a CTI connector whose recordings hold the story's call."""
    return issubclass(cls, CTIConnector) and all(n in names for n in NEEDED)


async def voice_story(runtime: Any, client: httpx.AsyncClient, url: str, adapter: ChannelAdapter,
                      recs: Mapping[str, bytes], expect: Callable[..., None],
                      wrap_up_wait: float = 10.0) -> list[Outcome]:
    """Play the recorded call (see the module docstring); one :class:`Outcome` per step."""
    steps: list[Outcome] = []

    async def post(name: str) -> httpx.Response:
        body = recs[name]
        headers = {"content-type": FORM, **adapter.sign(url, body, FORM)}
        expect(adapter, url, body, headers)
        resp = await client.post(url, content=body, headers=headers)
        await runtime.processor.drain()
        return resp

    async def current(iid: str) -> Any:
        return (await runtime.interaction(iid))[0]

    resp = await post("inbound_1_ringing")
    steps.append(Outcome(f"{adapter.name}: the call rings; the webhook is answered with TwiML", "200 text/xml",
                         f"{resp.status_code} {resp.headers.get('content-type', '').split(';')[0]}"))
    calls = [i for i in await runtime.interactions(active_only=True) if i.channel == "voice"]
    if len(calls) != 1:
        steps.append(Outcome("one voice interaction is offered", "1", str(len(calls))))
        return steps
    inter = calls[0]
    steps.append(Outcome("the call is a voice interaction, offered to an agent", "offered", inter.state.value))
    caller = inter.context.get("caller") or {}
    steps.append(Outcome("the offer carries the caller's context", inter.customer, str(caller.get("number"))))
    first = inter.agent
    inter = await runtime.calls.answer(inter.id, first)
    steps.append(Outcome(f"{first} answers", "work_in_progress", inter.state.value))
    inter = await runtime.calls.hold(inter.id, first)
    steps.append(Outcome(f"{first} puts the caller on hold", "on_hold", inter.state.value))
    colleague = next((a["id"] for a in await runtime.agents() if a["id"] != first
                      and a["capacity"].get("voice", 0) > a["load"].get("voice", 0)), None)
    if colleague is None:
        steps.append(Outcome("a colleague is free to take the transfer", "yes", "no"))
        return steps
    inter = await runtime.calls.transfer(inter.id, to_agent=colleague, agent=first)
    steps.append(Outcome(f"{first} transfers it cold to {colleague}", f"offered {colleague}",
                         f"{inter.state.value} {inter.agent}"))
    inter = await runtime.calls.answer(inter.id, colleague)
    steps.append(Outcome(f"{colleague} answers", "work_in_progress", inter.state.value))
    inter = await runtime.calls.hang_up(inter.id, colleague)
    steps.append(Outcome(f"{colleague} hangs up: wrap-up, its timer runs", "wrap_up", inter.state.value))
    await post("inbound_2_completed")
    await post("inbound_3_recording")
    inter = await current(inter.id)
    recordings = (inter.context.get("call") or {}).get("recordings") or []
    steps.append(Outcome("the completed and recording callbacks: the link is kept", "wrap_up, 1 recording",
                         f"{inter.state.value}, {len(recordings)} recording"))
    for _ in range(int(wrap_up_wait * 10)):  # the runtime's timer loop fires the wrap-up timeout
        inter = await current(inter.id)
        if inter.state.value == "closed":
            break
        await asyncio.sleep(0.1)
    default = runtime.settings.lifecycle.default_wrap_up_code
    steps.append(Outcome("the wrap-up timeout closes it with the default code", f"closed, {default}",
                         f"{inter.state.value}, {inter.wrap_up_code}"))
    return steps
