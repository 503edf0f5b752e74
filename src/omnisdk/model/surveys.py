"""A customer's answer to the survey offered when a conversation ends (web chat)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from omnisdk.model.addresses import ChannelName


class SurveyAnswer(BaseModel):
    """``data`` of ``io.omnisdk.survey.answered``.

    The answer is kept once, in the interaction's ``context["survey"]`` (``{"score", "comment",
    "at"}``, like a case's survey in ``case.survey``), never in the transcript.
    """

    channel: ChannelName
    customer: str = Field(description="The customer's address (the chat session id).")
    business: str
    interaction_id: str | None = Field(None, description="The interaction answered about; None: the customer's "
                                       "latest on this account.")
    score: int = Field(ge=1, le=5, description="1 (bad) to 5 (very good).")
    comment: str | None = Field(None, max_length=1000)
