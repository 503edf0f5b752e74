"""Virtual agents (bots): the answer a bot plugin gives for one customer message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class VirtualAgentTurn:
    """A bot's turn (``omnisdk_virtual_agent_turn``).

    Attributes:
        reply: text to send to the customer (through the outbox), or None.
        escalate: hand the interaction to a live agent after this turn.
        queue: the queue to escalate to (default: the interaction's queue, now routed to people).
        context: what the bot learned (intent, order number …), merged into
            ``interaction.context`` for the live agent.
    """

    reply: str | None = None
    escalate: bool = False
    queue: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
