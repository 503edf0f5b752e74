"""Lifecycle operations: every state change of an interaction, with capacity, timers and events.

Each method runs inside one store transaction (``ctx.tx``) and keeps three things in step: the
interaction row (and its history), the routing engine's in-memory capacity, and the durable
timers.  Every transition emits one ``io.omnisdk.interaction.*`` CloudEvent.  Illegal moves
raise :class:`omnisdk.errors.StateError` (HTTP 409); no capacity raises
:class:`omnisdk.routing.engine.CapacityError` (409).

Timers (kind → what happens when it fires, if the interaction is still in the guarded state):

- ``offer``: the agent did not accept in time → back to the queue, offered elsewhere;
- ``wrap_up``: no wrap-up code in time → closed with the default code;
- ``inactivity``: parked with no customer reply → closed "Closed due to customer inactivity";
- ``overflow``: waited too long in a queue → moved to the overflow queue;
- ``reminder``: an outbound interaction the customer has not answered → a reminder is sent;
- ``action:<name>``: a messaging action (see :class:`~omnisdk.lifecycle.settings.MessagingAction`).
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from omnisdk import events as ev
from omnisdk.errors import NotFoundError, StateError
from omnisdk.ids import new_id
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.settings import ActionEvent, ActionKind, LifecycleSettings, MessagingAction
from omnisdk.lifecycle.states import HOLDS_CAPACITY, REPLYABLE, TRANSITIONS, transition
from omnisdk.model import Direction, Interaction, Message, RoutingSource
from omnisdk.model import InteractionState as S
from omnisdk.plugins import PluginHost
from omnisdk.routing.engine import RoutingEngine
from omnisdk.routing.model import Presence, Queue
from omnisdk.store.base import TimerRow

STATE_EVENT = {
    S.NEW: ev.TYPE_INTERACTION_CREATED,
    S.QUEUED: ev.TYPE_INTERACTION_QUEUED,
    S.OFFERED: ev.TYPE_INTERACTION_OFFERED,
    S.WORK_IN_PROGRESS: ev.TYPE_INTERACTION_ACCEPTED,
    S.ON_HOLD: ev.TYPE_INTERACTION_ON_HOLD,
    S.WRAP_UP: ev.TYPE_INTERACTION_WRAP_UP,
    S.CLOSED: ev.TYPE_INTERACTION_CLOSED,
}


def interaction_event(kind: str, inter: Interaction, ctx: Ctx, note: str | None = None) -> ev.Event:
    """A core ``io.omnisdk.interaction.*`` event about ``inter``."""
    data = inter.model_dump(mode="json")
    if note:
        data["note"] = note
    return ev.Event(
        id=new_id(),
        source="/omnisdk/core",
        type=kind,
        data=data,
        time=ctx.iso,
        subject=inter.id,
        partitionkey=inter.conversation_key,
        correlationid=inter.id,
        causationid=ctx.cause.id if ctx.cause else None,
        traceparent=ctx.cause.traceparent if ctx.cause else None,
    )


def agent_event(agent: Any, ctx: Ctx) -> ev.Event:
    """``io.omnisdk.agent.updated`` for an agent's new settings or presence."""
    return ev.Event(id=new_id(), source="/omnisdk/core", type=ev.TYPE_AGENT_UPDATED,
                    data=agent.model_dump(mode="json"), time=ctx.iso, subject=agent.id)


