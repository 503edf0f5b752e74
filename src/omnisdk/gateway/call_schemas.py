"""The request and response models of the call controls (``/v1``, :mod:`omnisdk.gateway.calls_api`):
no web framework here, so the SDK clients (:mod:`omnisdk.client`) import them too."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CallAction(BaseModel):
    """Optional body of answer, hold, resume and hang-up."""

    model_config = ConfigDict(extra="forbid")
    agent: str | None = Field(None, max_length=128, description="The agent acting (refused unless they hold the call).")


class CallTransferRequest(BaseModel):
    """Transfer the call: exactly one target."""

    model_config = ConfigDict(extra="forbid")
    to_agent: str | None = Field(None, max_length=128, description="An agent (offered to them).")
    to_queue: str | None = Field(None, max_length=128, description="A queue (the caller waits there).")
    to_number: str | None = Field(None, max_length=32, description="An outside number, E.164, else 400 (cold: the "
                                  "call leaves us, wrap-up at once; warm: a conference, wrap-up when it answers).")
    mode: Literal["cold", "warm"] = Field("cold", description="cold: handed over at once; warm: the caller hears "
                                          "the hold music until the target answers (to a number: the agent stays "
                                          "with the caller in a conference until the number answers).")
    agent: str | None = Field(None, max_length=128, description="The agent transferring.")


class DialRequest(BaseModel):
    """Click-to-dial: the customer's phone rings; when they answer, the agent's softphone does."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    plugin: str = Field(min_length=1, max_length=64, description="The CTI connector (provider), e.g. cti_twilio.")
    account: str = Field(min_length=1, max_length=64, description="Its account ([accounts.<plugin>.<account>]).")
    to: str = Field(min_length=1, max_length=32, description="The customer's number, E.164.")
    from_: str | None = Field(None, alias="from", max_length=32, description="Our caller id, E.164: one of the "
                              "account's numbers (default: its first).")
    agent: str | None = Field(None, max_length=128, description="The agent placing it (an agent: themself).")
    timeout: int = Field(30, ge=5, le=600, description="Seconds to ring.")


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plugin: str = Field(min_length=1, max_length=64, description="The CTI connector, e.g. cti_twilio.")
    account: str = Field(min_length=1, max_length=64, description="Its account.")


class SoftphoneToken(BaseModel):
    """A short-lived access token the agent's browser softphone registers with."""

    token: str = Field(description="The CTI's access token (for Twilio: a JWT with a Voice grant).")
    identity: str = Field(description="The softphone's client identity (the agent id).")
    expires_in: int = Field(description="Seconds the token is valid.")


__all__ = ["CallAction", "CallTransferRequest", "DialRequest", "SoftphoneToken", "TokenRequest"]
