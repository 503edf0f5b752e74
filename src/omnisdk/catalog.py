"""The catalogue of omnisdk CloudEvent types and their data schemas.

``python -m omnisdk.catalog > docs/events.md`` regenerates the events document; a test keeps
the two in step.  ``python -m omnisdk.catalog hooks docs/plugin-contract.md`` regenerates the
hook table of the plugin contract (between the ``HOOKS_BEGIN`` and ``HOOKS_END`` markers) from
:mod:`omnisdk.hookspecs` (:func:`render_hooks`), and its table of webhook reason codes (between
``REASONS_BEGIN`` and ``REASONS_END``) from :data:`omnisdk.errors.WEBHOOK_REASON_MEANINGS`
(:func:`render_reasons`); tests keep both in step.
"""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from pydantic import BaseModel, ConfigDict, Field

from omnisdk import events as ev
from omnisdk import hookspecs
from omnisdk.errors import WEBHOOK_REASON_MEANINGS, WEBHOOK_REASONS, WebhookReason
from omnisdk.model import Direction, Interaction, Message, PhoneNumber, StatusUpdate
from omnisdk.model.surveys import SurveyAnswer
from omnisdk.routing.model import Agent


class DeletedData(BaseModel):
    """``data`` of ``io.omnisdk.message.deleted``."""

    message_id: str = Field(description="Provider id of the deleted message.")
    channel: str
    customer: str
    business: str


class ContactChangedData(BaseModel):
    """``data`` of ``io.omnisdk.contact.changed``."""

    channel: str
    customer: str = Field(description="The address the notice is about (the old one on a number change).")
    business: str
    kind: str = Field(description="Provider's kind of notice (customer_changed_number, customer_identity_changed …).")
    new_customer: str | None = Field(None, description="The new address, on a number change.")
    text: str | None = Field(None, description="The provider's human-readable notice.")
    extra: dict = Field(default_factory=dict)


class ConversationClosedData(BaseModel):
    """``data`` of ``io.omnisdk.conversation.closed``: the customer ended the conversation."""

    channel: str
    customer: str = Field(description="The customer's address on the channel.")
    business: str = Field(description="The business address the conversation was with.")
    at: str = Field(description="RFC 3339 UTC time of the close.")
    extra: dict = Field(default_factory=dict)


class ProviderNoticeData(BaseModel):
    """``data`` of ``io.omnisdk.provider.notice``."""

    kind: str = Field(description="The provider's own name for the notice (a webhook field).")
    raw: object = Field(description="The provider's payload, unchanged.")


class CaseUpdatedData(BaseModel):
    """``data`` of ``io.omnisdk.case.updated``: one move of the case lifecycle."""

    id: str
    number: str = Field(description="Human-readable case number, CS + 7 digits.")
    from_state: str = Field(description="new, in_progress, solution_proposed, resolved or closed.")
    to_state: str
    by: str = Field(description="The agent, 'customer' (accept or reject by mail) or 'core'.")
    note: str | None = None


class OutboundSentData(BaseModel):
    """``data`` of ``io.omnisdk.outbound.sent``."""

    message_id: str = Field(description="The provider's id of the sent message.")
    interaction_id: str | None = None


class OutboundFailedData(BaseModel):
    """``data`` of ``io.omnisdk.outbound.failed``."""

    interaction_id: str | None = None
    error: str = Field(description="Error class and message (no secrets).")


class CaseCreatedData(BaseModel):
    """``data`` of ``io.omnisdk.case.created``."""

    id: str
    number: str = Field(description="Human-readable case number, CS + 7 digits.")
    subject: str
    customer: str
    interaction_ids: list[str]
    created_at: str = Field(description="RFC 3339 UTC.")


class RoutingAssignedData(BaseModel):
    """``data`` of ``io.omnisdk.routing.assigned``: the CCaaS offered an externally routed
    interaction to an agent."""

    interaction_id: str = Field(description="Our interaction id, which the CCaaS task carries as its external reference.")
    agent: str = Field(description="Our agent id when the connector's agent_map maps the CCaaS agent, else the CCaaS's own id.")
    external_id: str | None = Field(None, description="The CCaaS's id of the conversation or task; kept in `interaction.context.external_id` "
                                    "(the first event naming one binds it; another later is refused, `routing.mismatch`).")


