"""A small built-in rule bot, the example virtual agent of the chat: a queue with
``virtual_agent = "webchat-rules"`` is answered by it first (``omnisdk_virtual_agent_turn``).

Rules, first match wins, on the customer's text (case-insensitive):

- "agent", "human", "person", "someone" → escalate to people, saying so;
- "order", "parcel", "delivery", "package" → asks for the order number, and once a number of 4
  or more digits is given, escalates with ``context["order"]`` = that number;
- "hours", "open" → the opening hours;
- otherwise → a greeting with what it can do; after three turns without a match, escalate.

On escalation the interaction is routed to people with the bot's context; the live agent sees
the whole transcript (the bot's replies are outbound messages of the same interaction).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from omnisdk.hookspecs import hookimpl
from omnisdk.lifecycle.bots import VirtualAgentTurn
from omnisdk.model import Interaction, Message

NAME = "webchat-rules"
HUMAN = re.compile(r"\b(agent|human|person|someone)\b", re.I)
ORDER = re.compile(r"\b(order|parcel|delivery|package)\b", re.I)
NUMBER = re.compile(r"\b(\d{4,})\b")
HOURS = re.compile(r"\b(hours|open)\b", re.I)
GREETING = "Hello! I am the virtual assistant. I can look up an order or tell you our opening hours; " \
           "say \"agent\" to talk to a person."


def turn(message: Message, history: Sequence[dict]) -> VirtualAgentTurn:
    """The bot's answer to ``message`` given the interaction's ``history`` (oldest first)."""
    text = message.text or ""
    asked_order = any(m.get("direction") == "outbound" and "order number" in ((m.get("body") or {}).get("text") or "")
                      for m in history)
    if HUMAN.search(text):
        return VirtualAgentTurn(reply="I am connecting you with an agent now.", escalate=True,
                                context={"intent": "agent"})
    number = NUMBER.search(text)
    if number and (asked_order or ORDER.search(text)):
        return VirtualAgentTurn(reply=f"Thanks, I am passing order {number.group(1)} to an agent.", escalate=True,
                                context={"intent": "order", "order": number.group(1)})
    if ORDER.search(text):
        return VirtualAgentTurn(reply="I can help with that. What is your order number?")
    if HOURS.search(text):
        return VirtualAgentTurn(reply="We are open Monday to Friday, 9:00 to 18:00 (CET).")
    misses = sum(1 for m in history if m.get("direction") == "inbound")
    if misses >= 3:
        return VirtualAgentTurn(reply="Let me find an agent for you.", escalate=True, context={"intent": "unknown"})
    return VirtualAgentTurn(reply=GREETING)


@hookimpl
def omnisdk_virtual_agent_turn(interaction: Interaction, message: Message,
                               history: Sequence[dict]) -> VirtualAgentTurn | None:
    """:func:`turn` for interactions the ``webchat-rules`` bot owns; None for any other."""
    if interaction.virtual_agent != NAME:
        return None
    return turn(message, history)
