"""Interactions: one unit of agent work on one channel, its states and wrap-up codes, and the
records of its history (:class:`Transition`) and messages (:class:`MessageRecord`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from omnisdk.model.addresses import ChannelName


class InteractionState(StrEnum):
    """``new → queued → offered → work_in_progress ⇄ on_hold → wrap_up → closed``."""

    NEW = "new"
    QUEUED = "queued"
    OFFERED = "offered"
    WORK_IN_PROGRESS = "work_in_progress"
    ON_HOLD = "on_hold"
    WRAP_UP = "wrap_up"
    CLOSED = "closed"

    @property
    def active(self) -> bool:
        """Everything but ``closed`` is active (threads new messages)."""
        return self is not InteractionState.CLOSED


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class RoutingSource(StrEnum):
    """Who routes the interaction: the core's router, or an external CCaaS plugin."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class WrapUpCode(StrEnum):
    """The default wrap-up codes (a deployment may configure more)."""

    ISSUE_RESOLVED = "Issue resolved"
    TASK_CREATED = "Task created"
    CLOSED_INACTIVITY = "Closed due to customer inactivity"
    CLOSED_BY_CUSTOMER = "Closed by customer"


class Draft(BaseModel):
    """An agent's unsent message on an outbound interaction.  Timestamps are UTC."""

    id: str
    agent: str
    text: str
    subject: str | None = Field(None, description="Email: the subject of the first mail.")
    updated_at: datetime


class Interaction(BaseModel):
    """One unit of agent work.  Timestamps are UTC.

    ``agent`` is the agent who holds the interaction now (offered, working, parked, wrapping
    up); ``last_agent`` the one who last held it (affinity, return from park).  Capacity is
    counted for ``agent`` while the state is offered, work_in_progress or wrap_up.
    """

    id: str
    channel: ChannelName
    direction: Direction
    state: InteractionState
    conversation_key: str = Field(description="See omnisdk.model.conversation_key.")
    source: str = Field(description="CloudEvents source of the account (plugin and account).")
    customer: str
    business: str
    customer_name: str | None = None
    queue: str | None = None
    agent: str | None = None
    routing_source: RoutingSource = RoutingSource.INTERNAL
    wrap_up_code: str | None = None
    case_id: str | None = None
    message_count: int = 0
    priority: int = Field(0, description="Higher is routed first (from the queue).")
    language: str | None = Field(None, description="BCP 47 language tag, when known.")
    attributes: dict[str, str] = Field(default_factory=dict, description="Routing attributes.")
    last_agent: str | None = None
    declined_by: list[str] = Field(default_factory=list, description="Agents who rejected or missed an offer.")
    virtual_agent: str | None = Field(None, description="Bot that owns the interaction, if any.")
    context: dict[str, object] = Field(default_factory=dict, description="Hand-over context (virtual agent, transfer).")
    offer_seq: int = Field(0, description="Increments with each offer (guards stale offer timers).")
    created_at: datetime
    updated_at: datetime
    queued_at: datetime | None = None
    offered_at: datetime | None = None
    accepted_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    closed_at: datetime | None = None
    requester: str | None = Field(None, description=(
        "The directory user the customer's messaging profile links to (None: an anonymous "
        "requester, or a channel without profiles); see docs/sms.md."))
    messaging_profile: str | None = Field(None, description="The id of the customer's messaging profile, if any.")
    profile_conflict: str | None = Field(None, description=(
        "Why an agent must check who the requester is (two directory users share the number …); "
        "None when there is nothing to check.  Never resolved by merging: an agent links the "
        "profile (POST /v1/messaging-profiles/{id}/link)."))
    drafts: list[Draft] = Field(default_factory=list, description="Unsent messages of agents (outbound "
                                "interactions being written; see omnisdk.lifecycle.drafts).")


class Transition(BaseModel):
    """One step of an interaction's history (a :class:`~omnisdk.store.rows.HistoryRow`
    without the interaction's id)."""

    at: str = Field(description="When (RFC 3339, UTC).")
    from_state: InteractionState | None = Field(description="Previous state (null when created).")
    to_state: InteractionState = Field(description="New state.")
    agent: str | None = Field(None, description="Agent holding the interaction after the step.")
    queue: str | None = Field(None, description="Queue after the step.")
    note: str | None = Field(None, description="Why (rejected, transfer from … to …, case CS…).")


class MessageRecord(BaseModel):
    """One message of an interaction, inbound or outbound (a
    :class:`~omnisdk.store.rows.MessageRow`)."""

    message_id: str = Field(description="Provider's message id.")
    direction: str = Field(description="inbound or outbound.")
    kind: str | None = Field(None, description="text, media, location … (see omnisdk.model.messages).")
    body: dict[str, Any] | None = Field(None, description="The normalized message; for mail also "
                                        "``threading``: the rule, score and reason that placed it.")
    created_at: str = Field(description="When (RFC 3339).")
    status: str | None = Field(None, description="Delivery status of outbound messages (sent, delivered, read, failed).")