class RoutingAcceptedData(BaseModel):
    """``data`` of ``io.omnisdk.routing.accepted``: the CCaaS agent accepted the interaction."""

    interaction_id: str
    agent: str | None = Field(None, description="As in routing.assigned; None = the agent it was offered to.")
    external_id: str | None = Field(None, description="The CCaaS's conversation id, when the event names one: it must be the "
                                    "interaction's `context.external_id` (else refused, `routing.mismatch`).")


class RoutingEndedData(BaseModel):
    """``data`` of ``io.omnisdk.routing.ended``: the CCaaS ended the interaction."""

    interaction_id: str
    wrap_up_code: str | None = Field(None, description="Our wrap-up code, mapped back through the connector's wrap_up_map; "
                                     "None (or a code not configured) closes with the default code.")
    provider_wrap_up_code: str | None = Field(None, description="The code as the CCaaS sent it.")
    reason: str = Field(description="Why it ended, in the CCaaS's words (completed, disconnected, abandoned …).")
    external_id: str | None = Field(None, description="The CCaaS's conversation id, when the event names one: it must be the "
                                    "interaction's `context.external_id` (else refused, `routing.mismatch`).")


class CallEventData(BaseModel):
    """``data`` of every ``io.omnisdk.call.*`` event (one call leg's state change)."""

    model_config = ConfigDict(populate_by_name=True)

    call_id: str = Field(description="The CTI's id of the call (leg).")
    from_: PhoneNumber = Field(alias="from", description="Caller, E.164.")
    to: PhoneNumber = Field(description="Callee, E.164.")
    direction: Direction
    agent: str | None = Field(None, description="The agent on the call (the CTI's agent id), when known.")
    at: str = Field(description="RFC 3339 UTC time of the change, from the CTI.")
    reason: str | None = Field(None, description="For ended (completed, busy, no-answer, failed …) and transferred (target).")
    interaction_id: str | None = Field(None, description="Our interaction id, when the call was placed for one.")
    business: PhoneNumber | None = Field(None, description="Our number on the call (``to`` inbound, ``from`` "
                                         "outbound), E.164; the account must own it.")


class CallRecordingData(BaseModel):
    """``data`` of ``io.omnisdk.call.recording``: a recording of a call is available."""

    call_id: str = Field(description="The CTI's id of the call the recording belongs to.")
    recording_id: str = Field(description="The CTI's id of the recording.")
    url: str = Field(description="Where the CTI serves the recording (fetching it needs the account's credentials).")
    duration: float | None = Field(None, ge=0, description="Seconds.")
    status: str = Field("completed", description="The CTI's recording status (completed, absent, failed …).")
    at: str = Field(description="RFC 3339 UTC time the recording started, or the webhook's receipt.")
    interaction_id: str | None = Field(None, description="Our interaction id, when the call was placed for one.")


@dataclass(frozen=True)
class EventType:
    type: str
    summary: str
    data: type[BaseModel]
    id_rule: str