class Lifecycle:
    """The interaction state machine at work (see the module docstring)."""

    def __init__(self, engine: RoutingEngine, host: PluginHost, settings: LifecycleSettings) -> None:
        self.engine = engine
        self.host = host
        self.settings = settings

    # --- primitives ------------------------------------------------------------------

    def _move(self, ctx: Ctx, inter: Interaction, target: S, note: str | None = None, **changes: Any) -> Interaction:
        """Move ``inter`` to ``target`` with ``changes``.  The object is changed in place when this
        operation already owns it (it is in ``ctx.dirty``: read or made by this operation), which
        saves a model copy per transition; otherwise a changed copy is returned."""
        source = inter.state
        if ctx.dirty.get(inter.id) is inter:
            if target not in TRANSITIONS[source]:
                raise StateError(f"interaction {inter.id}: {source} → {target} is not allowed")
            changes["state"] = target
            changes["updated_at"] = ctx.now
            if target is S.CLOSED:
                changes["closed_at"] = ctx.now
            inter.__dict__.update(changes)
            new = inter
        else:
            new = transition(inter, target, ctx.now, **changes)
            ctx.put(new)
        ctx.logs.append((new.id, ctx.iso, source.value, target.value, new.agent, new.queue, note))
        self._emit(ctx, STATE_EVENT[target], new, note)
        return new

    @staticmethod
    def _emit(ctx: Ctx, kind: str, inter: Interaction, note: str | None = None) -> None:
        if ctx.observe:
            ctx.emitted.append(interaction_event(kind, inter, ctx, note))

    def _get(self, ctx: Ctx, interaction_id: str) -> Interaction:
        inter = ctx.get(interaction_id)
        if inter is None:
            raise NotFoundError(f"no interaction {interaction_id}")
        return inter

    def _queue(self, name: str | None) -> Queue | None:
        return self.engine.queues.get(name) if name else None

    def _send(self, ctx: Ctx, inter: Interaction, text: str, key: str) -> None:
        plugin, _, account = inter.source.strip("/").partition("/")
        if ctx.tx.enqueue_outbox(
            idempotency_key=key, plugin=plugin, account=account, interaction_id=inter.id,
            payload={"customer": inter.customer, "business": inter.business, "text": text,
                     "interaction_id": inter.id},
            now=ctx.ts,
        ):
            ctx.outbox += 1

    def _timer(self, ctx: Ctx, kind: str, inter: Interaction, after: float, **data: Any) -> None:
        ctx.tx.schedule_timer(f"{kind}:{inter.id}", kind, ctx.ts + after, inter.id, data)

    # --- opening and routing -----------------------------------------------------------

    def open_inbound(self, ctx: Ctx, message: Message, key: str, source: str) -> Interaction:
        """A new inbound interaction for a customer message, routed at once."""
        inter = Interaction(
            id=new_id(), channel=message.channel, direction=Direction.INBOUND, state=S.NEW,
            conversation_key=key, source=source, customer=message.customer, business=message.business,
            customer_name=message.customer_name, created_at=ctx.now, updated_at=ctx.now,
            last_customer_message_at=ctx.now, message_count=1,
        )
        attrs = self.host.routing_attributes(inter, message)
        if attrs:
            inter = inter.model_copy(update={
                "language": attrs.pop("language", None) or message.language,
                "attributes": attrs,
            })
        elif message.language:
            inter = inter.model_copy(update={"language": message.language})
        ctx.put(inter)
        ctx.logs.append((inter.id, ctx.iso, None, S.NEW.value, None, None, "customer message"))
        self._emit(ctx, ev.TYPE_INTERACTION_CREATED, inter)
        inter = self.route(ctx, inter, text=message.text)
        if inter.virtual_agent and inter.state is S.WORK_IN_PROGRESS:
            inter = self._virtual_turn(ctx, inter, message)  # the bot answers the first message too
        return inter

    def open_outbound(self, ctx: Ctx, *, agent: str, source: str, channel: Any, customer: str,
                      business: str, key: str, text: str) -> Interaction:
        """An agent-initiated interaction: straight to work_in_progress with ``agent``; the first
        message is queued for sending and reminders are armed."""
        inter = Interaction(
            id=new_id(), channel=channel, direction=Direction.OUTBOUND, state=S.NEW,
            conversation_key=key, source=source, customer=customer, business=business,
            created_at=ctx.now, updated_at=ctx.now,
        )
        ctx.put(inter)
        ctx.logs.append((inter.id, ctx.iso, None, S.NEW.value, agent, None, "outbound"))
        self._emit(ctx, ev.TYPE_INTERACTION_CREATED, inter)
        self.engine.reserve(inter.id, agent, inter.channel, ctx.ts)
        inter = self._move(ctx, inter, S.OFFERED, agent=agent, offered_at=ctx.now, offer_seq=1)
        inter = self._move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now, last_agent=agent)
        self._send(ctx, inter, text, f"outbound:{inter.id}")
        for i, delay in enumerate(self.settings.reminders):
            ctx.tx.schedule_timer(f"reminder{i}:{inter.id}", "reminder", ctx.ts + delay, inter.id, {"n": i})
        return inter

    def route(self, ctx: Ctx, inter: Interaction, *, text: str | None = None) -> Interaction:
        """Queue the interaction and offer it if an agent is free (external queues hand it to
        their CCaaS plugin; virtual-agent queues to their bot)."""
        queue = self._queue(inter.queue) or self.engine.choose_queue(inter, text)
        if queue.routing_source is RoutingSource.EXTERNAL:
            inter = self._to_queued(ctx, inter, queue=queue.name, routing_source=RoutingSource.EXTERNAL,
                                    note=f"routed by {queue.connector}")
            routed = inter
            ctx.after.append(lambda: self.host.external_route(routed, queue))
            return inter
        if queue.virtual_agent and not inter.context.get("escalated"):
            inter = self._to_queued(ctx, inter, queue=queue.name)
            inter = self._move(ctx, inter, S.OFFERED, agent=f"bot:{queue.virtual_agent}",
                               virtual_agent=queue.virtual_agent, offered_at=ctx.now)
            return self._move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now)
        inter = self._to_queued(ctx, inter, queue=queue.name, priority=max(inter.priority, queue.priority))
        self.engine.enqueue(inter, queue.name, (inter.queued_at or ctx.now).timestamp())
        if queue.overflow_to and queue.overflow_after:
            self._timer(ctx, "overflow", inter, queue.overflow_after, queue=queue.name)
        return self.try_assign(ctx, inter, queue)

    def _to_queued(self, ctx: Ctx, inter: Interaction, note: str | None = None, **changes: Any) -> Interaction:
        if inter.state is S.QUEUED:
            inter = inter.model_copy(update=changes)
            ctx.put(inter)
            return inter
        return self._move(ctx, inter, S.QUEUED, note=note, queued_at=ctx.now, agent=None, **changes)

    def try_assign(self, ctx: Ctx, inter: Interaction, queue: Queue) -> Interaction:
        agent = self.engine.choose_agent(inter, queue, ctx.ts)
        return self.offer(ctx, inter, agent, queue) if agent else inter

    def offer(self, ctx: Ctx, inter: Interaction, agent: str, queue: Queue | None,
              note: str | None = None) -> Interaction:
        """Reserve ``agent``'s capacity and offer; arm the offer timer.  ``note`` goes into the
        history row of the offer."""
        self.engine.dequeue(inter.id)
        queued_in = self._queue(inter.queue)
        if queued_in is not None and queued_in.overflow_to:
            ctx.tx.cancel_timers(inter.id, ["overflow"])
        if inter.routing_source is RoutingSource.INTERNAL:
            self.engine.reserve(inter.id, agent, inter.channel, ctx.ts)
        seq = inter.offer_seq + 1
        inter = self._move(ctx, inter, S.OFFERED, note=note, agent=agent, offered_at=ctx.now, offer_seq=seq)
        if inter.routing_source is RoutingSource.INTERNAL:  # a CCaaS times its own offers out
            timeout = queue.offer_timeout if queue else 30.0
            self._timer(ctx, "offer", inter, timeout, seq=seq)
        return inter

    def drain(self, ctx: Ctx, agent: str | None = None) -> None:
        """Offer waiting interactions to free capacity (an agent's, or anyone's)."""
        keys = self.engine.backlogs_for(agent) if agent else self.engine.all_backlogs()
        for queue_name, channel in keys:
            queue = self.engine.queues.get(queue_name)
            pool = self.engine.pools.get((queue_name, channel))
            if queue is None or pool is None:
                continue
            for waiting in self.engine.waiting_in_order(queue_name, channel):
                if not pool.has_free():
                    break
                inter = ctx.get(waiting)
                if inter is None or inter.state is not S.QUEUED:
                    self.engine.dequeue(waiting)
                    continue
                # it stays queued only if every free agent declined it: the ones behind it may
                # still be taken (stopping here would leave free agents idle behind it)
                self.try_assign(ctx, inter, queue)

    # --- agent actions -----------------------------------------------------------------

    def _held_by(self, inter: Interaction, agent: str | None, states: set[S]) -> None:
        if inter.state not in states:
            raise StateError(f"interaction {inter.id} is {inter.state}, not {' or '.join(sorted(states))}")
        if agent is not None and inter.agent != agent:
            raise StateError(f"interaction {inter.id} is not held by {agent}")

    def accept(self, ctx: Ctx, interaction_id: str, agent: str | None = None) -> Interaction:
        inter = self._get(ctx, interaction_id)
        self._held_by(inter, agent, {S.OFFERED})
        ctx.tx.cancel_timers(inter.id, ["offer", "reoffer"])
        return self._move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now, last_agent=inter.agent, declined_by=[])

    def reject(self, ctx: Ctx, interaction_id: str, agent: str | None = None, note: str = "rejected") -> Interaction:
        """The offer goes back to the queue and is offered to someone else."""
        inter = self._get(ctx, interaction_id)
        self._held_by(inter, agent, {S.OFFERED})
        ctx.tx.cancel_timers(inter.id, ["offer"])
        released = self.engine.release(inter.id)
        declined = [*inter.declined_by, inter.agent] if inter.agent else inter.declined_by
        inter = self._move(ctx, inter, S.QUEUED, note=note, agent=None, declined_by=declined, queued_at=ctx.now)
        if inter.routing_source is RoutingSource.EXTERNAL:
            return inter
        queue = self._queue(inter.queue)
        # decliners are skipped for this interaction until the re-offer timer clears the list
        self._timer(ctx, "reoffer", inter, queue.reoffer_after if queue else 60.0)
        inter = self.route(ctx, inter)
        if released:
            self.drain(ctx, released[0])
        return inter

    def assign(self, ctx: Ctx, interaction_id: str, agent: str) -> Interaction:
        """Offer a waiting interaction to a named agent: how a CCaaS connector reports its
        routing decision for an externally routed interaction, or a supervisor's manual
        assignment (capacity is checked for internally routed ones).

        Raises:
            StateError: the interaction is not queued.  NotFoundError: unknown agent (internal).
            CapacityError: the agent has no free capacity (internal).
        """
        inter = self._get(ctx, interaction_id)
        if inter.state is not S.QUEUED:
            raise StateError(f"interaction {inter.id} is {inter.state}, not queued")
        if inter.routing_source is RoutingSource.INTERNAL and agent not in self.engine.agents:
            raise NotFoundError(f"no agent {agent!r}")
        return self.offer(ctx, inter, agent, self._queue(inter.queue))

    def hold(self, ctx: Ctx, interaction_id: str, agent: str | None = None) -> Interaction:
        """Park: capacity is released; the agent stays the owner; the inactivity timer starts."""
        inter = self._get(ctx, interaction_id)
        self._held_by(inter, agent, {S.WORK_IN_PROGRESS})
        released = self.engine.release(inter.id)
        inter = self._move(ctx, inter, S.ON_HOLD, last_agent=inter.agent)
        self._timer(ctx, "inactivity", inter, self.settings.inactivity_timeout)
        if released:
            self.drain(ctx, released[0])
        return inter

    def resume(self, ctx: Ctx, interaction_id: str, agent: str | None = None) -> Interaction:
        """Unpark: the owner takes it back (needs free capacity)."""
        inter = self._get(ctx, interaction_id)
        self._held_by(inter, agent, {S.ON_HOLD})
        ctx.tx.cancel_timers(inter.id, ["inactivity"])
        if inter.agent and inter.routing_source is RoutingSource.INTERNAL and not inter.virtual_agent:
            self.engine.reserve(inter.id, inter.agent, inter.channel, ctx.ts)
        return self._move(ctx, inter, S.WORK_IN_PROGRESS)

    def transfer(self, ctx: Ctx, interaction_id: str, *, to_agent: str | None = None,
                 to_queue: str | None = None, agent: str | None = None) -> Interaction:
        """Hand over to an agent (offered to them; needs their free capacity) or to a queue.
        The previous agent's capacity is released; the history keeps every step."""
        if (to_agent is None) == (to_queue is None):
            raise ValueError("transfer needs exactly one of to_agent or to_queue")
        inter = self._get(ctx, interaction_id)
        self._held_by(inter, agent, {S.WORK_IN_PROGRESS, S.ON_HOLD, S.OFFERED})
        ctx.tx.cancel_timers(inter.id, ["offer", "inactivity"])
        released = self.engine.release(inter.id)
        previous = inter.agent
        note = f"transfer from {previous} to {to_agent or 'queue ' + str(to_queue)}"
        self._emit(ctx, ev.TYPE_INTERACTION_TRANSFERRED, inter, note)
        external = inter.routing_source is RoutingSource.EXTERNAL
        current = self._queue(inter.queue)
        if external:
            moving, target_queue = inter, self._queue(to_queue)
            ctx.after.append(lambda: self.host.external_transfer(moving, to_agent, to_queue, current, target_queue))
        if to_agent is not None:
            if not external:  # a CCaaS's agents are its own business (as in assign)
                target = self.engine.agents.get(to_agent)
                if target is None:
                    raise NotFoundError(f"no agent {to_agent!r}")
                if target.presence is not Presence.AVAILABLE:
                    raise StateError(f"agent {to_agent} is {target.presence}")
            inter = inter.model_copy(update={"last_agent": previous or inter.last_agent, "declined_by": []})
            inter = self.offer(ctx, inter, to_agent, current, note)
        else:
            queue = self._queue(to_queue)
            if queue is None:
                raise NotFoundError(f"no queue {to_queue!r}")
            inter = self._move(ctx, inter, S.QUEUED, note=note, queue=queue.name, agent=None,
                               last_agent=previous or inter.last_agent, declined_by=[], queued_at=ctx.now,
                               routing_source=queue.routing_source)
            # between two queues of one CCaaS connector the CCaaS moves the task itself
            # (omnisdk_external_transfer); routing it again would open a second one
            if not (external and current is not None and queue.routing_source is RoutingSource.EXTERNAL
                    and same_connector(queue.connector, current.connector)):
                inter = self.route(ctx, inter)
        if released:
            self.drain(ctx, released[0])
        return inter

    def wrap_up(self, ctx: Ctx, interaction_id: str, agent: str | None = None) -> Interaction:
        """The conversation is over: the wrap-up timer starts (default code when it fires)."""
        inter = self._get(ctx, interaction_id)
        self._held_by(inter, agent, {S.WORK_IN_PROGRESS, S.ON_HOLD})
        ctx.tx.cancel_timers(inter.id, ["inactivity"])
        if inter.state is S.ON_HOLD and inter.agent and inter.routing_source is RoutingSource.INTERNAL \
                and not inter.virtual_agent:
            # parked items hold no capacity, wrap-up does: take it back (CapacityError if none)
            self.engine.reserve(inter.id, inter.agent, inter.channel, ctx.ts)
        inter = self._move(ctx, inter, S.WRAP_UP)
        self._timer(ctx, "wrap_up", inter, self.settings.wrap_up_timeout)
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
        inter = self._get(ctx, interaction_id)
        if inter.state is S.CLOSED:
            raise StateError(f"interaction {inter.id} is already closed")
        if agent is not None and inter.agent != agent:
            raise StateError(f"interaction {inter.id} is not held by {agent}")
        ctx.tx.cancel_timers(inter.id)
        self.engine.dequeue(inter.id)
        released = self.engine.release(inter.id)
        owner = inter.agent or inter.last_agent
        if inter.state not in (S.WRAP_UP, S.NEW, S.QUEUED):
            inter = self._move(ctx, inter, S.WRAP_UP, note=note)
        inter = self._move(ctx, inter, S.CLOSED, note=note, wrap_up_code=code,
                           last_agent=owner if owner and not owner.startswith("bot:") else inter.last_agent)
        if inter.routing_source is RoutingSource.EXTERNAL and sync_external:
            closed, queue = inter, self._queue(inter.queue)
            ctx.after.append(lambda: self.host.external_wrap_up(closed, code, queue))
        if owner and not owner.startswith("bot:"):
            self.engine.remember(inter.conversation_key, owner, ctx.ts)
        if released:
            self.drain(ctx, released[0])
        return inter

    def set_presence(self, ctx: Ctx, agent_id: str, presence: Presence) -> None:
        """Change an agent's presence; becoming available drains the backlog."""
        agent = self.engine.set_presence(agent_id, presence)
        ctx.tx.save_agent(agent.model_dump(mode="json"))
        ctx.emitted.append(agent_event(agent, ctx))
        if presence is Presence.AVAILABLE:
            self.drain(ctx, agent_id)

    # --- customer messages -------------------------------------------------------------

    def customer_message(self, ctx: Ctx, inter: Interaction, message: Message) -> Interaction:
        """A customer message for an active interaction (ownership rules in docs/lifecycle.md)."""
        inter = inter.model_copy(update={
            "message_count": inter.message_count + 1,
            "last_customer_message_at": ctx.now,
            "customer_name": message.customer_name or inter.customer_name,
            "updated_at": ctx.now,
        })
        ctx.put(inter)
        if inter.direction is Direction.OUTBOUND and self.settings.reminders:
            ctx.tx.cancel_timers(inter.id, ["reminder"])  # the customer answered
        self.on_event(ctx, inter, ActionEvent.CUSTOMER_MESSAGE)
        if inter.state is S.ON_HOLD:
            ctx.tx.cancel_timers(inter.id, ["inactivity"])
            owner = inter.agent
            if owner and self.engine.free(owner, inter.channel) > 0 and \
                    self.engine.agents[owner].presence is Presence.AVAILABLE:
                self.engine.reserve(inter.id, owner, inter.channel, ctx.ts)
                return self._move(ctx, inter, S.WORK_IN_PROGRESS, note="customer replied; back to its owner")
            inter = self._move(ctx, inter, S.QUEUED, note="customer replied; owner unavailable",
                               agent=None, queued_at=ctx.now)
            return self.route(ctx, inter)
        if inter.virtual_agent and inter.state is S.WORK_IN_PROGRESS:
            return self._virtual_turn(ctx, inter, message)
        self._emit(ctx, ev.TYPE_INTERACTION_MESSAGE_ADDED, inter)
        return inter

    def _virtual_turn(self, ctx: Ctx, inter: Interaction, message: Message) -> Interaction:
        history = ctx.tx.messages_of(inter.id)
        turn = self.host.virtual_agent_turn(inter, message, history)
        if turn is None:
            return inter
        if turn.reply:
            self._send(ctx, inter, turn.reply, f"bot:{inter.id}:{inter.message_count}")
        if not turn.escalate:
            return inter
        context = {**inter.context, **turn.context, "escalated": True, "bot": inter.virtual_agent}
        inter = self._move(ctx, inter, S.QUEUED, note=f"escalated by {inter.virtual_agent}", agent=None,
                           virtual_agent=None, context=context, queued_at=ctx.now,
                           queue=turn.queue or inter.queue)
        return self.route(ctx, inter)

    def reply(self, ctx: Ctx, interaction_id: str, text: str, key: str, agent: str | None = None) -> None:
        """An agent's text to the customer, queued in the outbox under ``key``; messaging actions
        on agent messages re-arm.

        Raises:
            NotFoundError: unknown interaction.  StateError: not accepted work (see
            :data:`REPLYABLE`) or, with ``agent``, held by someone else.
        """
        inter = self._get(ctx, interaction_id)
        self._held_by(inter, agent, REPLYABLE)
        self._send(ctx, inter, text, key)
        self.on_event(ctx, inter, ActionEvent.AGENT_MESSAGE)

    # --- messaging actions -------------------------------------------------------------

    def on_event(self, ctx: Ctx, inter: Interaction, event: ActionEvent) -> None:
        for action in self.settings.actions:
            if action.cancel_on is event:
                ctx.tx.cancel_timers(inter.id, [f"action:{action.name}"])
            if action.event is event:
                ctx.tx.schedule_timer(f"action:{action.name}:{inter.id}", f"action:{action.name}",
                                      ctx.ts + action.after, inter.id, {})

    def _run_action(self, ctx: Ctx, inter: Interaction, action: MessagingAction) -> None:
        fields = inter.model_dump(mode="json")
        if any(str(fields.get(k)) != v for k, v in action.when.items()):
            return
        detail = f"{action.name}: {action.action}" + (f": {action.text}" if action.text else "")
        self._emit(ctx, ev.TYPE_INTERACTION_ACTION, inter, detail)
        if action.action is ActionKind.NOTIFY_CUSTOMER:
            self._send(ctx, inter, action.text or "", f"action:{action.name}:{inter.id}:{ctx.ts:.0f}")
        elif action.action is ActionKind.REASSIGN and inter.state in (S.WORK_IN_PROGRESS, S.ON_HOLD, S.OFFERED):
            self.transfer(ctx, inter.id, to_queue=inter.queue or next(iter(self.engine.queues)))
        elif action.action is ActionKind.SET_STATE and action.state is S.ON_HOLD and inter.state is S.WORK_IN_PROGRESS:
            self.hold(ctx, inter.id)
        elif action.action is ActionKind.SET_STATE and action.state is S.WRAP_UP and inter.state in (S.WORK_IN_PROGRESS, S.ON_HOLD):
            self.wrap_up(ctx, inter.id)

    # --- timers --------------------------------------------------------------------------

    def fire(self, ctx: Ctx, timer: TimerRow) -> None:
        """Run one due timer (exactly once: it was claimed in this transaction)."""
        inter = ctx.get(timer.interaction_id) if timer.interaction_id else None
        if inter is None or inter.state is S.CLOSED:
            return
        kind = timer.kind
        if kind == "offer" and inter.state is S.OFFERED and inter.offer_seq == timer.data.get("seq"):
            self.reject(ctx, inter.id, note="offer timed out")
        elif kind == "wrap_up" and inter.state is S.WRAP_UP:
            self.close(ctx, inter.id, self.settings.default_wrap_up_code, note="wrap-up timeout")
        elif kind == "inactivity" and inter.state is S.ON_HOLD:
            self.close(ctx, inter.id, "Closed due to customer inactivity", note="customer inactive")
        elif kind == "overflow" and inter.state is S.QUEUED and inter.queue == timer.data.get("queue"):
            queue = self._queue(inter.queue)
            target = self._queue(queue.overflow_to) if queue else None
            if target is not None:
                note = f"overflow from {queue.name}"
                inter = inter.model_copy(update={"queue": target.name, "updated_at": ctx.now})
                ctx.put(inter)
                ctx.logs.append((inter.id, ctx.iso, S.QUEUED.value, S.QUEUED.value, None, target.name, note))
                self._emit(ctx, ev.TYPE_INTERACTION_QUEUED, inter, note)
                self.route(ctx, inter)
        elif kind == "reoffer" and inter.declined_by:
            inter = inter.model_copy(update={"declined_by": []})
            ctx.put(inter)
            queue = self._queue(inter.queue)
            if inter.state is S.QUEUED and queue is not None and inter.routing_source is RoutingSource.INTERNAL:
                self.try_assign(ctx, inter, queue)
        elif kind == "reminder" and inter.state in (S.WORK_IN_PROGRESS, S.ON_HOLD) and \
                inter.last_customer_message_at is None:
            self._send(ctx, inter, self.settings.reminder_text, f"{timer.key}")
        elif kind.startswith("action:"):
            name = kind.split(":", 1)[1]
            for action in self.settings.actions:
                if action.name == name:
                    self._run_action(ctx, inter, action)

    # --- cases -----------------------------------------------------------------------------

    def create_case(self, ctx: Ctx, interaction_id: str, subject: str | None = None,
                    agent: str | None = None) -> dict[str, Any]:
        """Open a case from an interaction: context and history copied and linked, the customer
        notified through the channel, the interaction closed with "Task created"."""
        inter = self._get(ctx, interaction_id)
        if inter.state is S.CLOSED:
            raise StateError(f"interaction {inter.id} is closed")
        number = f"CS{ctx.tx.next_number('case'):07d}"
        case = {
            "id": new_id(), "number": number, "subject": subject or f"{inter.channel} request from {inter.customer}",
            "customer": inter.customer, "interaction_ids": [inter.id], "created_at": ctx.iso,
            "context": inter.model_dump(mode="json"), "history": ctx.tx.messages_of(inter.id),
            "transitions": ctx.tx.interaction_history(inter.id),
        }
        ctx.tx.save_case(case)
        inter = inter.model_copy(update={"case_id": case["id"]})
        ctx.put(inter)
        ctx.emitted.append(ev.Event(id=case["id"], source="/omnisdk/core", type=ev.TYPE_CASE_CREATED,
                                    data={k: case[k] for k in ("id", "number", "subject", "customer", "interaction_ids", "created_at")},
                                    time=ctx.iso, subject=number, correlationid=inter.id))
        self._send(ctx, inter, self.settings.case_created_text.format(number=number), f"case:{case['id']}")
        self.close(ctx, inter.id, "Task created", agent=agent, note=f"case {number}")
        return case

    def link_case(self, ctx: Ctx, interaction_id: str, case_id: str) -> dict[str, Any]:
        """Link an interaction to an existing case (by id or number)."""
        inter = self._get(ctx, interaction_id)
        case = ctx.tx.get_case(case_id)
        if case is None:
            raise NotFoundError(f"no case {case_id}")
        if inter.id not in case["interaction_ids"]:
            case["interaction_ids"].append(inter.id)
            ctx.tx.save_case(case)
        ctx.put(inter.model_copy(update={"case_id": case["id"]}))
        return case


