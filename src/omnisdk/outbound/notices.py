"""The core's own texts to customers (system messages), and which of them a channel's
customers see.

On SMS a conversation runs for weeks and every text costs the customer a message (and the
business a segment), so the requester sees a limited subset (ServiceNow's Conversational SMS
does the same): what answers them or asks them something, not the core's bookkeeping.

========================  =============================================  ====================
notice                    sent when                                      on sms
========================  =============================================  ====================
``acknowledgement``       a customer message opens an interaction        internal
                          (``[routing] acknowledgement``)
``bot_reply``             a virtual agent answers                        sent
``reminder``              an outbound interaction is still unanswered    internal
                          (``[lifecycle] reminders``)
``action_prompt``         a messaging action prompts the requester       sent
                          (``notify_customer``)
``case_created``          an interaction becomes a case (its number)     sent
``case_solution``         a case proposes a solution (accept / reject)   sent
``case_update``           any other case state change                    internal
``case_closed``           a case closes                                  sent
``case_survey``           the satisfaction survey after a close          internal
========================  =============================================  ====================

"Internal" texts are not queued; they are counted (``outbound.suppressed.system_message``) and
the change they announce stays visible to agents (history, case, API).  Every other channel's
customers get every notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Notice(StrEnum):
    """The kinds of text the core sends on its own (``enqueue_text(..., automatic=True)``)."""

    ACKNOWLEDGEMENT = "acknowledgement"
    BOT_REPLY = "bot_reply"
    REMINDER = "reminder"
    ACTION_PROMPT = "action_prompt"
    CASE_CREATED = "case_created"
    CASE_SOLUTION = "case_solution"
    CASE_UPDATE = "case_update"
    CASE_CLOSED = "case_closed"
    CASE_SURVEY = "case_survey"


CUSTOMER_NOTICES: Mapping[str, frozenset[Notice]] = {
    "sms": frozenset({Notice.BOT_REPLY, Notice.ACTION_PROMPT, Notice.CASE_CREATED, Notice.CASE_SOLUTION,
                      Notice.CASE_CLOSED}),
}
"""Per channel, the notices its customers see; a channel not named here sees them all."""


def reaches_customer(channel: str, notice: Notice | None) -> bool:
    """Whether a notice of this kind is sent to a customer on ``channel`` (a text that is no
    notice, None, always is)."""
    if notice is None:
        return True
    shown = CUSTOMER_NOTICES.get(channel)
    return shown is None or notice in shown


__all__ = ["CUSTOMER_NOTICES", "Notice", "reaches_customer"]
