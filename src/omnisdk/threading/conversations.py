"""Threading: which interaction a customer message belongs to.

One active interaction per conversation key (channel + business address + customer address,
or the key a plugin chooses through ``omnisdk_thread``).  Ownership rules:

- no active interaction → a new one, routed (:meth:`Ownership.open_inbound
  <omnisdk.threading.ownership.Ownership.open_inbound>`);
- an active one held by a live agent (offered, working, wrapping up) → the message is appended
  and the agent notified (``io.omnisdk.interaction.message_added``); ownership does not change;
- an active one parked (on hold) → back to its owner if available, else rerouted;
- an active one owned by a virtual agent → the bot takes the turn, and may escalate.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnisdk.events import Event
from omnisdk.lifecycle.context import Ctx
from omnisdk.model import Interaction, Message
from omnisdk.model.addresses import conversation_key
from omnisdk.plugins import PluginHost
from omnisdk.threading.ownership import Ownership


@dataclass(slots=True)
class Threaded:
    """The outcome of threading one message."""

    interaction: Interaction
    created: bool


def thread_message(ctx: Ctx, host: PluginHost, ownership: Ownership, event: Event, message: Message) -> Threaded:
    """Append ``message`` (the data of inbound ``event``) to its conversation's active
    interaction, or open and route one; the ownership rules are :class:`Ownership`'s."""
    default = conversation_key(event.source, message.channel, message.business, message.customer)
    key = host.omnisdk_thread(message, default)
    current = ctx.tx.active_interaction(key)
    if current is None or (message.customer_name and message.customer_name != current.customer_name):
        # the contact behind the address: made on first sight, renamed when the profile changes
        ctx.tx.upsert_contact(message.channel, message.customer, message.customer_name, event.time or ctx.iso)
    if current is None:
        return Threaded(ownership.open_inbound(ctx, message, key, event.source), True)
    return Threaded(ownership.customer_message(ctx, current, message), False)
