"""The ownership rules: what a customer message does to its conversation's interaction.

:func:`omnisdk.threading.conversations.thread_message` finds the conversation's active
interaction, then hands the message to :class:`Ownership`:

- no active interaction → :meth:`~Ownership.open_inbound`: a new inbound interaction
  (``io.omnisdk.interaction.created``), its routing attributes asked of the plugins
  (``omnisdk_routing_attributes``), routed at once; a bot that takes it answers this first
  message too;
- one held by a live agent (offered, working, wrapping up) or waiting (queued) →
  :meth:`~Ownership.customer_message` appends it and notifies the agent
  (``io.omnisdk.interaction.message_added``); ownership does not change;
- one parked (on hold) → back to its owner if available with free capacity, else re-routed;
- one owned by a virtual agent → the bot takes the turn, and may escalate.

A customer message also cancels the reminders of an outbound interaction and arms or
cancels messaging actions on ``customer_message``.  See docs/lifecycle.md.
"""

from __future__ import annotations

from omnisdk import events as ev
from omnisdk.ids import new_id
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.messaging_actions import arm_actions
from omnisdk.lifecycle.settings import ActionEvent, LifecycleSettings
from omnisdk.lifecycle.transitions import created, emit, move
from omnisdk.lifecycle.virtual_agents import VirtualAgents
from omnisdk.model import Direction, Interaction, Message, RoutingSource
from omnisdk.model import InteractionState as S
from omnisdk.outbound.connector_calls import queue_park
from omnisdk.plugins import PluginHost
from omnisdk.profiles.matching import RequesterMatch
from omnisdk.routing.dispatch import Dispatch
from omnisdk.routing.engine import RoutingEngine
from omnisdk.routing.model import Presence


class Ownership:
    """Applies the ownership rules (see the module docstring)."""

    def __init__(self, engine: RoutingEngine, host: PluginHost, settings: LifecycleSettings,
                 dispatch: Dispatch, bots: VirtualAgents) -> None:
        self.engine = engine
        self.host = host
        self.settings = settings
        self.dispatch = dispatch
        self.bots = bots
        self.case_addresses = frozenset(a.lower() for a in settings.case_addresses)
        """Mail to these addresses that starts a thread becomes a case (not routed)."""

    def open_inbound(self, ctx: Ctx, message: Message, key: str, source: str, *, route: bool = True,
                     profile: RequesterMatch | None = None) -> Interaction:
        """A new inbound interaction for a customer message under conversation key ``key``, for
        the account whose CloudEvents source is ``source``; routed at once, unless ``route`` is
        False (mail to a case address: it becomes a case, nobody is offered it).  ``profile``:
        the requester the customer's messaging profile names (sms), set before routing."""
        inter = Interaction(
            id=new_id(), channel=message.channel, direction=Direction.INBOUND, state=S.NEW,
            conversation_key=key, source=source, customer=message.customer, business=message.business,
            customer_name=message.customer_name or (profile.name if profile else None),
            created_at=ctx.now, updated_at=ctx.now, last_customer_message_at=ctx.now, message_count=1,
            **(profile.fields() if profile else {}),
        )
        attrs = self.host.omnisdk_routing_attributes(inter, message)
        if attrs:
            inter = inter.model_copy(update={
                "language": attrs.pop("language", None) or message.language,
                "attributes": attrs,
            })
        elif message.language:
            inter = inter.model_copy(update={"language": message.language})
        created(ctx, inter, None, "customer message")
        if not route:
            return inter
        inter = self.dispatch.route(ctx, inter, text=message.text)
        if inter.virtual_agent and inter.state is S.WORK_IN_PROGRESS:
            inter = self.bots.turn(ctx, inter, message)  # the bot answers the first message too
        return inter

    def customer_message(self, ctx: Ctx, inter: Interaction, message: Message) -> Interaction:
        """A customer message for the active interaction ``inter`` (rules in the module
        docstring); returns the interaction after it.

        Raises:
            CapacityError, StateError: from re-routing a parked interaction.
        """
        inter = inter.model_copy(update={
            "message_count": inter.message_count + 1,
            "last_customer_message_at": ctx.now,
            "customer_name": message.customer_name or inter.customer_name,
            "updated_at": ctx.now,
        })
        ctx.put(inter)
        if inter.direction is Direction.OUTBOUND and self.settings.reminders:
            ctx.tx.cancel_timers(inter.id, ["reminder"])  # the customer answered
        arm_actions(ctx, self.settings.actions, inter, ActionEvent.CUSTOMER_MESSAGE)
        if inter.state is S.ON_HOLD:
            ctx.tx.cancel_timers(inter.id, ["inactivity"])
            owner = inter.agent
            if inter.routing_source is RoutingSource.EXTERNAL and owner:  # the CCaaS's agent keeps it:
                inter = move(ctx, inter, S.WORK_IN_PROGRESS, note="customer replied; unparked")  # no capacity here
                queue_park(ctx, self.host, inter, self.dispatch.queue(inter.queue), unpark=True)  # durable
                return inter
            if owner and self.engine.free(owner, inter.channel) > 0 and \
                    self.engine.agents[owner].presence is Presence.AVAILABLE:
                self.engine.reserve(inter.id, owner, inter.channel, ctx.ts)
                return move(ctx, inter, S.WORK_IN_PROGRESS, note="customer replied; back to its owner")
            inter = move(ctx, inter, S.QUEUED, note="customer replied; owner unavailable",
                         agent=None, queued_at=ctx.now)
            return self.dispatch.route(ctx, inter)
        if inter.virtual_agent and inter.state is S.WORK_IN_PROGRESS:
            return self.bots.turn(ctx, inter, message)
        emit(ctx, ev.TYPE_INTERACTION_MESSAGE_ADDED, inter)
        return inter
