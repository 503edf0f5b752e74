"""Agent actions: what an agent (or a supervisor, or a CCaaS connector) does to an interaction.

Accept, reject, assign, hold, resume, transfer, wrap-up, close, replies, presence, and starting
an outbound interaction.  Each runs inside the operation's transaction (``ctx``), keeps capacity
(the routing engine), timers and the interaction row in step, and re-routes through
:class:`~omnisdk.routing.dispatch.Dispatch` (a rejected offer, a transfer to a queue, capacity
freed).  Illegal moves raise :class:`omnisdk.errors.StateError` (HTTP 409); no capacity raises
:class:`omnisdk.routing.engine.CapacityError` (409); unknown interactions, agents and queues
raise :class:`omnisdk.errors.NotFoundError` (404).
"""

from __future__ import annotations

from typing import Any

from omnisdk import events as ev
from omnisdk.errors import NotFoundError, OptedOutError, StateError
from omnisdk.ids import new_id
from omnisdk.lifecycle.agent_initiated import OutboundStart, decide_start
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.messaging_actions import arm_actions
from omnisdk.lifecycle.settings import ActionEvent, LifecycleSettings
from omnisdk.lifecycle.states import REPLYABLE
from omnisdk.lifecycle.transitions import (
    agent_event,
    arm_timer,
    created,
    emit,
    get_interaction,
    move,
)
from omnisdk.model import Direction, Interaction, RoutingSource
from omnisdk.model import InteractionState as S
from omnisdk.outbound.connector_calls import queue_close, queue_park, queue_transfer
from omnisdk.outbound.enqueue import enqueue_read_receipt, enqueue_template, enqueue_text
from omnisdk.plugins import PluginHost
from omnisdk.profiles.matching import PROFILE_CHANNELS
from omnisdk.routing.dispatch import Dispatch
from omnisdk.routing.engine import RoutingEngine
from omnisdk.routing.model import Presence

DEFAULT_REOFFER_AFTER = 60.0
"""Seconds before decliners may be offered an interaction again when it has no queue."""


def same_connector(a: str | None, b: str | None) -> bool:
    """Whether two queues' ``connector`` values name the same CCaaS connector account
    (``"name"`` names the plugin's only account, ``"name/account"`` one of several)."""
    if not a or not b:
        return False
    (name_a, _, account_a), (name_b, _, account_b) = a.partition("/"), b.partition("/")
    return name_a == name_b and (not account_a or not account_b or account_a == account_b)


def _held_by(inter: Interaction, agent: str | None, states: set[S] | frozenset[S]) -> None:
    if inter.state not in states:
        raise StateError(f"interaction {inter.id} is {inter.state}, not {' or '.join(sorted(states))}")
    if agent is not None and inter.agent != agent:
        raise StateError(f"interaction {inter.id} is not held by {agent}")


