"""Live routing state as the API and the CLI show it: agents with load, queues with backlog.

Pure functions over the core's models, so the gateway (which reads the running engine) and
``omnisdk agents`` / ``omnisdk queues`` (which read the SQLite store of a gateway that may be
running elsewhere) answer with the same JSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from omnisdk.events import rfc3339
from omnisdk.lifecycle.states import HOLDS_CAPACITY, held_capacity
from omnisdk.model import Interaction, InteractionState, RoutingSource
from omnisdk.routing.model import DEFAULT_ITEM_SIZE, Agent, Presence, Queue


def agent_status(agent: Agent, load: dict[str, int], item_size: dict[str, float] | None = None) -> dict[str, Any]:
    """The agent as JSON with ``load`` ``{channel: items}`` and ``free_capacity`` ``{channel: items}``
    (what it could still take: 0 on every channel unless available)."""
    available = agent.presence is Presence.AVAILABLE
    free = {ch: agent.free(ch, load, item_size) if available else 0 for ch in agent.capacity}
    return {**agent.model_dump(mode="json"), "load": {k: v for k, v in load.items() if v}, "free_capacity": free}


def queue_status(queue: Queue, waiting: int) -> dict[str, Any]:
    return {**queue.model_dump(mode="json"), "waiting": waiting}


def loads_from(interactions: Iterable[Interaction]) -> dict[str, dict[str, int]]:
    """``{agent: {channel: items}}`` from the interactions that hold capacity (offered,
    work_in_progress, wrap_up; internally routed; not with a bot) — as the engine counts."""
    out: dict[str, dict[str, int]] = {}
    for inter in interactions:
        if held_capacity(inter):
            per = out.setdefault(inter.agent or "", {})
            per[inter.channel] = per.get(inter.channel, 0) + 1
    return out


def waiting_from(interactions: Iterable[Interaction]) -> dict[str, int]:
    """``{queue: count}`` of interactions waiting in the core's queues (queued, routed internally)."""
    out: dict[str, int] = {}
    for inter in interactions:
        if inter.state is InteractionState.QUEUED and inter.routing_source is RoutingSource.INTERNAL and inter.queue:
            out[inter.queue] = out.get(inter.queue, 0) + 1
    return out


def window_view(closes_at: float | None, now: float) -> dict[str, Any]:
    """``window_closes_at`` (RFC 3339 UTC, or None: no window, or the customer never wrote)
    and ``window_open`` (None: the channel has no window) of an interaction, from
    :func:`omnisdk.outbound.enqueue.window_closes_at` (epoch seconds)."""
    return {"window_closes_at": rfc3339(datetime.fromtimestamp(closes_at, UTC)) if closes_at else None,
            "window_open": None if closes_at is None else closes_at > now}


LIVE_STATES = [s.value for s in (InteractionState.QUEUED, *HOLDS_CAPACITY)]
"""The states :func:`snapshot` needs to read."""


def snapshot(settings: Any, tx: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Agents and queues (configuration, then what the API saved in the store on top, as the
    runtime rebuilds them at start-up) with load and waiting counts, read from a store
    transaction (``tx``: list_agents, list_queues, list_interactions_in)."""
    queues: dict[str, Queue] = {q.name: q for q in settings.routing.queues}
    if not queues:
        queues["default"] = Queue(name="default")
    for doc in tx.list_queues():
        q = Queue.model_validate(doc)
        queues[q.name] = q
    agents: dict[str, Agent] = {a.id: a for a in settings.routing.agents}
    for doc in tx.list_agents():
        a = Agent.model_validate(doc)
        agents[a.id] = a
    live = tx.list_interactions_in(LIVE_STATES)
    loads = loads_from(live)
    waiting = waiting_from(live)
    sizes = {**DEFAULT_ITEM_SIZE, **settings.routing.item_size}
    return (
        [agent_status(a, loads.get(a.id, {}), sizes) for a in agents.values()],
        [queue_status(q, waiting.get(q.name, 0)) for q in queues.values()],
    )
