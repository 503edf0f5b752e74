"""Typed rows the store hands back (and takes): one class per kind of record.

Rows read from the store are frozen dataclasses with slots.  Two are named tuples instead,
because the core builds them on its hot path and unpacks them: :class:`HistoryRow` (one per
state change, written many to a statement) and :class:`InboxItem`.  Times are RFC 3339 UTC
strings where they come from documents, epoch seconds (float) for timers and the outbox.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from omnisdk.events import Event
from omnisdk.model.directory import DirectoryUser

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InboxResult:
    """Outcome of :meth:`Store.append_inbox`: how many events were new, how many duplicates."""

    accepted: int
    duplicates: int


class InboxItem(NamedTuple):
    """One inbox event the processor has not taken yet: its position ``seq`` (grows with every
    append) and the event."""

    seq: int
    event: Event


class HistoryRow(NamedTuple):
    """One state change of an interaction (append-only).  ``at`` is RFC 3339 UTC."""

    interaction_id: str
    at: str
    from_state: str | None
    to_state: str
    agent: str | None
    queue: str | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row without ``interaction_id``: the shape of the API's ``Transition``."""
        return {"at": self.at, "from_state": self.from_state, "to_state": self.to_state,
                "agent": self.agent, "queue": self.queue, "note": self.note}


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One message of an interaction.  ``body`` is the normalized message (None for a status
    that arrived before its send was recorded); ``status`` the delivery status of a send."""

    message_id: str
    direction: str
    kind: str | None
    body: dict[str, Any] | None
    created_at: str
    status: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One claimed outbound send.  ``payload`` is the OutboundMessage as a JSON-able dict;
    ``idempotency_key`` the key the provider is given (unique across the store, the same on
    every attempt); ``attempts`` counts this one."""

    id: int
    idempotency_key: str
    plugin: str
    account: str
    interaction_id: str | None
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class TimerRow:
    """A durable timer.  ``due_at`` is epoch seconds.  Claimed timers are not returned again
    once the transaction commits."""

    key: str
    kind: str
    due_at: float
    interaction_id: str | None
    data: dict[str, Any]


class LastServed(NamedTuple):
    """Who last served a conversation: for affinity routing.  ``closed_at`` is RFC 3339 UTC."""

    conversation_key: str
    agent: str
    closed_at: str


@dataclass(frozen=True, slots=True)
class EmailLink:
    """An indexed Message-ID (RFC 5322, without angle brackets) of one account (``source``) and
    the interaction and conversation it belongs to."""

    source: str
    message_id: str
    interaction_id: str
    conversation_key: str
    direction: str


@dataclass(frozen=True, slots=True)
class ApiKeyRow:
    """An agent-API key as stored: never the key itself, only its argon2 hash.

    ``queues`` is None for every queue (a supervisor's reach); ``scopes`` the scopes it holds
    (its role's, or fewer).  ``created_at`` and ``revoked_at`` are RFC 3339 UTC; a revoked key
    has ``revoked_at`` set and authenticates no more.
    """

    id: str
    name: str
    role: str
    scopes: tuple[str, ...]
    secret_hash: str = field(repr=False)
    created_at: str
    agent: str | None = None
    queues: tuple[str, ...] | None = None
    revoked_at: str | None = None


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One state-changing call to the agent API, as the audit log keeps it (append-only).

    ``seq`` grows with every entry (0 before it is written); ``at`` is RFC 3339 UTC; ``subject``
    is the caller (``key:<id>``, ``oidc:<sub>``, or ``anonymous`` for a refused call without
    credentials); ``remote`` the client address; ``status`` the HTTP status answered.
    """

    at: str
    subject: str
    role: str | None
    method: str
    path: str
    status: int
    remote: str | None
    seq: int = 0


@dataclass(frozen=True, slots=True)
class InteractionSummary:
    """The few fields of an interaction a caller's context shows (read from the interaction's
    columns, never its document: :meth:`~omnisdk.store.protocols.ContactStore.recent_of_addresses`).
    ``created_at`` is the UTC time as the column holds it (``datetime.isoformat``:
    ``2026-12-01T09:12:00.123456+00:00``); ``state`` the state's value."""

    id: str
    channel: str
    state: str
    created_at: str
    wrap_up_code: str | None
    case_id: str | None


@dataclass(frozen=True, slots=True)
class ContactRow:
    """A contact and the addresses it writes from, on any channel: ``addresses`` holds
    ``(channel, value)`` pairs (an E.164 number on sms, a PSID on messenger, a mail address …)."""

    id: str
    display_name: str | None
    created_at: str
    addresses: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MergeRow:
    """One merge of contact ``absorbed`` into ``kept``: the addresses it moved, who did it and
    when (RFC 3339 UTC); ``undone_at`` once undone (the addresses went back)."""

    id: str
    kept: str
    absorbed: str
    addresses: tuple[tuple[str, str], ...]
    at: str
    by: str
    undone_at: str | None = None


