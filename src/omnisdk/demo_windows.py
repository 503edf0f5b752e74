"""The demo's customer-service window story: for each account whose channel has a window
(WhatsApp, Messenger), an agent tries to open a conversation with text to a customer who never
wrote — refused before any I/O — then, where the channel has templates, with a template, which
goes (:mod:`omnisdk.demo` prints the steps)."""

from __future__ import annotations

from typing import Any

from omnisdk.demo_mail import Outcome
from omnisdk.errors import WindowClosedError

TEMPLATE = {"name": "hello_world", "language": "en_US"}
"""Meta's sample template, as every WhatsApp Business Account has it."""
STRANGERS = {"whatsapp": "+15550107777", "messenger": "7101000000000001"}
"""A customer of each channel who never wrote to the demo's account."""


async def window_story(runtime: Any, account: str) -> list[Outcome]:
    """Steps for each windowed account of ``account``: the refused text, the template."""
    steps: list[Outcome] = []
    for (plugin, name), adapter in sorted(runtime.adapters.items()):
        if name != account or adapter.service_window is None or adapter.channel not in STRANGERS:
            continue
        customer = STRANGERS[adapter.channel]
        agents = [a["id"] for a in await runtime.agents()
                  if a["capacity"].get(adapter.channel, 0) > a["load"].get(adapter.channel, 0)]
        if not agents:
            steps.append(Outcome(f"{plugin}: a text to a customer who never wrote", "refused", "no free agent"))
            continue
        try:
            await runtime.start_outbound(agent=agents[0], plugin=plugin, account=name, customer=customer,
                                         text="Hello from the demo")
            got = "sent"
        except WindowClosedError:
            got = "refused"
        steps.append(Outcome(f"{plugin}: a text to a customer who never wrote", "refused", got))
        if plugin != "whatsapp":
            continue
        inter = await runtime.start_outbound(agent=agents[0], plugin=plugin, account=name, customer=customer,
                                             template=TEMPLATE)
        steps.append(Outcome(f"{plugin}: the template {TEMPLATE['name']} instead", "queued",
                             "queued" if inter.state.value == "work_in_progress" else inter.state.value))
        await runtime.close_interaction(inter.id, "Issue resolved")
    return steps
