"""Cases: longer investigation records that interactions link to, and their lifecycle.

:class:`Case` is the document the store keeps (:class:`~omnisdk.store.protocols.CaseStore`);
:class:`CaseSummary` the part of it lists show.  Documents stored before a field existed still
load: a missing ``state`` is ``new``, missing lists are empty (``state_history``) or None (what
was never recorded).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnisdk.model.interactions import Interaction, MessageRecord, Transition


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


class CaseUpdate(BaseModel):
    """A customer mail that joined the case (a ``[Case:CS…]`` token in its subject, or a reply
    in the case's thread; :mod:`omnisdk.lifecycle.case_mail`).  Stored and answered with the
    key ``from`` (the attribute is ``sender``)."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)

    at: datetime = Field(description="When it was applied (UTC).")
    message_id: str = Field(description="The mail's Message-ID (RFC 5322), without angle brackets.")
    sender: str = Field(alias="from", description="The address it came from (its From).")
    counted: bool = Field(description="It acts on the case; false: kept as a note only.")
    reason: str | None = Field(None, description="Why it was not counted (not the case's contact, dmarc=fail).")


class CaseSurvey(BaseModel):
    """The customer's answer to the satisfaction survey of a closed case (kept once)."""

    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    at: datetime = Field(description="When it was answered (UTC).")


class CaseSummary(BaseModel):
    """A case, numbered for humans (``CS0000011``), as lists show it.  Timestamps are UTC."""

    id: str
    number: str = Field(pattern=r"^CS\d{7,}$")
    subject: str
    customer: str
    interaction_ids: list[str] = Field(default_factory=list)
    created_at: datetime
    state: CaseState = CaseState.NEW
    product: str | None = Field(None, description="The product the case is about (from the mail's subject).")
    state_history: list[CaseTransition] = Field(default_factory=list, description="Every state change, oldest first.")

    @field_validator("state", mode="before")
    @classmethod
    def _state_of_old_cases(cls, value: Any) -> Any:
        return CaseState.NEW if value is None else value  # cases made before the lifecycle

    @field_validator("state_history", mode="before")
    @classmethod
    def _history_of_old_cases(cls, value: Any) -> Any:
        return [] if value is None else value


class Case(CaseSummary):
    """A case as the store keeps it: the summary, what was copied from the interaction it was
    opened from, the mail that joined it and the survey's answer.  None: never recorded (a
    case stored before the field existed, or nothing happened yet)."""

    context: Interaction | None = Field(None, description="The interaction as it was when the case opened.")
    history: list[MessageRecord] | None = Field(None, description="Its messages when the case opened.")
    transitions: list[Transition] | None = Field(None, description="Its history when the case opened.")
    updates: list[CaseUpdate] | None = Field(None, description="Mail that joined the case, oldest first.")
    survey: CaseSurvey | None = Field(None, description="The survey's answer, once the customer gave it.")
    contacts: list[str] | None = Field(None, description=(
        "Other addresses of the case's customer: those an agent mailed the case's resolution to "
        "(lower-case addr-specs); their mail counts like the customer's."))
