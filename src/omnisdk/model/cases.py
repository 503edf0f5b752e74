"""Cases: longer investigation records that interactions link to, and their lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class CaseState(StrEnum):
    """Where a case is: ``new → in_progress → solution_proposed → resolved → closed``.

    A proposed solution is accepted by the customer (``resolved``) or rejected (back to
    ``in_progress``); ``closed`` is terminal.
    """

    NEW = "new"
    IN_PROGRESS = "in_progress"
    SOLUTION_PROPOSED = "solution_proposed"
    RESOLVED = "resolved"
    CLOSED = "closed"


CASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.NEW: frozenset({CaseState.IN_PROGRESS, CaseState.SOLUTION_PROPOSED, CaseState.CLOSED}),
    CaseState.IN_PROGRESS: frozenset({CaseState.SOLUTION_PROPOSED, CaseState.RESOLVED, CaseState.CLOSED}),
    CaseState.SOLUTION_PROPOSED: frozenset({CaseState.RESOLVED, CaseState.IN_PROGRESS, CaseState.CLOSED}),
    CaseState.RESOLVED: frozenset({CaseState.CLOSED, CaseState.IN_PROGRESS}),
    CaseState.CLOSED: frozenset(),
}
"""The legal moves of a case (reopening a resolved case goes back to ``in_progress``)."""


class CaseTransition(BaseModel):
    """One step of a case's lifecycle.  ``by`` is an agent id, ``customer`` (accept or reject
    by mail or signed link), or ``core``."""

    at: datetime
    from_state: CaseState
    to_state: CaseState
    by: str
    note: str | None = None


class Case(BaseModel):
    """A case, numbered for humans (``CS0000011``).  Timestamps are UTC."""

    id: str
    number: str = Field(pattern=r"^CS\d{7,}$")
    subject: str
    customer: str
    interaction_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    state: CaseState = CaseState.NEW
    product: str | None = Field(None, description="The product the case is about (from the mail's subject).")
    state_history: list[CaseTransition] = Field(default_factory=list, description="Every state change, oldest first.")
