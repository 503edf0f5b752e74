"""Request and response bodies of the outgoing-webhook routes (``/v1/subscriptions``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionRequest(BaseModel):
    """A new subscription."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description=(
        "Where to POST the events: http(s), a public address unless [webhooks] allowed_networks lists it."))
    event_types: list[str] = Field(min_length=1, max_length=100, description=(
        "CloudEvents types (io.omnisdk.interaction.closed), prefixes ending in .* (io.omnisdk.case.*), or *."))
    description: str | None = Field(None, max_length=500)


class SubscriptionInfo(BaseModel):
    """A subscription as listed (never its secret)."""

    id: str
    url: str
    event_types: list[str]
    description: str | None = None
    state: Literal["active", "disabled"]
    disabled_reason: str | None = Field(None, description="Why it was disabled (after repeated failure, 410 …).")
    failures: int = Field(description="Deliveries in a row that failed for good.")
    created_at: str = Field(description="RFC 3339 UTC.")


class SubscriptionCreated(SubscriptionInfo):
    """A subscription just made: ``secret`` is shown this once."""

    secret: str = Field(description="The Standard Webhooks signing secret (whsec_…): verify webhook-signature with it.")


class StateRequest(BaseModel):
    """Enable (the failure count restarts; held deliveries go out) or disable a subscription."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["active", "disabled"]


class RedeliverRequest(BaseModel):
    """Send failed deliveries again: one, or every failed one of the subscription."""

    model_config = ConfigDict(extra="forbid")

    delivery_id: str | None = Field(None, max_length=64, description="One delivery; omitted: every failed one.")


class Requeued(BaseModel):
    requeued: int = Field(description="How many deliveries are pending again.")


class DeliveryInfo(BaseModel):
    """One delivery of one event to one subscription."""

    id: str = Field(description="The webhook-id of every attempt.")
    event_id: str = Field(description="The event's source#id.")
    event_type: str
    state: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: float = Field(description="Epoch seconds, UTC (pending ones).")
    last_status: int | None = Field(None, description="The receiver's last HTTP status; null: no answer.")
    last_error: str | None = None
    created_at: str
    delivered_at: str | None = None
