"""The shapes of ``GET /v1/cases/{id}`` and ``POST /v1/cases/{id}/resolution``
(:mod:`omnisdk.gateway.case_view_api`), shared with the Python client."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnisdk.gateway.schemas import CaseDetail
from omnisdk.model import CaseSurvey, Interaction, InteractionState, MessageRecord

MESSAGES_SHOWN = 200
"""Messages listed per linked interaction (the latest ones)."""


class CaseInteraction(BaseModel):
    """An interaction linked to a case, with its messages when the caller may read it."""

    id: str
    channel: str = Field(description="chat, email, whatsapp, sms …")
    state: InteractionState
    direction: str = Field(description="inbound or outbound (an agent wrote first: a resolution mail).")
    customer: str = Field(description="The customer's address on that channel.")
    created_at: str = Field(description="RFC 3339 UTC.")
    readable: bool = Field(description="The caller may read it; false: its messages are not listed.")
    messages: list[MessageRecord] = Field(default_factory=list, description=(
        f"Its latest {MESSAGES_SHOWN} messages, oldest first (empty when not readable)."))


class CaseView(CaseDetail):
    """One case: its state and history, the context copied when it opened, its contacts, its
    survey's answer and every interaction linked to it."""

    survey: CaseSurvey | None = Field(None, description="The survey's answer, once the customer gave it.")
    interactions: list[CaseInteraction] = Field(description="Every linked interaction, in the order they joined.")


class ResolutionRequest(BaseModel):
    """Send a case's resolution to the customer by email; the case moves to solution_proposed."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000, description="The resolution (the mail's text, with the "
                                                                  "accept and reject links when they are signed).")
    to: str | None = Field(None, min_length=3, max_length=254, description=(
        "The customer's email address; omitted: the one the case knows (a contact, a case from a mail, an "
        "identified web chat visitor's)."), examples=["jane@example.com"])
    plugin: str | None = Field(None, max_length=64, description="The email plugin; omitted: the only email account's.")
    account: str | None = Field(None, max_length=64, description="Its account; omitted: the only email account.")
    business: str | None = Field(None, max_length=254, description="The sender; omitted: the account's default.")
    agent: str | None = Field(None, max_length=64, description="The agent holding the mail; an agent key: itself.")


class ResolutionSent(BaseModel):
    """The resolution is queued: the case after it and the email interaction it went in."""

    case: CaseDetail
    interaction: Interaction


__all__ = ["MESSAGES_SHOWN", "CaseInteraction", "CaseView", "ResolutionRequest", "ResolutionSent"]
