"""What an authenticated :class:`~omnisdk.access.principals.Principal` may touch.

Pure functions over the core's models; the agent API calls them after the route's scope
check (:func:`require`).  The rules:

- an **agent** reads the interactions of the queues they serve (their routing
  configuration's ``queues``; none listed: every queue) and those held by or offered to
  them, and acts only on work offered to or held by them, always as themself;
- a **supervisor** reads and acts on the interactions of the queues they supervise (and on
  work held by the agents who serve those queues), and acts as any of those agents;
- an **admin** reads and acts on everything.

Every refusal raises :class:`~omnisdk.errors.ForbiddenError` (HTTP 403).
"""

from __future__ import annotations

from collections.abc import Mapping

from omnisdk.access.principals import Principal, Role, Scope
from omnisdk.errors import ForbiddenError
from omnisdk.model import Interaction
from omnisdk.routing.model import Agent


def require(principal: Principal, scope: Scope) -> None:
    """Raises ForbiddenError: the principal lacks ``scope``."""
    if not principal.has(scope):
        raise ForbiddenError(f"this call needs the scope {scope.value} (role {principal.role.value})")


def agent_queues(principal: Principal, agents: Mapping[str, Agent]) -> frozenset[str] | None:
    """The queues the principal sees: ``None`` for every queue.

    An agent sees the queues of their routing configuration (none listed: every queue; an
    agent id the engine does not know: no queue); a supervisor their supervised queues.
    """
    if principal.role is Role.ADMIN:
        return None
    if principal.role is Role.SUPERVISOR:
        return principal.queues
    agent = agents.get(principal.agent or "")
    if agent is None:
        return frozenset()
    return frozenset(agent.queues) if agent.queues else None


def supervises(principal: Principal, agent: Agent) -> bool:
    """The principal may act as ``agent``: an admin always, a supervisor when the agent serves
    one of their queues (or every queue), an agent only as themself."""
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.AGENT:
        return agent.id == principal.agent
    if principal.queues is None or not agent.queues:
        return True
    return bool(principal.queues & set(agent.queues))


def acting_agent(principal: Principal, named: str | None, agents: Mapping[str, Agent]) -> str | None:
    """The agent a call acts as: for an agent principal always themself (naming another is
    refused); for a supervisor or admin the one the body names (else their own agent, if any).

    Raises:
        ForbiddenError: an agent names someone else; a supervisor names an agent outside their
            queues.
    """
    if principal.role is Role.AGENT:
        if named is not None and named != principal.agent:
            raise ForbiddenError("an agent acts only as themself")
        return principal.agent
    chosen = named if named is not None else principal.agent
    if chosen is not None and principal.role is Role.SUPERVISOR:
        agent = agents.get(chosen)
        if agent is not None and not supervises(principal, agent):
            raise ForbiddenError(f"agent {chosen!r} serves none of the queues this supervisor supervises")
    return chosen


def _in_reach(principal: Principal, agent: str | None, queue: str | None, agents: Mapping[str, Agent]) -> bool:
    queues = agent_queues(principal, agents)
    if queues is None or (queue is not None and queue in queues):
        return True
    if principal.role is Role.SUPERVISOR and agent is not None:
        held_by = agents.get(agent)
        return held_by is not None and bool(held_by.queues) and supervises(principal, held_by)
    return False


def may_see(principal: Principal, agent: str | None, queue: str | None, agents: Mapping[str, Agent]) -> bool:
    """The principal may see work held by ``agent`` (or offered to them) in ``queue`` (either
    may be None): the rule of :func:`may_read`, for a history row or a live event."""
    if principal.role is Role.AGENT and agent is not None and agent == principal.agent:
        return True
    return _in_reach(principal, agent, queue, agents)


def may_read(principal: Principal, interaction: Interaction, agents: Mapping[str, Agent]) -> bool:
    """The principal may see the interaction, its messages and history."""
    return may_see(principal, interaction.agent, interaction.queue, agents)


def check_read(principal: Principal, interaction: Interaction, agents: Mapping[str, Agent]) -> None:
    """Raises ForbiddenError: :func:`may_read` is false."""
    if not may_read(principal, interaction, agents):
        raise ForbiddenError(f"interaction {interaction.id} is outside this caller's queues")


def check_act(principal: Principal, interaction: Interaction, agents: Mapping[str, Agent]) -> None:
    """The principal may change the interaction: an agent only work offered to or held by
    them (including parked work they own), a supervisor work in their queues.

    Raises:
        ForbiddenError: it may not.
    """
    if principal.role is Role.AGENT:
        if interaction.agent is None or interaction.agent != principal.agent:
            raise ForbiddenError(f"interaction {interaction.id} is not offered to or held by this agent")
        return
    if not _in_reach(principal, interaction.agent, interaction.queue, agents):
        raise ForbiddenError(f"interaction {interaction.id} is outside this supervisor's queues")


def check_queue(principal: Principal, queue: str, agents: Mapping[str, Agent]) -> None:
    """Raises ForbiddenError: the principal does not see ``queue`` (a transfer target, a filter)."""
    queues = agent_queues(principal, agents)
    if queues is not None and queue not in queues:
        raise ForbiddenError(f"queue {queue!r} is outside this caller's queues")


__all__ = ["acting_agent", "agent_queues", "check_act", "check_queue", "check_read", "may_read", "may_see", "require",
           "supervises"]