CATALOG: tuple[EventType, ...] = (
    EventType(ev.TYPE_MESSAGE_RECEIVED, "A customer sent a message.", Message,
              "the provider's message id (wamid, MessageSid …)"),
    EventType(ev.TYPE_MESSAGE_UNSUPPORTED, "A customer sent something the plugin cannot normalize; "
              "the raw content is kept in `extra`. Threaded like any message.", Message,
              "the provider's message id"),
    EventType(ev.TYPE_MESSAGE_EDITED, "A customer edited an earlier message; data is the new content.", Message,
              "plugin-specific, distinct from the original message id (see the plugin's docs)"),
    EventType(ev.TYPE_MESSAGE_DELETED, "A customer deleted (revoked) a message.", DeletedData,
              "plugin-specific, distinct from the original message id"),
    EventType(ev.TYPE_MESSAGE_STATUS, "Delivery status of an outbound message; applied forward-only.",
              StatusUpdate, "`{message id}:{provider status}`"),
    EventType(ev.TYPE_CONTACT_CHANGED, "A provider notice about a customer's identity or number.",
              ContactChangedData, "plugin-specific, stable across redeliveries"),
    EventType(ev.TYPE_CONVERSATION_CLOSED, "The customer closed the conversation on the provider's "
              "side; the processor closes its open interaction with the wrap-up code `Closed by "
              "customer` (nothing happens when none is open).", ConversationClosedData,
              "the provider's id of the close message"),
    EventType(ev.TYPE_PROVIDER_NOTICE, "A provider webhook that is no customer fact (account, template, "
              "quality updates): kept, never silently dropped.", ProviderNoticeData,
              "plugin-specific, stable across redeliveries"),
    EventType(ev.TYPE_SURVEY_ANSWERED, "A customer answered the survey offered when the conversation ended; "
              "kept once in the interaction's `context.survey`, never in the transcript.", SurveyAnswer,
              "plugin-specific, stable across redeliveries (web chat: `{session id}:{client id}`)"),
    EventType(ev.TYPE_INTERACTION_CREATED, "The core opened an interaction.", Interaction,
              "a new time-ordered id (each state change is its own fact)"),
    EventType(ev.TYPE_INTERACTION_QUEUED, "The interaction waits in a queue (no agent with free capacity).",
              Interaction, "as above"),
    EventType(ev.TYPE_INTERACTION_OFFERED, "The interaction was offered to (assigned) an agent.", Interaction,
              "as above"),
    EventType(ev.TYPE_INTERACTION_ACCEPTED, "The agent accepted the offer (or resumed a parked "
              "interaction): work in progress.", Interaction, "as above"),
    EventType(ev.TYPE_INTERACTION_ON_HOLD, "The agent parked the interaction; its capacity is free.",
              Interaction, "as above"),
    EventType(ev.TYPE_INTERACTION_WRAP_UP, "The conversation ended; the agent has the wrap-up time to give a code.",
              Interaction, "as above"),
    EventType(ev.TYPE_INTERACTION_CLOSED, "The interaction was closed with a wrap-up code.", Interaction,
              "as above"),
    EventType(ev.TYPE_INTERACTION_TRANSFERRED, "The interaction is being transferred; `data.note` says "
              "from whom to whom (the state events that follow say where it went).", Interaction, "as above"),
    EventType(ev.TYPE_INTERACTION_MESSAGE_ADDED, "A customer message joined an interaction an agent "
              "holds: the agent's notification. Ownership does not change.", Interaction, "as above"),
    EventType(ev.TYPE_INTERACTION_ACTION, "A messaging action fired (`data.note`: name and action).",
              Interaction, "as above"),
    EventType(ev.TYPE_CASE_CREATED, "A case was opened from an interaction.", CaseCreatedData, "the case id"),
    EventType(ev.TYPE_CASE_UPDATED, "A case moved in its lifecycle (an agent, or the customer's accept or "
              "reject by mail).", CaseUpdatedData, "the case id and the move's number in its history"),
    EventType(ev.TYPE_AGENT_UPDATED, "An agent's presence or settings changed.", Agent, "a new time-ordered id"),
    EventType(ev.TYPE_OUTBOUND_SENT, "The provider accepted an outbound message.", OutboundSentData,
              "the outbox idempotency key"),
    EventType(ev.TYPE_OUTBOUND_FAILED, "An outbound message failed for good.", OutboundFailedData,
              "the outbox idempotency key"),
    EventType(ev.TYPE_ROUTING_ASSIGNED, "A CCaaS connector's platform offered an externally routed "
              "interaction to an agent; the core offers it (no capacity held).", RoutingAssignedData,
              "the CCaaS's own event id, stable across its retries"),
    EventType(ev.TYPE_ROUTING_ACCEPTED, "The CCaaS agent accepted the interaction: work in progress.",
              RoutingAcceptedData, "as above"),
    EventType(ev.TYPE_ROUTING_ENDED, "The CCaaS ended the interaction; the core closes it with the "
              "mapped-back wrap-up code (or the default one).", RoutingEndedData, "as above"),
    EventType(ev.TYPE_CALL_RINGING, "A call is ringing (inbound at the agent, or outbound at the customer).",
              CallEventData, "the CTI's own event id, else `{call id}:{state}`"),
    EventType(ev.TYPE_CALL_ANSWERED, "The call was answered.", CallEventData, "as above"),
    EventType(ev.TYPE_CALL_HELD, "The agent put the call on hold.", CallEventData, "as above"),
    EventType(ev.TYPE_CALL_RESUMED, "The agent took the call off hold.", CallEventData, "as above"),
    EventType(ev.TYPE_CALL_TRANSFERRED, "The call was transferred (`data.reason`: the target).",
              CallEventData, "as above"),
    EventType(ev.TYPE_CALL_ENDED, "The call ended (`data.reason`: completed, busy, no-answer …).",
              CallEventData, "as above"),
    EventType(ev.TYPE_CALL_RECORDING, "A call's recording is available; the core keeps its link on the "
              "call's interaction (`context.call.recordings`).", CallRecordingData,
              "the CTI's recording id"),
)