class AgentActions:
    """The agent-facing operations (see the module docstring).  With ``agent``, an operation
    also checks that this agent holds the interaction (``StateError`` otherwise)."""

    def __init__(self, engine: RoutingEngine, host: PluginHost, settings: LifecycleSettings,
                 dispatch: Dispatch) -> None:
        self.engine = engine
        self.host = host
        self.settings = settings
        self.dispatch = dispatch

    def accept(self, ctx: Ctx, interaction_id: str, agent: str | None = None) -> Interaction:
        """The offered agent accepts: ``work_in_progress``; the offer timers are cancelled, and
        the customer's messages are marked read where the channel tells (a read receipt)."""
        inter = get_interaction(ctx, interaction_id)
        _held_by(inter, agent, {S.OFFERED})
        ctx.tx.cancel_timers(inter.id, ["offer", "reoffer"])
        inter = move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now, last_agent=inter.agent, declined_by=[])
        enqueue_read_receipt(ctx, inter)
        return inter

    def reject(self, ctx: Ctx, interaction_id: str, agent: str | None = None, note: str = "rejected") -> Interaction:
        """The offer goes back to the queue and is offered to someone else; the decliner is
        skipped until the queue's ``reoffer_after`` seconds pass."""
        inter = get_interaction(ctx, interaction_id)
        _held_by(inter, agent, {S.OFFERED})
        ctx.tx.cancel_timers(inter.id, ["offer"])
        released = self.engine.release(inter.id)
        declined = [*inter.declined_by, inter.agent] if inter.agent else inter.declined_by
        inter = move(ctx, inter, S.QUEUED, note=note, agent=None, declined_by=declined, queued_at=ctx.now)
        if inter.routing_source is RoutingSource.EXTERNAL:
            return inter
        queue = self.dispatch.queue(inter.queue)
        # decliners are skipped for this interaction until the re-offer timer clears the list
        arm_timer(ctx, "reoffer", inter, queue.reoffer_after if queue else DEFAULT_REOFFER_AFTER)
        inter = self.dispatch.route(ctx, inter)
        if released:
            self.dispatch.drain(ctx, released[0])
        return inter

    def assign(self, ctx: Ctx, interaction_id: str, agent: str) -> Interaction:
        """Offer a waiting interaction to a named agent: how a CCaaS connector reports its
        routing decision for an externally routed interaction, or a supervisor's manual
        assignment (capacity is checked for internally routed ones).

        Raises:
            StateError: the interaction is not queued.  NotFoundError: unknown agent (internal).
            CapacityError: the agent has no free capacity (internal).
        """
        inter = get_interaction(ctx, interaction_id)
        if inter.state is not S.QUEUED:
            raise StateError(f"interaction {inter.id} is {inter.state}, not queued")
        if inter.routing_source is RoutingSource.INTERNAL and agent not in self.engine.agents:
            raise NotFoundError(f"no agent {agent!r}")
        return self.dispatch.offer(ctx, inter, agent, self.dispatch.queue(inter.queue))

    def hold(self, ctx: Ctx, interaction_id: str, agent: str | None = None) -> Interaction:
        """Park: capacity is released; the agent stays the owner; the inactivity timer starts."""
        inter = get_interaction(ctx, interaction_id)
        _held_by(inter, agent, {S.WORK_IN_PROGRESS})
        released = self.engine.release(inter.id)
        inter = move(ctx, inter, S.ON_HOLD, last_agent=inter.agent)
        arm_timer(ctx, "inactivity", inter, self.settings.inactivity_timeout)
        if inter.routing_source is RoutingSource.EXTERNAL:  # durable: parks it in the CCaaS too
            queue_park(ctx, self.host, inter, self.dispatch.queue(inter.queue))
        if released:
            self.dispatch.drain(ctx, released[0])
        return inter

    def resume(self, ctx: Ctx, interaction_id: str, agent: str | None = None) -> Interaction:
        """Unpark: the owner takes it back (needs free capacity)."""
        inter = get_interaction(ctx, interaction_id)
        _held_by(inter, agent, {S.ON_HOLD})
        ctx.tx.cancel_timers(inter.id, ["inactivity"])
        if inter.agent and inter.routing_source is RoutingSource.INTERNAL and not inter.virtual_agent:
            self.engine.reserve(inter.id, inter.agent, inter.channel, ctx.ts)
        inter = move(ctx, inter, S.WORK_IN_PROGRESS)
        if inter.routing_source is RoutingSource.EXTERNAL:
            queue_park(ctx, self.host, inter, self.dispatch.queue(inter.queue), unpark=True)
        return inter

    def transfer(self, ctx: Ctx, interaction_id: str, *, to_agent: str | None = None,
                 to_queue: str | None = None, agent: str | None = None) -> Interaction:
        """Hand over to an agent (offered to them; needs their free capacity) or to a queue.
        The previous agent's capacity is released; the history keeps every step.

        Raises:
            ValueError: not exactly one of ``to_agent`` and ``to_queue``.
            NotFoundError: unknown target agent or queue.  StateError: the target agent is not
            available, or the interaction is not offered, working or parked.
            omnisdk.connectors.MappingError: an externally routed interaction's target is not
            in its connector's mapping (checked before anything changes).
        """
        if (to_agent is None) == (to_queue is None):
            raise ValueError("transfer needs exactly one of to_agent or to_queue")
        inter = get_interaction(ctx, interaction_id)
        _held_by(inter, agent, {S.WORK_IN_PROGRESS, S.ON_HOLD, S.OFFERED})
        if inter.routing_source is RoutingSource.EXTERNAL:  # an unmapped target: refused before any change
            self.host.check_external_transfer(inter, to_agent, to_queue, self.dispatch.queue(inter.queue),
                                              self.dispatch.queue(to_queue))
        ctx.tx.cancel_timers(inter.id, ["offer", "inactivity"])
        released = self.engine.release(inter.id)
        previous = inter.agent
        note = f"transfer from {previous} to {to_agent or 'queue ' + str(to_queue)}"
        emit(ctx, ev.TYPE_INTERACTION_TRANSFERRED, inter, note)
        external = inter.routing_source is RoutingSource.EXTERNAL
        current = self.dispatch.queue(inter.queue)
        if external:
            moving, target_queue = inter, self.dispatch.queue(to_queue)
            queue_transfer(ctx, self.host, moving, to_agent, to_queue, current, target_queue)  # durable
            ctx.after.append(lambda: self.host.omnisdk_external_transfer(moving, to_agent, to_queue, current, target_queue))
        if to_agent is not None:
            if not external:  # a CCaaS's agents are its own business (as in assign)
                target = self.engine.agents.get(to_agent)
                if target is None:
                    raise NotFoundError(f"no agent {to_agent!r}")
                if target.presence is not Presence.AVAILABLE:
                    raise StateError(f"agent {to_agent} is {target.presence}")
            inter = inter.model_copy(update={"last_agent": previous or inter.last_agent, "declined_by": []})
            inter = self.dispatch.offer(ctx, inter, to_agent, current, note)
        else:
            queue = self.dispatch.queue(to_queue)
            if queue is None:
                raise NotFoundError(f"no queue {to_queue!r}")
            inter = move(ctx, inter, S.QUEUED, note=note, queue=queue.name, agent=None,
                         last_agent=previous or inter.last_agent, declined_by=[], queued_at=ctx.now,
                         routing_source=queue.routing_source)
            # between two queues of one CCaaS connector the CCaaS moves the task itself
            # (omnisdk_external_transfer); routing it again would open a second one
            if not (external and current is not None and queue.routing_source is RoutingSource.EXTERNAL
                    and same_connector(queue.connector, current.connector)):
                inter = self.dispatch.route(ctx, inter)
        if released:
            self.dispatch.drain(ctx, released[0])
        return inter

    def wrap_up(self, ctx: Ctx, interaction_id: str, agent: str | None = None) -> Interaction:
        """The conversation is over: the wrap-up timer starts (``wrap_up_timeout`` seconds; the
        default code when it fires)."""
        inter = get_interaction(ctx, interaction_id)
        _held_by(inter, agent, {S.WORK_IN_PROGRESS, S.ON_HOLD})
        ctx.tx.cancel_timers(inter.id, ["inactivity"])
        if inter.state is S.ON_HOLD and inter.agent and inter.routing_source is RoutingSource.INTERNAL \
                and not inter.virtual_agent:
            # parked items hold no capacity, wrap-up does: take it back (CapacityError if none)
            self.engine.reserve(inter.id, inter.agent, inter.channel, ctx.ts)
        inter = move(ctx, inter, S.WRAP_UP)
        arm_timer(ctx, "wrap_up", inter, self.settings.wrap_up_timeout)
        return inter

    def close(self, ctx: Ctx, interaction_id: str, code: str | None = None, agent: str | None = None,
              note: str | None = None, *, sync_external: bool = True) -> Interaction:
        """Close with a wrap-up code (default code if None); frees capacity; drains the backlog.
        An externally routed interaction's CCaaS is told (``omnisdk_external_wrap_up``) unless
        ``sync_external`` is False (the close came from the CCaaS itself).

        Raises:
            ValueError: the code is not configured.
            StateError: the interaction is already closed.
        """
        code = code or self.settings.default_wrap_up_code
        if code not in self.settings.wrap_up_codes:
            raise ValueError(f"unknown wrap-up code {code!r}")
        inter = get_interaction(ctx, interaction_id)
        if inter.state is S.CLOSED:
            raise StateError(f"interaction {inter.id} is already closed")
        if agent is not None and inter.agent != agent:
            raise StateError(f"interaction {inter.id} is not held by {agent}")
        ctx.tx.cancel_timers(inter.id)
        self.engine.dequeue(inter.id)
        released = self.engine.release(inter.id)
        owner = inter.agent or inter.last_agent
        if inter.state not in (S.WRAP_UP, S.NEW, S.QUEUED):
            inter = move(ctx, inter, S.WRAP_UP, note=note)
        inter = move(ctx, inter, S.CLOSED, note=note, wrap_up_code=code,
                     last_agent=owner if owner and not owner.startswith("bot:") else inter.last_agent)
        if inter.routing_source is RoutingSource.EXTERNAL and sync_external:
            closed, queue = inter, self.dispatch.queue(inter.queue)
            queue_close(ctx, self.host, closed, code, queue)  # durable: an outbox row in this transaction
            ctx.after.append(lambda: self.host.omnisdk_external_wrap_up(closed, code, queue))
        if owner and not owner.startswith("bot:"):
            self.engine.remember(inter.conversation_key, owner, ctx.ts)
        if released:
            self.dispatch.drain(ctx, released[0])
        return inter

    def set_presence(self, ctx: Ctx, agent_id: str, presence: Presence) -> None:
        """Change an agent's presence (saved, ``io.omnisdk.agent.updated``); becoming available
        drains the backlog.

        Raises:
            NotFoundError: unknown agent.
        """
        agent = self.engine.set_presence(agent_id, presence)
        ctx.tx.save_agent(agent)
        ctx.emitted.append(agent_event(agent, ctx))
        if presence is Presence.AVAILABLE:
            self.dispatch.drain(ctx, agent_id)

    def reply(self, ctx: Ctx, interaction_id: str, text: str | None, key: str, agent: str | None = None,
              content: dict[str, Any] | None = None, caller: str | None = None) -> None:
        """An agent's text to the customer, queued in the outbox under ``key`` (unique per
        interaction and ``caller``); messaging actions on agent messages re-arm.

        Raises:
            NotFoundError: unknown interaction.  StateError: not accepted work (see
            :data:`~omnisdk.lifecycle.states.REPLYABLE`) or, with ``agent``, held by someone else.
        """
        inter = get_interaction(ctx, interaction_id)
        _held_by(inter, agent, REPLYABLE)
        enqueue_read_receipt(ctx, inter)  # a reply says the agent read what came before it
        enqueue_text(ctx, inter, text, key, content=content, caller=caller)
        arm_actions(ctx, self.settings.actions, inter, ActionEvent.AGENT_MESSAGE)

    def open_outbound(self, ctx: Ctx, *, agent: str, source: str, channel: Any, customer: str,
                      business: str, key: str, text: str | None, template: dict[str, Any] | None = None,
                      requester: str | None = None, by: str | None = None) -> OutboundStart:
        """An agent-initiated conversation: a new interaction straight in ``work_in_progress``
        with ``agent``, its first message queued (key ``outbound:<id>``) and the reminders of
        ``[lifecycle] reminders`` armed.

        On a channel with messaging profiles (sms: :data:`PROFILE_CHANNELS`), the customer's
        active interaction on that business number decides first (ServiceNow's agent-initiated
        SMS table; :mod:`omnisdk.lifecycle.agent_initiated`): held by ``agent`` → the message
        joins it (``reused``); owned by a virtual agent → closed, a new one for ``agent``
        (``took_over_virtual_agent``); held by another agent → refused; waiting in a queue →
        refused.  ``requester`` (a directory user id) is who the agent writes to: a number
        whose profile names someone else gets its active interaction closed, its profile
        deactivated and a new profile for ``requester`` (``replaced_requester``); ``by`` (the
        caller) is recorded as who linked it.

        Raises:
            CapacityError: the agent has no free capacity on ``channel``.
            WindowClosedError, OptedOutError: from queueing the first message (nothing is kept).
            InteractionHeldError: another agent holds the active interaction (HTTP 409).
            StateError: the active interaction waits in a queue.
            NotFoundError: ``requester`` is not in the directory.
        """
        current = ctx.tx.active_interaction(key)
        fields: dict[str, Any] = {}
        outcome = "created"
        if channel in PROFILE_CHANNELS:
            if ctx.tx.opted_out(channel, customer):  # before anything is closed or linked
                raise OptedOutError(f"the customer at {customer} opted out on {channel} (STOP): nothing may be "
                                    "sent until they opt in again (START)")
            decision = decide_start(ctx, self.host, channel=channel, customer=customer, agent=agent,
                                    current=current, requester=requester, by=by)
            fields = decision.fields
            if decision.close is not None:
                assert current is not None
                self.close(ctx, current.id, note=decision.close)
                current = None
            outcome = decision.outcome
            if decision.join is not None:
                inter = decision.join
                if inter.state is S.OFFERED:
                    inter = self.accept(ctx, inter.id, agent)
                inter = inter.model_copy(update={**fields, "updated_at": ctx.now})
                ctx.put(inter)
                self._first_message(ctx, inter, text, template, f"outbound:{inter.id}:{ctx.ts:.6f}")
                arm_actions(ctx, self.settings.actions, inter, ActionEvent.AGENT_MESSAGE)
                return OutboundStart(inter, outcome)
        inter = Interaction(
            id=new_id(), channel=channel, direction=Direction.OUTBOUND, state=S.NEW,
            conversation_key=key, source=source, customer=customer, business=business,
            created_at=ctx.now, updated_at=ctx.now, **fields,
        )
        created(ctx, inter, agent, "outbound")
        self.engine.reserve(inter.id, agent, inter.channel, ctx.ts)
        inter = move(ctx, inter, S.OFFERED, agent=agent, offered_at=ctx.now, offer_seq=1)
        inter = move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now, last_agent=agent)
        self._first_message(ctx, inter, text, template, f"outbound:{inter.id}")
        for i, delay in enumerate(self.settings.reminders):
            arm_timer(ctx, "reminder", inter, delay, key=f"reminder{i}:{inter.id}", n=i)
        return OutboundStart(inter, outcome)

    @staticmethod
    def _first_message(ctx: Ctx, inter: Interaction, text: str | None, template: dict[str, Any] | None,
                       key: str) -> None:
        if template is not None:
            enqueue_template(ctx, inter, template, key)
        else:
            enqueue_text(ctx, inter, text or "", key)
