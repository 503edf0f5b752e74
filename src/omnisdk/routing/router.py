"""The internal router (v1): queue choice, then the agent with the most free capacity.

Decisions can be replaced by plugins through ``omnisdk_select_queue`` and
``omnisdk_select_agent``; the router still refuses any choice that would exceed capacity.
"""

from __future__ import annotations

from collections.abc import Sequence

from omnisdk.model import Interaction
from omnisdk.plugins import PluginHost
from omnisdk.routing.model import Agent, Presence, Queue
from omnisdk.store.base import Transaction

DEFAULT_QUEUE = Queue(name="default")


class Router:
    """Chooses a queue and an agent for interactions routed internally."""

    def __init__(self, queues: Sequence[Queue], agents: Sequence[Agent], host: PluginHost) -> None:
        self.queues = list(queues) or [DEFAULT_QUEUE]
        self.agents = {a.id: a for a in agents}
        self.host = host

    def queue_for(self, interaction: Interaction) -> Queue:
        """The queue: a plugin's choice if valid, else the first queue taking the channel."""
        choice = self.host.select_queue(interaction, self.queues)
        for q in self.queues:
            if q.name == choice:
                return q
        for q in self.queues:
            if q.accepts(interaction.channel):
                return q
        return self.queues[0]

    def agent_for(self, tx: Transaction, interaction: Interaction, queue: Queue) -> Agent | None:
        """An available agent of ``queue`` with free capacity on the channel, or None."""
        loads = tx.agent_loads()
        candidates = [
            a
            for a in self.agents.values()
            if a.presence is Presence.AVAILABLE
            and a.serves(queue)
            and a.free(interaction.channel, loads.get(a.id, {})) > 0
        ]
        if not candidates:
            return None
        choice = self.host.select_agent(interaction, queue, candidates)
        for a in candidates:
            if a.id == choice:
                return a
        # most free capacity wins; max() keeps the first of equals, so ties go to the smallest id
        return max(sorted(candidates, key=lambda a: a.id),
                   key=lambda a: a.free(interaction.channel, loads.get(a.id, {})))