def render() -> str:
    """docs/events.md as text."""
    lines = [
        "# CloudEvent types",
        "",
        "<!-- generated by `python -m omnisdk.catalog > docs/events.md`; do not edit by hand -->",
        "",
        "Every event is a CloudEvents 1.0 event. Attributes:",
        "",
        "| attribute | value |",
        "|---|---|",
        "| `specversion` | `1.0` |",
        "| `id` | the provider's own stable id, so that (`source`, `id`) deduplicates redeliveries (rule per type below) |",
        "| `source` | `/{plugin}/{account}` for inbound events; `/omnisdk/core` and `/omnisdk/outbox` for the core's |",
        "| `type` | one of the types below (reverse-DNS, prefix `io.omnisdk.`) |",
        "| `time` | RFC 3339 UTC: the provider's timestamp, else the gateway's receive time |",
        "| `subject` | the message id (messages, statuses) or the interaction id (interaction events) |",
        "| `datacontenttype` | `application/json` |",
        "| `partitionkey` | extension: the conversation key `provider/account:channel:business:customer`, the ordering unit |",
        "| `correlationid` | extension: the interaction id, where known |",
        "| `causationid` | extension: the id of the event that caused this one |",
        "| `traceparent` | extension (CloudEvents distributed tracing): the W3C `traceparent` of the webhook request, when it carried a valid one (the gateway sets it on every event parsed from the request; an invalid one is dropped); core events copy it from the event that caused them |",
        "| `tracestate` | extension (CloudEvents distributed tracing): the request's W3C `tracestate`, when valid and with a valid `traceparent`; carried like `traceparent` |",
        "",
        "On the wire: HTTP structured mode (`application/cloudevents+json`) or binary mode (`ce-*` headers),",
        "converted with the `cloudevents.core` SDK (`omnisdk.events.to_http` / `from_http`).",
        "",
        "Where they go: in-process observers (`omnisdk_event`), outgoing webhooks (`/v1/subscriptions`) and,",
        "with `[bus] url` set, NATS JetStream (events out: subject `{events_subject}.{type}`, e.g.",
        "`omnisdk.events.io.omnisdk.interaction.closed`, structured JSON mode, `Nats-Msg-Id` from `source` and",
        "`id`, at least once: see [scale-out.md](scale-out.md#events-out)).",
        "",
        "| type | meaning | `id` |",
        "|---|---|---|",
    ]
    for t in CATALOG:
        lines.append(f"| `{t.type}` | {t.summary} | {t.id_rule} |")
    for t in CATALOG:
        lines += ["", f"## `{t.type}`", "", t.summary, "", f"`data`: `{t.data.__name__}`", "",
                  "```json", json.dumps(t.data.model_json_schema(), indent=2, sort_keys=True), "```"]
    return "\n".join(lines) + "\n"


HOOKS_BEGIN = "<!-- hooks: generated by `python -m omnisdk.catalog hooks docs/plugin-contract.md`; do not edit by hand -->"
HOOKS_END = "<!-- end of generated hooks -->"