@dataclass(frozen=True, slots=True)
class MessagingProfile:
    """A messaging profile: which requester writes from an address on a channel (ServiceNow's
    Conversational SMS "messaging profile").  ``user_id`` is the directory user it is linked
    to, None for an anonymous (guest) requester.  One active profile per ``(channel,
    address)``; a deactivated one (``active`` False, ``deactivated_at`` set) is kept.
    ``conflict`` says why an agent must check it (two directory users share the number, the
    linked user's directory phones no longer include it …), None when there is nothing to
    check.  ``verified_by`` names the agent-API caller who linked it by hand (``key:<id>``,
    ``oidc:<sub>``): their choice stands against the directory.  Times are RFC 3339 UTC."""

    id: str
    channel: str
    address: str
    created_at: str
    user_id: str | None = None
    active: bool = True
    conflict: str | None = None
    deactivated_at: str | None = None
    verified_by: str | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionRow:
    """An outgoing-webhook subscription.  ``secret`` (``whsec_…``, Standard Webhooks) signs
    its deliveries: shown once when made, never listed.  ``event_types`` holds CloudEvents
    types, ``io.omnisdk.interaction.*`` prefixes or ``*``.  ``state`` is ``active`` or
    ``disabled`` (``disabled_reason`` says why); ``failures`` counts deliveries in a row that
    failed for good.  Times are RFC 3339 UTC."""

    id: str
    url: str
    event_types: tuple[str, ...]
    secret: str = field(repr=False)
    created_at: str
    description: str | None = None
    state: str = "active"
    disabled_reason: str | None = None
    failures: int = 0


DELIVERY_LEASE_SECONDS = 60.0
"""How far a claimed delivery is pushed back (``WebhookStore.claim_deliveries``): a pass that
dies mid-send leaves it due again after this (at-least-once), in every store."""


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """One event to deliver to one subscription (the outgoing webhooks' outbox).

    ``state``: ``pending`` (due at ``next_attempt_at``, epoch seconds), ``delivered`` or
    ``failed`` (attempts exhausted, or the receiver answered 410).  ``payload`` is the
    CloudEvent in JSON (structured mode), sent as the body of every attempt; ``id`` is the
    ``webhook-id`` of every attempt (the receiver's dedupe key).
    """

    id: str
    subscription_id: str
    event_id: str
    event_type: str
    payload: bytes = field(repr=False)
    created_at: str
    state: str = "pending"
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_status: int | None = None
    last_error: str | None = None
    delivered_at: str | None = None


@dataclass(frozen=True, slots=True)
class BusEventRow:
    """One core event waiting to be published to NATS JetStream (events out: the bus outbox
    of :mod:`omnisdk.bus.events_outbox`).

    - ``msg_id``: the ``Nats-Msg-Id`` header (:func:`omnisdk.bus.subjects.message_id` of the
      event's CloudEvents ``source`` and ``id``), unique among queued events;
    - ``event_type``: the CloudEvents ``type`` (the subject is ``{events_subject}.{type}``);
    - ``payload``: the event in the CloudEvents JSON format (structured mode), the message body;
    - ``created_at``: epoch seconds it was queued (by the processor's clock);
    - ``seq``: its place in commit order, given by the store (0 on a row not stored yet);
    - ``attempts``: publishes tried; ``next_attempt_at``: epoch seconds it is due (a claim
      pushes it back by a lease); ``state``: ``pending``, or ``failed`` when the bus refused it
      for good (kept, never claimed again); ``last_error``: why the last attempt failed.
    """

    msg_id: str
    event_type: str
    payload: bytes = field(repr=False)
    created_at: float
    seq: int = 0
    attempts: int = 0
    next_attempt_at: float = 0.0
    state: str = "pending"
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One change agents may watch live: a state change (``kind`` ``"state"``, from the
    interaction history; ``seq`` its position there) or a message (``"message"``; ``seq`` its
    position among messages).  ``agent`` and ``queue`` decide who sees it: for a state change,
    the interaction's after that change; for a message, the interaction's now.  ``data`` is the
    event's JSON body."""

    kind: str
    seq: int
    interaction_id: str
    agent: str | None
    queue: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list, newest first.  ``next_cursor`` is opaque: pass it back for the next
    page; None when this is the last one."""

    items: list[T]
    next_cursor: str | None


__all__ = ["ApiKeyRow", "AuditRow", "BusEventRow", "ContactRow", "DirectoryUser", "MessagingProfile", "DeliveryRow", "MergeRow", "EmailLink", "FeedRow", "SubscriptionRow", "HistoryRow", "InboxItem", "InboxResult", "LastServed", "MessageRow", "OutboxRow",
           "Page", "TimerRow"]
