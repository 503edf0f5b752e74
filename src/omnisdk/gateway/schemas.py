"""Request and response bodies of the agent REST API (``/v1``).

These pydantic models are what FastAPI turns into the OpenAPI document served at
``/openapi.json``; every field carries a description.  Request bodies forbid unknown fields, so
a typo is a 422 rather than silently ignored.  Interactions, agents and queues are the core's own
models (:class:`omnisdk.model.Interaction`, :class:`omnisdk.routing.model.Agent`,
:class:`omnisdk.routing.model.Queue`), extended here with live state where the API adds some.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnisdk.adapters import ContactCard, ListMenu, Location, Reaction, ReplyButton
from omnisdk.model import CaseState, CaseSummary, CaseUpdate, Interaction, MessageRecord, Transition
from omnisdk.routing.model import Agent, Presence, Queue

# --- errors --------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    """Every error answer of the gateway (webhooks and API alike)."""

    error: str = Field(description="Short machine-friendly reason: not_found, conflict, no_capacity, "
                                   "bad_request, malformed_payload, validation_error …")
    detail: str = Field(description="Human-readable explanation (never contains secrets).")


class ValidationErrorBody(BaseModel):
    """A request whose path, query, headers or body do not match the schema (HTTP 422)."""

    error: Literal["validation_error"] = Field(description="Always validation_error.")
    detail: list[dict[str, Any]] = Field(
        description="One entry per problem: loc (where), msg (what), type (pydantic error type)."
    )


# --- requests ------------------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentAction(_Request):
    """Optional body of accept, reject, hold, resume and wrap-up."""

    agent: str | None = Field(
        None, description="The agent performing the action; when given, the action is refused (409) "
                          "unless this agent holds the interaction.",
        examples=["alice"],
    )


class AssignRequest(_Request):
    """Offer a queued interaction to this agent (a CCaaS connector's routing decision, or a
    supervisor's manual assignment)."""

    agent: str = Field(description="The agent to offer it to (capacity is checked for internal routing).")


class TransferRequest(_Request):
    """Hand the interaction to an agent (it is offered to them) or to a queue (it is routed)."""

    to_agent: str | None = Field(None, description="Target agent id (needs free capacity on the channel).")
    to_queue: str | None = Field(None, description="Target queue name.")
    agent: str | None = Field(None, description="The agent transferring; refused unless they hold it.")

    @model_validator(mode="after")
    def _exactly_one(self) -> TransferRequest:
        if (self.to_agent is None) == (self.to_queue is None):
            raise ValueError("give exactly one of to_agent or to_queue")
        return self


class CloseRequest(_Request):
    """Close an interaction with a wrap-up code."""

    wrap_up_code: str | None = Field(
        None, description="One of the configured wrap-up codes; omitted: the default code.",
        examples=["Issue resolved"],
    )
    agent: str | None = Field(None, description="The agent closing; refused unless they hold it.")


class RichContent(_Request):
    """What a reply carries beside text, where the channel can (WhatsApp: all of it); a channel
    that cannot is refused (400), never sent without it."""

    buttons: list[ReplyButton] = Field(default_factory=list, max_length=10, description=(
        "Quick-reply buttons under the text (WhatsApp: 1 to 3)."))
    list_menu: ListMenu | None = Field(None, description="A menu of choices under the text.")
    location: Location | None = Field(None, description="A place to show on a map (no text).")
    reaction: Reaction | None = Field(None, description="An emoji on one of the customer's messages (no text).")
    contacts: list[ContactCard] = Field(default_factory=list, max_length=20, description="Contact cards to share (no text).")
    preview_url: bool = Field(False, description="Show a preview of the text's first link.")


class ReplyRequest(_Request):
    """An agent's reply to the customer, sent through the interaction's channel: text, rich
    content (``content``), or both where the channel takes them together."""

    text: str | None = Field(None, min_length=1, description="The message text.", examples=["Hello! How can I help?"])
    content: RichContent | None = Field(None, description=(
        "Buttons, a list, a location, a reaction, contact cards, a link preview: where the channel takes them."))
    agent: str | None = Field(None, description="The agent replying; refused unless they hold it.")

    @model_validator(mode="after")
    def _something(self) -> ReplyRequest:
        if self.text is None and self.content is None:
            raise ValueError("a reply needs text or content")
        return self


class ReplyAccepted(BaseModel):
    """The reply is durably queued for sending."""

    idempotency_key: str = Field(
        description="The key the send is made under (the Idempotency-Key header if given). Sending "
                    "the same key again queues nothing more."
    )


class CaseRequest(_Request):
    """Open a case from an interaction; the interaction closes with "Task created"."""

    subject: str | None = Field(None, description="Case subject; omitted: '<channel> request from <customer>'.")
    agent: str | None = Field(None, description="The agent opening the case; refused unless they hold it.")


class CaseLinkRequest(_Request):
    """Link an interaction to an existing case."""

    case: str = Field(min_length=1, description="The case's id or number.", examples=["CS0000001"])


class CaseStateRequest(_Request):
    """Move a case through its lifecycle (new → in_progress → solution_proposed → resolved →
    closed); the customer is told."""

    state: CaseState = Field(description="The state to move to.", examples=["solution_proposed"])
    agent: str | None = Field(None, description="The agent making the move (kept in the case's history).")
    note: str | None = Field(None, max_length=2000, description="Why, or the proposed solution (sent to the customer).")


class DraftRequest(_Request):
    """Keep an agent's draft to a contact on an outbound interaction (new, or the drafts of other
    agents to the same customer, consolidated); nothing is sent."""

    agent: str = Field(description="The drafting agent (the interaction's owner from now on).")
    plugin: str = Field(description="Channel plugin name, e.g. email.", examples=["email"])
    account: str = Field(description="Configured account of that plugin.")
    customer: str = Field(min_length=1, description="The customer's address on the channel.")
    text: str = Field(min_length=1, description="The draft's text.")
    subject: str | None = Field(None, max_length=500, description="Email: the subject of the first mail.")
    business: str | None = Field(None, description="The business address; omitted: the account's own.")
    draft_id: str | None = Field(None, description="Rewrite this draft of the agent's instead of adding one.")


class DraftSaved(BaseModel):
    """Where a draft is kept."""

    interaction: Interaction = Field(description="The drafting interaction (state new, outbound).")
    draft_id: str = Field(description="The draft's id, to rewrite or send it.")


class DraftSendRequest(_Request):
    """Send a draft: the interaction goes to this agent."""

    agent: str = Field(description="The sending agent (needs free capacity on the channel).")


class TemplateRequest(_Request):
    """A pre-approved message template (WhatsApp: developers.facebook.com/docs/whatsapp/cloud-api/guides/send-message-templates)."""

    name: str = Field(min_length=1, max_length=512, description="The template's name.")
    language: str = Field(min_length=2, max_length=15, description="Its locale code, e.g. en_US.")
    components: list[dict[str, Any]] = Field(default_factory=list, max_length=20, description=(
        "Header, body and button parameters, as the provider documents them."))


class OutboundRequest(_Request):
    """An agent starts a conversation: an outbound interaction in work_in_progress with the agent."""

    agent: str = Field(description="The agent starting the conversation (needs free capacity).")
    plugin: str = Field(description="Channel plugin name, e.g. whatsapp.", examples=["whatsapp"])
    account: str = Field(description="Configured account of that plugin.")
    customer: str = Field(min_length=1, description="The customer's address on the channel (E.164 phone …).")
    text: str | None = Field(None, min_length=1, description="The first message (or give a template).")
    template: TemplateRequest | None = Field(None, description=(
        "A pre-approved template as the first message (WhatsApp message templates): the only kind "
        "a channel with a customer-service window lets open a conversation once it is closed."))
    business: str | None = Field(
        None, description="The business address; omitted: the account's own (phone number id …). On sms, "
                          "the provider number the agent sends from: one of the account's numbers."
    )
    requester: str | None = Field(None, min_length=1, max_length=128, description=(
        "SMS: the directory user the agent writes to. A number whose messaging profile names "
        "someone else gets a new profile (the old one is deactivated, its active interaction closed)."))

    @model_validator(mode="after")
    def _one_first_message(self) -> OutboundRequest:
        if (self.text is None) == (self.template is None):
            raise ValueError("give the first message as text or as a template, not both")
        return self


class PresenceRequest(_Request):
    """Change an agent's presence; becoming available drains waiting interactions to them."""

    presence: Presence = Field(description="available, away or offline.")


# --- responses -----------------------------------------------------------------------------


class InteractionDetail(BaseModel):
    """An interaction with its full history and messages."""

    interaction: Interaction = Field(description="The interaction now.")
    history: list[Transition] = Field(description="Every state change, oldest first.")
    messages: list[MessageRecord] = Field(description="Every message, oldest first.")
    customer_opted_out: bool = Field(False, description="The customer opted out on this channel (SMS STOP): "
                                     "replies are refused (409) until they opt in again.")
    window_closes_at: str | None = Field(None, description=(
        "When the customer-service window closes (RFC 3339 UTC; WhatsApp, Messenger): after it, a text "
        "reply is refused (409 window_closed) and only a template may go.  Null: the channel has no "
        "window, or the customer never wrote to this account (then it is closed already)."))
    window_open: bool | None = Field(None, description="The window is open now; null: the channel has none.")


class Summary(BaseModel):
    """A summary of an interaction's thread (``omnisdk_summarize``, else the core's local
    extractive one)."""

    interaction_id: str = Field(description="The interaction summarized.")
    summary: str = Field(description="Plain text; empty for a thread with no text.")


class CaseDetail(CaseSummary):
    """A case with the context copied from the interaction it was opened from (the stored
    :class:`~omnisdk.model.Case` without its survey answer)."""

    context: Interaction | None = Field(None, description="The interaction as it was when the case opened.")
    history: list[MessageRecord] | None = Field(None, description="Its messages when the case opened.")
    transitions: list[Transition] | None = Field(None, description="Its history when the case opened.")
    updates: list[CaseUpdate] | None = Field(None, description="Mail that joined the case: at, message_id, "
                                             "from, counted (false: kept as a note), reason.")
    contacts: list[str] | None = Field(None, description="Other addresses of the customer: those an agent mailed "
                                       "the case's resolution to; their mail counts like the customer's.")


class AgentStatus(Agent):
    """An agent with live load."""

    load: dict[str, int] = Field(
        default_factory=dict,
        description="Items held per channel now (offered, work_in_progress and wrap_up count).",
    )
    free_capacity: dict[str, int] = Field(
        default_factory=dict,
        description="Items the agent could still take per channel (0 unless available).",
    )


class InteractionPage(BaseModel):
    """One page of interactions, newest first."""

    items: list[Interaction] = Field(description="At most ``limit`` interactions, newest first.")
    next_cursor: str | None = Field(
        description="Pass as ``cursor`` for the next page (same filters); null on the last page. Opaque.")


class CasePage(BaseModel):
    """One page of cases, newest (highest number) first."""

    items: list[CaseSummary] = Field(description="At most ``limit`` cases.")
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page; null on the last page. Opaque.")


class AgentPage(BaseModel):
    """One page of agents, by id."""

    items: list[AgentStatus] = Field(description="At most ``limit`` agents.")
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page; null on the last page. Opaque.")


class QueueStatus(Queue):
    """A queue with the number of interactions waiting in it."""

    waiting: int = Field(0, description="Interactions queued and not yet offered.")


__all__ = [
    "AgentAction", "AgentPage", "AgentStatus", "CaseDetail", "CasePage", "InteractionPage", "CaseLinkRequest", "CaseRequest", "CloseRequest",
    "ErrorBody", "InteractionDetail", "MessageRecord", "OutboundRequest", "PresenceRequest",
    "QueueStatus", "ReplyAccepted", "ReplyRequest", "TransferRequest", "Transition",
    "ValidationErrorBody",
]