def hook_specs() -> list[tuple[str, object]]:
    """Every hook specification of :mod:`omnisdk.hookspecs`: ``(name, function)`` in source order."""
    found = [(name, fn) for name, fn in vars(hookspecs).items()
             if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")]
    return sorted(found, key=lambda item: item[1].__code__.co_firstlineno)  # type: ignore[attr-defined]


def hook_kind(name: str) -> str:
    """``decision`` (firstresult), ``observer`` (:data:`omnisdk.hookspecs.OBSERVER_HOOKS`) or
    ``collect`` (every plugin's result, through pluggy)."""
    spec = getattr(hookspecs, name)
    if getattr(spec, f"{hookspecs.PROJECT}_spec").get("firstresult"):
        return "decision (`firstresult`)"
    if name in hookspecs.OBSERVER_HOOKS:
        return "observer (every plugin, each isolated; no wrappers)"
    return "collect (every plugin)"


def _paragraphs(doc: str) -> list[str]:
    return [" ".join(p.split()) for p in inspect.cleandoc(doc).split("\n\n") if p.strip()]


def render_hooks() -> str:
    """The hook table of ``docs/plugin-contract.md`` (with its markers), from the specs: the
    signature, kind, when it is called (the docstring's ``Called:`` paragraph) and what it
    is for (the docstring's first paragraph)."""
    lines = [HOOKS_BEGIN, "", "| hook | kind | called | what it is for |", "|---|---|---|---|"]
    for name, fn in hook_specs():
        sig = inspect.signature(fn)  # type: ignore[arg-type]
        params = ", ".join(
            f"{p.name}: {p.annotation}" if p.annotation is not inspect.Parameter.empty else p.name
            for p in sig.parameters.values()
        )
        result = sig.return_annotation if sig.return_annotation is not inspect.Signature.empty else "None"
        paras = _paragraphs(fn.__doc__ or "")
        called = next((p.removeprefix("Called:").strip() for p in paras if p.startswith("Called:")), "")
        summary = paras[0] if paras else ""
        cells = [f"`{name}({params}) -> {result}`", hook_kind(name), called, summary]
        lines.append("| " + " | ".join(c.replace("``", "`").replace("|", r"\|") for c in cells) + " |")
    return "\n".join([*lines, "", HOOKS_END])


def _block(text: str, begin: str, end: str) -> str:
    start, stop = text.find(begin), text.find(end)
    return text[start:stop + len(end)] if start >= 0 and stop > start else ""


def hooks_block(text: str) -> str:
    """The generated hook table inside a document's text (markers included), or ``""``."""
    return _block(text, HOOKS_BEGIN, HOOKS_END)


REASONS_BEGIN = ("<!-- reasons: generated by `python -m omnisdk.catalog hooks docs/plugin-contract.md` "
                 "from omnisdk.errors.WEBHOOK_REASON_MEANINGS; do not edit by hand -->")
REASONS_END = "<!-- end of generated reasons -->"


def render_reasons() -> str:
    """The table of webhook reason codes (with its markers): every code of
    :data:`omnisdk.errors.WebhookReason`, in its order, with its HTTP status and meaning.

    Raises:
        ValueError: a code has no meaning in :data:`~omnisdk.errors.WEBHOOK_REASON_MEANINGS`,
            or a meaning names no code.
    """
    codes = list(get_args(WebhookReason))
    missing = [c for c in codes if c not in WEBHOOK_REASON_MEANINGS]
    unknown = sorted(set(WEBHOOK_REASON_MEANINGS) - WEBHOOK_REASONS)
    if missing or unknown:
        raise ValueError(f"WEBHOOK_REASON_MEANINGS lacks {missing} and has unknown codes {unknown}")
    lines = [REASONS_BEGIN, "", "| reason | HTTP | what it means |", "|---|---|---|"]
    for code in codes:
        status, meaning = WEBHOOK_REASON_MEANINGS[code]
        cell = meaning.replace("|", r"\|")
        lines.append(f"| `{code}` | {status} | {cell} |")
    return "\n".join([*lines, "", REASONS_END])


def reasons_block(text: str) -> str:
    """The generated reason table inside a document's text (markers included), or ``""``."""
    return _block(text, REASONS_BEGIN, REASONS_END)


def write_hooks(path: Path) -> None:
    """Replace the hook table and the reason table between their markers in the document at
    ``path`` (the plugin contract).

    Raises:
        ValueError: the document lacks either pair of markers.
    """
    text = path.read_text(encoding="utf-8")
    for name, block, render_block, begin, end in (
        ("hook", hooks_block(text), render_hooks, HOOKS_BEGIN, HOOKS_END),
        ("reason", reasons_block(text), render_reasons, REASONS_BEGIN, REASONS_END),
    ):
        if not block:
            raise ValueError(f"{path} has no {name} block ({begin!r} … {end!r})")
        text = text.replace(block, render_block())
    path.write_text(text, encoding="utf-8")


def main(argv: list[str]) -> int:
    """``python -m omnisdk.catalog`` prints docs/events.md; ``… hooks PATH`` rewrites the hook
    and reason tables of the document at PATH (``… hooks`` alone prints both)."""
    if argv[:1] == ["hooks"]:
        if len(argv) > 1:
            write_hooks(Path(argv[1]))
        else:
            print(render_hooks() + "\n\n" + render_reasons())
        return 0
    print(render(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