def same_connector(a: str | None, b: str | None) -> bool:
    """Whether two queues' ``connector`` values name the same CCaaS connector account
    (``"name"`` names the plugin's only account, ``"name/account"`` one of several)."""
    if not a or not b:
        return False
    (name_a, _, account_a), (name_b, _, account_b) = a.partition("/"), b.partition("/")
    return name_a == name_b and (not account_a or not account_b or account_a == account_b)


def held_capacity(inter: Interaction) -> bool:
    """Whether an interaction in this state counts against its agent's capacity."""
    return inter.state in HOLDS_CAPACITY and bool(inter.agent) and inter.routing_source is RoutingSource.INTERNAL \
        and not inter.virtual_agent


def rebuild(engine: RoutingEngine, tx: Any, now_ts: float, affinity_window: float) -> None:
    """Restore the engine's in-memory state from the store (at start-up, or after a failed
    commit): agents and queues saved by the API, held capacity, the backlog, affinity."""
    from datetime import datetime

    from omnisdk.routing.model import Agent, Queue

    for doc in tx.list_queues():
        engine.put_queue(Queue.model_validate(doc))
    for doc in tx.list_agents():
        engine.put_agent(Agent.model_validate(doc))
    for inter in tx.list_interactions_in([s.value for s in (S.QUEUED, *HOLDS_CAPACITY)]):
        if held_capacity(inter) and inter.agent in engine.agents:
            engine.reserve(inter.id, inter.agent, inter.channel, now_ts, force=True)
        elif inter.state is S.QUEUED and inter.routing_source is RoutingSource.INTERNAL and inter.queue:
            engine.enqueue(inter, inter.queue, (inter.queued_at or inter.created_at).timestamp())
    since = datetime.fromtimestamp(now_ts - affinity_window, UTC) - timedelta(seconds=0)
    for key, agent, closed_at in tx.last_served(since.isoformat().replace("+00:00", "Z")):
        engine.remember(key, agent, datetime.fromisoformat(closed_at.replace("Z", "+00:00")).timestamp())
    engine.commit()
