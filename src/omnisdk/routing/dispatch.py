"""Routing dispatch: the routing engine's decisions applied to interactions.

:class:`Dispatch` turns :class:`~omnisdk.routing.engine.RoutingEngine` decisions into
lifecycle moves, inside the operation's transaction (``ctx``):

- :meth:`~Dispatch.route`: choose a queue; hand external queues to their CCaaS plugin
  (``omnisdk_external_route``, after the commit), virtual-agent queues to their bot, and
  otherwise queue the interaction (``queued``, overflow timer armed) and offer it if an agent
  is free;
- :meth:`~Dispatch.offer`: reserve the agent's capacity, ``offered``, offer timer armed;
- :meth:`~Dispatch.drain`: offer waiting interactions to capacity that has just freed;
- :meth:`~Dispatch.overflow`: move a waiting interaction to its queue's overflow queue.

:func:`rebuild` restores the engine's in-memory state from the store (start-up, failed commit).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from omnisdk import events as ev
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.states import HOLDS_CAPACITY, held_capacity
from omnisdk.lifecycle.transitions import arm_timer, emit, move
from omnisdk.model import Interaction, RoutingSource
from omnisdk.model import InteractionState as S
from omnisdk.outbound.connector_calls import queue_route
from omnisdk.plugins import PluginHost
from omnisdk.routing.engine import RoutingEngine
from omnisdk.routing.model import Agent, Queue
from omnisdk.store.rows import HistoryRow

DEFAULT_OFFER_TIMEOUT = 30.0
"""Seconds an offer waits for an accept when the interaction has no queue."""


class Dispatch:
    """Routing decisions applied to interactions (see the module docstring).

    Raises (from its methods): :class:`omnisdk.routing.engine.CapacityError` when a reservation
    finds no free capacity, :class:`omnisdk.errors.StateError` for a move the state machine
    forbids.
    """

    def __init__(self, engine: RoutingEngine, host: PluginHost) -> None:
        self.engine = engine
        self.host = host

    def queue(self, name: str | None) -> Queue | None:
        """The configured queue ``name`` (None for None or an unknown name)."""
        return self.engine.queues.get(name) if name else None

    def route(self, ctx: Ctx, inter: Interaction, *, text: str | None = None) -> Interaction:
        """Queue the interaction and offer it if an agent is free (external queues hand it to
        their CCaaS plugin; virtual-agent queues to their bot).  ``text`` is the customer's
        message, for keyword conditions."""
        queue = self.queue(inter.queue) or self.engine.choose_queue(inter, text)
        if queue.routing_source is RoutingSource.EXTERNAL:
            inter = self._to_queued(ctx, inter, queue=queue.name, routing_source=RoutingSource.EXTERNAL,
                                    note=f"routed by {queue.connector}")
            routed = inter
            queue_route(ctx, self.host, routed, queue)  # durable: an outbox row in this transaction
            ctx.after.append(lambda: self.host.omnisdk_external_route(routed, queue))
            return inter
        if queue.virtual_agent and not inter.context.get("escalated"):
            inter = self._to_queued(ctx, inter, queue=queue.name)
            inter = move(ctx, inter, S.OFFERED, agent=f"bot:{queue.virtual_agent}",
                         virtual_agent=queue.virtual_agent, offered_at=ctx.now)
            return move(ctx, inter, S.WORK_IN_PROGRESS, accepted_at=ctx.now)
        inter = self._to_queued(ctx, inter, queue=queue.name, priority=max(inter.priority, queue.priority))
        self.engine.enqueue(inter, queue.name, (inter.queued_at or ctx.now).timestamp())
        if queue.overflow_to and queue.overflow_after:
            arm_timer(ctx, "overflow", inter, queue.overflow_after, queue=queue.name)
        return self.try_assign(ctx, inter, queue)

    def _to_queued(self, ctx: Ctx, inter: Interaction, note: str | None = None, **changes: Any) -> Interaction:
        if inter.state is S.QUEUED:
            inter = inter.model_copy(update=changes)
            ctx.put(inter)
            return inter
        return move(ctx, inter, S.QUEUED, note=note, queued_at=ctx.now, agent=None, **changes)

    def try_assign(self, ctx: Ctx, inter: Interaction, queue: Queue) -> Interaction:
        """Offer ``inter`` to the agent the engine chooses in ``queue``, if any (else unchanged)."""
        agent = self.engine.choose_agent(inter, queue, ctx.ts)
        return self.offer(ctx, inter, agent, queue) if agent else inter

    def offer(self, ctx: Ctx, inter: Interaction, agent: str, queue: Queue | None,
              note: str | None = None) -> Interaction:
        """Reserve ``agent``'s capacity and offer; arm the offer timer (``queue.offer_timeout``
        seconds; none for an externally routed interaction, whose CCaaS times its own offers
        out).  ``note`` goes into the history row of the offer."""
        self.engine.dequeue(inter.id)
        queued_in = self.queue(inter.queue)
        if queued_in is not None and queued_in.overflow_to:
            ctx.tx.cancel_timers(inter.id, ["overflow"])
        if inter.routing_source is RoutingSource.INTERNAL:
            self.engine.reserve(inter.id, agent, inter.channel, ctx.ts)
        seq = inter.offer_seq + 1
        inter = move(ctx, inter, S.OFFERED, note=note, agent=agent, offered_at=ctx.now, offer_seq=seq)
        if inter.routing_source is RoutingSource.INTERNAL:
            timeout = queue.offer_timeout if queue else DEFAULT_OFFER_TIMEOUT
            arm_timer(ctx, "offer", inter, timeout, seq=seq)
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

    def overflow(self, ctx: Ctx, inter: Interaction) -> Interaction:
        """Move a waiting interaction to its queue's ``overflow_to`` queue and route it there
        (history note and ``io.omnisdk.interaction.queued`` note ``overflow from <queue>``).
        Unchanged if its queue has no configured overflow queue."""
        queue = self.queue(inter.queue)
        target = self.queue(queue.overflow_to) if queue else None
        if queue is None or target is None:
            return inter
        note = f"overflow from {queue.name}"
        inter = inter.model_copy(update={"queue": target.name, "updated_at": ctx.now})
        ctx.put(inter)
        ctx.logs.append(HistoryRow(inter.id, ctx.iso, S.QUEUED.value, S.QUEUED.value, None, target.name, note))
        emit(ctx, ev.TYPE_INTERACTION_QUEUED, inter, note)
        return self.route(ctx, inter)


def rebuild(engine: RoutingEngine, tx: Any, now_ts: float, affinity_window: float) -> None:
    """Restore the engine's in-memory state from the store (at start-up, or after a failed
    commit): agents and queues saved by the API, held capacity, the backlog, and affinity for
    conversations closed within ``affinity_window`` seconds before ``now_ts`` (epoch seconds).
    ``tx`` is a store transaction."""
    for doc in tx.list_queues():
        engine.put_queue(Queue.model_validate(doc))
    for doc in tx.list_agents():
        engine.put_agent(Agent.model_validate(doc))
    for inter in tx.list_interactions_in([s.value for s in (S.QUEUED, *HOLDS_CAPACITY)]):
        if held_capacity(inter) and inter.agent in engine.agents:
            engine.reserve(inter.id, inter.agent, inter.channel, now_ts, force=True)
        elif inter.state is S.QUEUED and inter.routing_source is RoutingSource.INTERNAL and inter.queue:
            engine.enqueue(inter, inter.queue, (inter.queued_at or inter.created_at).timestamp())
    since = datetime.fromtimestamp(now_ts - affinity_window, UTC)
    for key, agent, closed_at in tx.last_served(since.isoformat().replace("+00:00", "Z")):
        engine.remember(key, agent, datetime.fromisoformat(closed_at.replace("Z", "+00:00")).timestamp())
    engine.commit()
