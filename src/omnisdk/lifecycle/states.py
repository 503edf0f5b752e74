"""The interaction state machine.

``new → queued → offered → work_in_progress ⇄ on_hold → wrap_up → closed``.  Besides the main
line: an offer goes back to ``queued`` when rejected or timed out; a transfer moves a working or
parked interaction to ``queued`` (to a queue) or ``offered`` (to an agent), and an offered one
to ``queued`` or to another ``offered`` (the offer is redirected); a parked interaction
whose owner is away goes back to ``queued`` when the customer writes again.

Capacity is held in ``offered``, ``work_in_progress`` and ``wrap_up`` (see :data:`HOLDS_CAPACITY`).
"""

from __future__ import annotations

from datetime import datetime

from omnisdk.errors import StateError
from omnisdk.model import Interaction, RoutingSource
from omnisdk.model import InteractionState as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.QUEUED, S.OFFERED, S.CLOSED}),
    S.QUEUED: frozenset({S.OFFERED, S.WRAP_UP, S.CLOSED}),
    S.OFFERED: frozenset({S.WORK_IN_PROGRESS, S.QUEUED, S.OFFERED, S.WRAP_UP}),
    S.WORK_IN_PROGRESS: frozenset({S.ON_HOLD, S.WRAP_UP, S.QUEUED, S.OFFERED}),
    S.ON_HOLD: frozenset({S.WORK_IN_PROGRESS, S.QUEUED, S.OFFERED, S.WRAP_UP}),
    S.WRAP_UP: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}


HOLDS_CAPACITY = frozenset({S.OFFERED, S.WORK_IN_PROGRESS, S.WRAP_UP})
"""States in which an interaction counts against its agent's capacity (see :func:`held_capacity`)."""

REPLYABLE = frozenset({S.WORK_IN_PROGRESS, S.ON_HOLD, S.WRAP_UP})
"""States in which an agent may write to the customer: accepted work, parked or wrapping up
(not an offer not yet accepted, not a queued or closed interaction)."""


def transition(interaction: Interaction, target: S, now: datetime, **changes: object) -> Interaction:
    """A copy of ``interaction`` in state ``target`` (UTC ``now`` stamped), with ``changes``.

    Raises:
        StateError: the transition is not in :data:`TRANSITIONS`.
    """
    if target not in TRANSITIONS[interaction.state]:
        raise StateError(f"interaction {interaction.id}: {interaction.state} → {target} is not allowed")
    changes["state"] = target
    changes["updated_at"] = now
    if target is S.CLOSED:
        changes["closed_at"] = now
    return interaction.model_copy(update=changes)


def held_capacity(inter: Interaction) -> bool:
    """Whether ``inter`` counts against its agent's capacity now: a state in
    :data:`HOLDS_CAPACITY`, an agent, routed internally (a CCaaS counts its own) and not owned
    by a bot."""
    return inter.state in HOLDS_CAPACITY and bool(inter.agent) and inter.routing_source is RoutingSource.INTERNAL \
        and not inter.virtual_agent
