"""Lifecycle settings: ``[lifecycle]`` in the configuration."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from omnisdk.model import InteractionState, WrapUpCode


class ActionEvent(StrEnum):
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_MESSAGE = "agent_message"


class ActionKind(StrEnum):
    NOTIFY_AGENT = "notify_agent"
    NOTIFY_CUSTOMER = "notify_customer"
    REASSIGN = "reassign"
    SET_STATE = "set_state"


class MessagingAction(BaseModel):
    """A user-defined messaging action: ``event`` starts (or restarts) a timer of ``after``
    seconds; when it fires and every ``when`` condition holds, ``action`` runs.

    Example: remind a customer who has not answered the agent for 10 minutes::

        [[lifecycle.actions]]
        name = "nudge"
        event = "agent_message"
        after = 600
        when = { state = "work_in_progress" }
        action = "notify_customer"
        text = "Are you still there?"
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    event: ActionEvent
    after: float = Field(gt=0, description="Seconds after the event.")
    when: dict[str, str] = Field(default_factory=dict, description="Interaction field → required value (state, channel, queue, agent).")
    action: ActionKind
    text: str | None = Field(None, description="Message for notify_customer / notify_agent.")
    state: InteractionState | None = Field(None, description="Target state for set_state (on_hold or wrap_up).")
    cancel_on: ActionEvent | None = Field(None, description="An event that cancels the pending action.")

    @model_validator(mode="after")
    def _needs(self) -> MessagingAction:
        if self.action is ActionKind.NOTIFY_CUSTOMER and not self.text:
            raise ValueError("notify_customer needs text")
        if self.action is ActionKind.SET_STATE and self.state not in (InteractionState.ON_HOLD, InteractionState.WRAP_UP):
            raise ValueError("set_state needs state = on_hold or wrap_up")
        return self


class LifecycleSettings(BaseModel):
    """Timeouts are in seconds."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    wrap_up_codes: list[str] = Field(default_factory=lambda: [c.value for c in WrapUpCode])
    default_wrap_up_code: str = Field(WrapUpCode.ISSUE_RESOLVED.value, description="Applied when the wrap-up timer fires.")
    wrap_up_timeout: float = Field(120.0, gt=0)
    inactivity_timeout: float = Field(30 * 86400.0, gt=0, description="Auto-close of on-hold interactions with no customer reply.")
    reminders: list[float] = Field(default_factory=list, description="Seconds after an outbound interaction starts at which an unanswered customer is reminded.")
    reminder_text: str = "Just checking in: reply to this message whenever you are ready."
    case_created_text: str = "We opened case {number} for your request; we will keep you posted. {link}"
    draft_consolidation: bool = Field(True, description="Drafts of several agents to one customer share one "
                                      "outbound interaction (ownership to the last drafter); false: one per agent.")
    case_update_text: str = "Case {number} is now {state}. {note}"
    case_links_secret: SecretStr | None = Field(None, description="Signs the case links in our mail (accept, "
                                                "reject, survey: HS256 tokens); None: no links.")
    case_link_ttl: float = Field(14 * 86400.0, gt=0, description="Seconds a case link stays valid.")
    case_links_text: str = "Accept the solution: {accept}\nReject it: {reject}"
    case_closed_text: str = "Case {number} is closed."
    case_survey_text: str = "How did we do on case {number}? Tell us, from 1 to 5: {survey}"
    case_accept_closes: bool = Field(False, description="The customer's accept of a proposed solution (a reply "
                                     "ACCEPT, the accept link) closes the case (resolved, then closed, with the "
                                     "closed notice and the survey); false: it stays resolved.")
    case_resolution_subject: str = Field("Our solution for case {number}", description=(
        "The subject of the mail an agent sends a case's resolution in (POST /v1/cases/{id}/resolution); "
        "{number} and {subject} (the case's)."))
    case_addresses: list[str] = Field(default_factory=list, description="Email to case: mail to these business "
                                      "addresses that starts a new thread opens a case (lower-case addr-specs).")
    case_products: list[str] = Field(default_factory=list, description="Product names; the first one a new "
                                     "case's subject names (whole words, any case) becomes its product.")
    missed_call_code: str = Field("Missed call", description="Closes a call that rang but was never answered "
                                  "(busy, no answer, failed).")
    abandoned_call_code: str = Field("Abandoned call", description="Closes a call whose caller hung up before an "
                                     "agent answered.")
    affinity_window: float = Field(86400.0, ge=0, description="Prefer the conversation's last agent within this window.")
    read_receipts: bool = Field(True, description="Tell the customer their messages were read (WhatsApp's blue "
                                "ticks) when an agent accepts the conversation and when they reply, on channels "
                                "whose plugin sends read receipts; false: never.")
    actions: list[MessagingAction] = Field(default_factory=list)

    @field_validator("case_links_secret")
    @classmethod
    def _link_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("is a secret and must be at least 16 characters")
        return value

    @model_validator(mode="after")
    def _default_known(self) -> LifecycleSettings:
        for code in (self.default_wrap_up_code, WrapUpCode.TASK_CREATED.value, WrapUpCode.CLOSED_INACTIVITY.value,
                     WrapUpCode.CLOSED_BY_CUSTOMER.value, self.missed_call_code, self.abandoned_call_code):
            if code not in self.wrap_up_codes:
                self.wrap_up_codes.append(code)
        return self
