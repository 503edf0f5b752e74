"""The case lifecycle: moves between :class:`~omnisdk.model.CaseState` states, with a history.

``new → in_progress → solution_proposed → resolved → closed`` (the legal moves are
:data:`omnisdk.model.CASE_TRANSITIONS`).  Every move is kept in the case's ``state_history``
(``at``, ``from_state``, ``to_state``, ``by``, ``note``), emitted as ``io.omnisdk.case.updated``,
and told to the customer through the case's latest interaction (``case_update_text``, an
automatic message: on email it threads with the case token).  A move by the customer (accept
or reject of a proposed solution, :mod:`omnisdk.lifecycle.case_mail`) is not told back.
"""

from __future__ import annotations

from typing import Any

from omnisdk import events as ev
from omnisdk.errors import NotFoundError, StateError
from omnisdk.lifecycle.context import Ctx
from omnisdk.model import CASE_TRANSITIONS, CaseState
from omnisdk.outbound.enqueue import enqueue_text

CUSTOMER = "customer"
"""``by`` of a move the customer made."""

STATE_WORDS = {
    CaseState.NEW: "new",
    CaseState.IN_PROGRESS: "in progress",
    CaseState.SOLUTION_PROPOSED: "solution proposed (reply ACCEPT or REJECT on the first line)",
    CaseState.RESOLVED: "resolved",
    CaseState.CLOSED: "closed",
}
"""How a state is named to the customer."""


def case_state(case: dict[str, Any]) -> CaseState:
    """The state of a stored case (cases made before the lifecycle are ``new``)."""
    return CaseState(case.get("state") or CaseState.NEW.value)


def move_case(ctx: Ctx, case_id: str, to: CaseState | str, *, by: str, note: str | None = None,
              update_text: str | None = None) -> dict[str, Any]:
    """Move a case (by id or number) to ``to``; returns the case document after it.

    ``update_text`` (a format string with ``{number}``, ``{state}`` and ``{note}``) is sent to
    the customer unless ``by`` is :data:`CUSTOMER`.

    Raises:
        NotFoundError: unknown case.  StateError: ``to`` is not a state, or not a legal move
            from the case's state (the message names both).
    """
    case = ctx.tx.get_case(case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    try:
        target = CaseState(to)
    except ValueError:
        raise StateError(f"{to!r} is not a case state ({', '.join(s.value for s in CaseState)})") from None
    current = case_state(case)
    if target not in CASE_TRANSITIONS[current]:
        raise StateError(f"case {case['number']} is {current.value}: it cannot move to {target.value}")
    case["state"] = target.value
    case.setdefault("state_history", []).append(
        {"at": ctx.iso, "from_state": current.value, "to_state": target.value, "by": by, "note": note})
    ctx.tx.save_case(case)
    ctx.emitted.append(ev.Event(
        id=f"{case['id']}:{len(case['state_history'])}", source="/omnisdk/core", type=ev.TYPE_CASE_UPDATED,
        data={"id": case["id"], "number": case["number"], "from_state": current.value, "to_state": target.value,
              "by": by, "note": note}, time=ctx.iso, subject=case["number"]))
    if update_text and by != CUSTOMER and case.get("interaction_ids"):
        inter = ctx.tx.get_interaction(case["interaction_ids"][-1])
        if inter is not None:
            text = update_text.format(number=case["number"], state=STATE_WORDS[target], note=note or "")
            enqueue_text(ctx, inter, text.strip(), f"case:{case['id']}:{len(case['state_history'])}", automatic=True)
    return case
