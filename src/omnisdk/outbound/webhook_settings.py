"""``[webhooks]`` in the configuration: how outgoing webhooks are delivered.

Example::

    [webhooks]
    allowed_networks = ["10.20.0.0/16"]   # a CRM inside the company network
    max_attempts = 8
    disable_after = 5
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnisdk.networks import check_networks


class WebhookSettings(BaseModel):
    """``[webhooks]``: delivery of outgoing webhooks (subscriptions are made through the API)."""

    model_config = ConfigDict(extra="forbid")

    allowed_networks: list[str] = Field(default_factory=list, description=(
        "Networks (CIDR) a subscription may target although they are private, loopback or "
        "link-local (the SSRF guard refuses them otherwise)."))
    max_attempts: int = Field(8, ge=1, le=50, description="Attempts per delivery before it fails for good.")
    backoff: list[float] = Field([5, 30, 120, 600, 1800, 3600, 7200], min_length=1, description=(
        "Seconds before the 2nd, 3rd … attempt (the last one repeats); a receiver's Retry-After "
        "is honoured when longer."))
    disable_after: int = Field(5, ge=1, description=(
        "Deliveries in a row that fail for good before the subscription is disabled."))
    timeout: float = Field(10.0, gt=0, le=60, description="Seconds one attempt may take.")
    concurrency: int = Field(8, ge=1, le=256, description="Attempts in flight at once.")

    @field_validator("allowed_networks")
    @classmethod
    def _networks(cls, values: list[str]) -> list[str]:
        return check_networks(values, "allowed_networks")

    @field_validator("backoff")
    @classmethod
    def _positive(cls, values: list[float]) -> list[float]:
        if any(v <= 0 for v in values):
            raise ValueError("backoff delays are seconds, more than 0")
        return values


__all__ = ["WebhookSettings"]
