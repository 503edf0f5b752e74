"""Threading: which interaction a customer message belongs to.

One active interaction per conversation key (channel + business address + customer address,
or the key a plugin chooses through ``omnisdk_thread``).  Ownership rules:

- no active interaction → a new one, routed (:meth:`Ownership.open_inbound
  <omnisdk.threading.ownership.Ownership.open_inbound>`);
- an active one held by a live agent (offered, working, wrapping up) → the message is appended
  and the agent notified (``io.omnisdk.interaction.message_added``); ownership does not change;
- an active one parked (on hold) → back to its owner if available, else rerouted;
- an active one owned by a virtual agent → the bot takes the turn, and may escalate.

On a channel with messaging profiles (sms), the message that opens an interaction is matched
to a requester first (:mod:`omnisdk.profiles.matching`).

Mail (a message with ``email`` fields) is threaded by :func:`omnisdk.threading.email.thread_email`
instead of by its address pair: each mail thread is its own conversation (the address key plus
``#`` and the first mail's Message-ID), and the decision is kept on the message.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnisdk.events import Event
from omnisdk.lifecycle.cases import attach_to_case
from omnisdk.lifecycle.context import Ctx
from omnisdk.model import Interaction, Message
from omnisdk.model.addresses import conversation_key
from omnisdk.plugins import PluginHost
from omnisdk.profiles.matching import PROFILE_CHANNELS, match_requester
from omnisdk.threading.email import EmailThreading, thread_email
from omnisdk.threading.ownership import Ownership


@dataclass(slots=True)
class Threaded:
    """The outcome of threading one message: the interaction it joined (None for automatic
    mail that matched no thread: kept, with no interaction), whether it was opened for it, and
    the email threading decision (None for other channels)."""

    interaction: Interaction | None
    created: bool
    email: EmailThreading | None = None


def thread_message(ctx: Ctx, host: PluginHost, ownership: Ownership, event: Event, message: Message) -> Threaded:
    """Append ``message`` (the data of inbound ``event``) to its conversation's active
    interaction, or open and route one; the ownership rules are :class:`Ownership`'s."""
    default = conversation_key(event.source, message.channel, message.business, message.customer)
    if message.email is not None:
        return _thread_mail(ctx, host, ownership, event, message, default)
    key = host.omnisdk_thread(message, default)
    current = ctx.tx.active_interaction(key)
    _know_contact(ctx, event, message, current)
    if current is None:
        profile = None
        if message.channel in PROFILE_CHANNELS:  # who the requester is (docs/sms.md)
            profile = match_requester(ctx.tx, host, message.channel, message.customer, ctx.iso)
            ctx.tx.count(f"profiles.{profile.rule}")
        return Threaded(ownership.open_inbound(ctx, message, key, event.source, profile=profile), True)
    return Threaded(ownership.customer_message(ctx, current, message), False)


def _thread_mail(ctx: Ctx, host: PluginHost, ownership: Ownership, event: Event, message: Message,
                 default: str) -> Threaded:
    assert message.email is not None
    decision = thread_email(ctx.tx, event.source, message, ctx.now)
    current = ctx.tx.get_interaction(decision.interaction_id) if decision.interaction_id else None
    if current is None and message.email.auto:  # automatic mail never opens an interaction
        return Threaded(None, False, decision)
    if current is None:
        key = host.omnisdk_thread(message, f"{default}#{message.email.message_id}")
        current = ctx.tx.active_interaction(key)
    _know_contact(ctx, event, message, current)
    if current is None:
        to_case = decision.rule == "new" and message.business.lower() in ownership.case_addresses
        opened = ownership.open_inbound(ctx, message, key, event.source, route=not to_case)
        if decision.case_id:
            case = ctx.tx.get_case(decision.case_id)
            if case is not None:
                opened, _ = attach_to_case(ctx, opened, case)
        threaded = Threaded(opened, True, decision)
    elif message.email.auto:  # an auto-reply in a known thread: kept on it, no one notified
        threaded = Threaded(current, False, decision)
    else:
        threaded = Threaded(ownership.customer_message(ctx, current, message), False, decision)
    inter = threaded.interaction
    assert inter is not None
    ctx.tx.index_message_ids(event.source, inter.id, inter.conversation_key, [message.email.message_id], "inbound")
    return threaded


def _know_contact(ctx: Ctx, event: Event, message: Message, current: Interaction | None) -> None:
    if current is None or (message.customer_name and message.customer_name != current.customer_name):
        # the contact behind the address: made on first sight, renamed when the profile changes
        ctx.tx.upsert_contact_later(message.channel, message.customer, message.customer_name, event.time or ctx.iso)
