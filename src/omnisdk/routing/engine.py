"""The routing engine: in-memory routing state, decisions, and an undo journal.

State (rebuilt from the store at start-up by :meth:`RoutingEngine.rebuild`):

- ``load[agent][channel]``: items each agent holds capacity for;
- ``holder[interaction]``: the (agent, channel) an interaction holds capacity with — at most one,
  so no interaction is ever held by two agents;
- pools per (queue, channel) of agents with free capacity (see :mod:`omnisdk.routing.pool`);
- the backlog per (queue, channel), highest priority then oldest first;
- affinity: the agent who last served each conversation, and when.

Mutations happen inside the store transaction of the operation that causes them and are
journaled: if that operation fails, :meth:`RoutingEngine.rollback_to` undoes them, so memory and
the store never disagree.  Capacity is checked on every reservation (:class:`CapacityError`).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator

from omnisdk.errors import NotFoundError, StateError
from omnisdk.model import Interaction
from omnisdk.plugins import PluginHost
from omnisdk.routing.model import DEFAULT_ITEM_SIZE, Agent, Presence, Queue
from omnisdk.routing.pool import Pool


class CapacityError(StateError):
    """The agent has no free capacity on that channel (HTTP 409)."""


class RoutingEngine:
    """Queue choice, agent choice and capacity bookkeeping.  Single writer: call it only from
    inside store transactions (the store runs them one at a time)."""

    def __init__(
        self,
        queues: Iterable[Queue],
        agents: Iterable[Agent],
        host: PluginHost,
        *,
        item_size: dict[str, float] | None = None,
        affinity_window: float = 86400.0,
    ) -> None:
        self.host = host
        self.item_size = {**DEFAULT_ITEM_SIZE, **(item_size or {})}
        self.affinity_window = affinity_window
        self._configured = (list(queues), list(agents))
        self.reset()

    def reset(self) -> None:
        """Forget all state; back to the configured queues and agents."""
        queues, agents = self._configured
        self.queues: dict[str, Queue] = {}
        self.agents: dict[str, Agent] = {}
        self.load: dict[str, dict[str, int]] = {}
        self.holder: dict[str, tuple[str, str]] = {}
        self.pools: dict[tuple[str, str], Pool] = {}
        self.backlog: dict[tuple[str, str], list[tuple[int, float, int, str]]] = {}
        self.waiting: dict[str, tuple[str, str, int]] = {}  # interaction → (queue, channel, seq)
        self.affinity: dict[str, tuple[str, float]] = {}
        self.idle_since: dict[str, float] = {}
        self._keys: dict[str, list[tuple[str, str]]] = {}  # agent → its pools
        self._seq = itertools.count()
        self._journal: list[Callable[[], None]] = []
        for q in queues:
            self.queues[q.name] = q
        if not self.queues:
            self.queues["default"] = Queue(name="default")
        for a in agents:
            self.put_agent(a)

    # --- journal ---------------------------------------------------------------------

    def mark(self) -> int:
        """A point to roll back to."""
        return len(self._journal)

    def rollback_to(self, mark: int) -> None:
        """Undo every mutation since ``mark`` (newest first)."""
        while len(self._journal) > mark:
            self._journal.pop()()

    def commit(self) -> None:
        """Forget the journal (the store committed)."""
        self._journal.clear()

    # --- agents and queues ---------------------------------------------------------------

    def put_agent(self, agent: Agent) -> None:
        """Add or replace an agent (presence, skills, capacity)."""
        old = self.agents.get(agent.id)
        self.agents[agent.id] = agent
        self.load.setdefault(agent.id, {})
        self.idle_since.setdefault(agent.id, 0.0)
        self._journal.append(lambda: self._restore_agent(agent.id, old))
        self._reindex(agent.id, previous=old)

    def _restore_agent(self, agent_id: str, old: Agent | None) -> None:
        current = self.agents.get(agent_id)
        if old is None:
            self.agents.pop(agent_id, None)
        else:
            self.agents[agent_id] = old
        self._reindex(agent_id, previous=current, journal=False)

    def put_queue(self, queue: Queue) -> None:
        old = self.queues.get(queue.name)

        def undo() -> None:
            if old:
                self.queues[queue.name] = old
            else:
                self.queues.pop(queue.name)
            self._reindex_all()

        self.queues[queue.name] = queue
        self._journal.append(undo)
        self._reindex_all()

    def _reindex_all(self) -> None:
        for agent_id in self.agents:
            self._keys.pop(agent_id, None)
            for pool in self.pools.values():
                pool.remove(agent_id)
            self._reindex(agent_id, previous=None)

    def set_presence(self, agent_id: str, presence: Presence) -> Agent:
        """Change presence.  Raises StateError for an unknown agent."""
        agent = self._agent(agent_id)
        updated = agent.model_copy(update={"presence": presence})
        self.put_agent(updated)
        return updated

    def _agent(self, agent_id: str) -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise NotFoundError(f"no agent {agent_id!r}")
        return agent

    def _pool_keys(self, agent: Agent) -> list[tuple[str, str]]:
        return [
            (q.name, ch)
            for q in self.queues.values()
            if agent.serves(q)
            for ch in agent.capacity
            if q.accepts(ch)
        ]

    def _reindex(self, agent_id: str, previous: Agent | None, journal: bool = True) -> None:
        agent = self.agents.get(agent_id)
        old_keys = set(self._keys.get(agent_id, ()))
        new_keys = self._pool_keys(agent) if agent else []
        for key in old_keys - set(new_keys):
            pool = self.pools.get(key)
            if pool is not None:
                pool.remove(agent_id)
        if agent is None:
            self._keys.pop(agent_id, None)
            return
        self._keys[agent_id] = new_keys
        self._refresh(agent)

    def _refresh(self, agent: Agent) -> None:
        load = self.load.get(agent.id, {})
        available = agent.presence is Presence.AVAILABLE
        since = self.idle_since.get(agent.id, 0.0)
        for key in self._keys.get(agent.id, ()):
            free = agent.free(key[1], load, self.item_size) if available else 0
            self.pools.setdefault(key, Pool()).set(agent.id, free, since)

    # --- capacity --------------------------------------------------------------------

    def free(self, agent_id: str, channel: str) -> int:
        agent = self.agents.get(agent_id)
        if agent is None:
            return 0
        return agent.free(channel, self.load.get(agent_id, {}), self.item_size)

    def reserve(self, interaction_id: str, agent_id: str, channel: str, now: float, *, force: bool = False) -> None:
        """Count one item of ``channel`` against ``agent_id`` for ``interaction_id``.

        Raises:
            CapacityError: no free capacity (unless ``force``, used when rebuilding).
            StateError: the interaction already holds capacity with someone.
        """
        if interaction_id in self.holder:
            raise StateError(f"interaction {interaction_id} is already held by {self.holder[interaction_id][0]}")
        agent = self._agent(agent_id)
        if not force and agent.free(channel, self.load.get(agent_id, {}), self.item_size) <= 0:
            raise CapacityError(f"agent {agent_id} has no free {channel} capacity")
        load = self.load.setdefault(agent_id, {})
        load[channel] = load.get(channel, 0) + 1
        self.holder[interaction_id] = (agent_id, channel)
        previous_idle = self.idle_since.get(agent_id, 0.0)
        self.idle_since[agent_id] = now
        self._refresh(agent)  # the pools take the new idle clock too

        def undo() -> None:
            load[channel] -= 1
            del self.holder[interaction_id]
            self.idle_since[agent_id] = previous_idle
            if agent_id in self.agents:
                self._refresh(self.agents[agent_id])

        self._journal.append(undo)

    def release(self, interaction_id: str) -> tuple[str, str] | None:
        """Free the capacity an interaction holds; returns (agent, channel) or None."""
        held = self.holder.pop(interaction_id, None)
        if held is None:
            return None
        agent_id, channel = held
        load = self.load[agent_id]
        load[channel] -= 1
        if agent_id in self.agents:
            self._refresh(self.agents[agent_id])

        def undo() -> None:
            load[channel] += 1
            self.holder[interaction_id] = held
            if agent_id in self.agents:
                self._refresh(self.agents[agent_id])

        self._journal.append(undo)
        return held

    # --- backlog ---------------------------------------------------------------------

    def enqueue(self, interaction: Interaction, queue: str, queued_at: float) -> None:
        """Put an interaction in a queue's backlog (replacing any earlier place)."""
        self.dequeue(interaction.id)
        key = (queue, interaction.channel)
        seq = next(self._seq)
        heapq.heappush(self.backlog.setdefault(key, []), (-interaction.priority, queued_at, seq, interaction.id))
        self.waiting[interaction.id] = (queue, interaction.channel, seq)
        self._journal.append(lambda: self.waiting.pop(interaction.id, None))

    def dequeue(self, interaction_id: str) -> None:
        """Remove from the backlog (lazily: the heap entry is skipped later)."""
        old = self.waiting.pop(interaction_id, None)
        if old is not None:
            self._journal.append(lambda: self.waiting.__setitem__(interaction_id, old))

    def next_waiting(self, queue: str, channel: str) -> str | None:
        """The interaction at the head of a backlog, or None."""
        heap = self.backlog.get((queue, channel))
        while heap:
            _, _, seq, iid = heap[0]
            w = self.waiting.get(iid)
            if w is not None and w[2] == seq:
                return iid
            heapq.heappop(heap)
        return None

    def waiting_in_order(self, queue: str, channel: str) -> Iterator[str]:
        """Every interaction waiting in a backlog, head first, lazily (O(log n) each, the heap
        left as it is): for a drain that must look past a head no free agent can take.  Stops
        if the backlog grows meanwhile."""
        heap = self.backlog.get((queue, channel))
        if not heap:
            return
        size = len(heap)
        frontier = [(heap[0], 0)]
        while frontier and len(heap) == size:
            (_, _, seq, iid), i = heapq.heappop(frontier)
            w = self.waiting.get(iid)
            if w is not None and w[2] == seq:
                yield iid
            for child in (2 * i + 1, 2 * i + 2):
                if child < size:
                    heapq.heappush(frontier, (heap[child], child))

    def backlogs_for(self, agent_id: str) -> list[tuple[str, str]]:
        """The (queue, channel) backlogs an agent could take work from, highest priority first."""
        agent = self.agents.get(agent_id)
        if agent is None:
            return []
        keys = [k for k in self._keys.get(agent_id, ()) if self.next_waiting(*k)]
        return sorted(keys, key=lambda k: -self.queues[k[0]].priority)

    def all_backlogs(self) -> list[tuple[str, str]]:
        keys = [k for k in self.backlog if self.next_waiting(*k)]
        return sorted(keys, key=lambda k: -self.queues[k[0]].priority if k[0] in self.queues else 0)

    # --- decisions -------------------------------------------------------------------

    def choose_queue(self, interaction: Interaction, text: str | None = None) -> Queue:
        """A plugin's valid choice (``omnisdk_select_queue``), else the first matching queue,
        else the first queue accepting the channel, else the first queue."""
        queues = self.queues.values()
        if self.host.implements("omnisdk_select_queue"):
            choice = self.host.omnisdk_select_queue(interaction, list(queues))
            if choice in self.queues:
                return self.queues[choice]
        lowered = (text or "").lower()  # once, not once per queue with keywords
        for q in queues:
            if q.matches(interaction.channel, interaction.language, lowered, interaction.attributes, lowered=True):
                return q
        for q in queues:
            if q.accepts(interaction.channel):
                return q
        return next(iter(queues))

    def choose_agent(self, interaction: Interaction, queue: Queue, now: float) -> str | None:
        """An available agent of ``queue`` with free capacity on the channel, or None.

        Order: affinity (the conversation's last agent within the
        window), a plugin's choice (``omnisdk_select_agent``), then the queue's strategy.
        Agents that declined this interaction are skipped.
        """
        pool = self.pools.get((queue.name, interaction.channel))
        if pool is None or not pool.has_free():
            return None
        excluded = set(interaction.declined_by)
        last = self.affinity.get(interaction.conversation_key)
        if last and now - last[1] <= self.affinity_window and last[0] not in excluded and pool.free.get(last[0], 0) > 0:
            return last[0]
        if self.host.implements("omnisdk_select_agent"):
            candidates = [self.agents[a] for a in pool.candidates() if a not in excluded]
            choice = self.host.omnisdk_select_agent(interaction, queue, candidates)
            if choice is not None and pool.free.get(choice, 0) > 0 and choice not in excluded:
                return choice
        return pool.pick(queue.strategy, excluded)

    def remember(self, conversation_key: str, agent_id: str, at: float) -> None:
        """Record affinity: ``agent_id`` served this conversation at ``at`` (epoch seconds)."""
        old = self.affinity.get(conversation_key)
        self.affinity[conversation_key] = (agent_id, at)
        self._journal.append(
            lambda: self.affinity.__setitem__(conversation_key, old) if old else self.affinity.pop(conversation_key, None)
        )
