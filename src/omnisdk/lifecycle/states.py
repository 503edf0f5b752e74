"""The interaction state machine.

``new → queued → offered → work_in_progress ⇄ on_hold → wrap_up → closed``; an offer may
also go back to ``queued`` (rejected or timed out).
"""

from __future__ import annotations

from datetime import datetime

from omnisdk.errors import StateError
from omnisdk.model import Interaction
from omnisdk.model import InteractionState as S

TRANSITIONS: dict[S, frozenset[S]] = {
    S.NEW: frozenset({S.QUEUED, S.OFFERED, S.CLOSED}),
    S.QUEUED: frozenset({S.OFFERED, S.WRAP_UP, S.CLOSED}),
    S.OFFERED: frozenset({S.WORK_IN_PROGRESS, S.QUEUED, S.WRAP_UP}),
    S.WORK_IN_PROGRESS: frozenset({S.ON_HOLD, S.WRAP_UP}),
    S.ON_HOLD: frozenset({S.WORK_IN_PROGRESS, S.QUEUED, S.WRAP_UP}),
    S.WRAP_UP: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
}


def transition(interaction: Interaction, target: S, now: datetime) -> Interaction:
    """A copy of ``interaction`` in state ``target`` (UTC ``now`` stamped).

    Raises:
        StateError: the transition is not in :data:`TRANSITIONS`.
    """
    if target not in TRANSITIONS[interaction.state]:
        raise StateError(f"interaction {interaction.id}: {interaction.state} → {target} is not allowed")
    changes: dict[str, object] = {"state": target, "updated_at": now}
    if target is S.CLOSED:
        changes["closed_at"] = now
    return interaction.model_copy(update=changes)
