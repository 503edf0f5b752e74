"""The store's domain operations, one small protocol per concern.

:class:`Transaction` is their union: what :meth:`Store.transact` hands the core's synchronous
domain code, inside one atomic transaction.  A store implements every protocol; code that needs
one concern only may type its argument with that protocol.  Times in documents are RFC 3339 UTC
strings; timer and outbox times are epoch seconds.

Every method raises :class:`~omnisdk.store.errors.StoreError` when the store itself fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from omnisdk.model import Case, CaseSummary, Interaction
from omnisdk.routing.model import Agent, Queue
from omnisdk.store.queries import InteractionQuery
from omnisdk.store.rows import (
    ApiKeyRow,
    AuditRow,
    BusEventRow,
    ContactRow,
    DeliveryRow,
    DirectoryUser,
    EmailLink,
    FeedRow,
    HistoryRow,
    InboxItem,
    InteractionSummary,
    LastServed,
    MergeRow,
    MessageRow,
    MessagingProfile,
    OutboxRow,
    Page,
    SubscriptionRow,
    TimerRow,
)


class Atomic(Protocol):
    """Nested atomic blocks and a write meter."""

    def savepoint(self, name: str = "item") -> AbstractContextManager[None]:
        """A nested atomic block: an exception inside rolls back only its writes (and counter
        increments).  ``name`` is an identifier; blocks may nest.  Inside a block a store may
        send writes that need no answer later (PostgreSQL: with its next statement); their
        errors are then raised at the latest when the block ends, inside it, so the block rolls
        back as if the write had failed at once.

        Raises:
            ValueError: ``name`` is not an identifier.
        """

    def writes(self) -> int:
        """A number that grows with every row written and every counter increment in this
        transaction, and never goes down (not even on a rollback): equal before and after a
        block means the block changed nothing in the store."""


class InboxStore(Protocol):
    """The processor's side of the inbox: an append-only log read through a cursor."""

    def claim_inbox(self, limit: int) -> list[InboxItem]:
        """Up to ``limit`` events after the cursor, oldest first."""

    def mark_processed(self, seq: int, error: str | None = None) -> None:
        """Move the cursor past ``seq``, recording why the event could not be applied."""

    def mark_processed_through(self, seq: int) -> None:
        """Move the processor's cursor past ``seq`` (it never moves back)."""

    def inbox_failure(self, source: str, event_id: str) -> str | None:
        """Why an inbox event could not be applied, or None."""

    def inbox_backlog(self, up_to: int | None = None) -> int:
        """Inbox rows the processor has not taken yet; with ``up_to``, counted only up to that
        many (``min(backlog, up_to)``: a readiness check against a bound reads at most the
        bound's rows, not the whole backlog)."""

    def oldest_unprocessed_at(self) -> str | None:
        """``received_at`` (RFC 3339 UTC) of the oldest inbox row the processor has not taken
        yet, or None when there is none."""


class InteractionStore(Protocol):
    """Interactions, their history and their messages."""

    def active_interaction(self, conversation_key: str) -> Interaction | None:
        """The one active (not closed) interaction of a conversation, if any."""

    def prefetch_active(self, conversation_keys: Sequence[str]) -> None:
        """A hint: :meth:`active_interaction` will be asked about these keys in this
        transaction.  A store whose reads are round trips (PostgreSQL) reads them all in one
        statement and answers from what it read (kept up to date by this transaction's own
        saves); one whose reads are cheap (SQLite) does nothing.  Answers never change."""

    def active_interactions_of(self, source: str, channel: str, customer: str) -> list[Interaction]:
        """The account's interactions with ``customer`` on ``channel`` that are not closed,
        newest first (email threading's candidates: one contact's open work)."""

    def get_interaction(self, interaction_id: str) -> Interaction | None:
        """The interaction with this exact id, or None."""

    def find_interactions(self, fragment: str, limit: int = 2) -> list[str]:
        """Ids of interactions whose id starts or ends with ``fragment`` (at most ``limit``),
        found through an index: for humans who type part of an id."""

    def save_interaction(self, interaction: Interaction) -> None:
        """Insert or update.

        Raises:
            StateError: it would make two active interactions for one conversation key.
        """

    def list_interactions(self, *, active_only: bool = False, limit: int = 1000) -> list[Interaction]:
        """Interactions, oldest first, at most ``limit`` (tests, the test kit)."""

    def page_interactions(self, query: InteractionQuery, *, limit: int, cursor: str | None = None) -> Page[Interaction]:
        """One page of the interactions matching ``query``, newest first.

        Raises:
            ValueError: ``cursor`` is not one this store made, or ``limit`` is out of range.
        """

    def list_interactions_in(self, states: Sequence[str]) -> list[Interaction]:
        """Interactions in any of ``states``, oldest first (start-up rebuild)."""

    def count_interactions_in(self, states: Sequence[str]) -> dict[str, int]:
        """``{state: count}`` of the interactions in each of ``states`` (a state without any is
        absent); read from an index, so the cost follows those states' rows, not the table's."""

    def agent_loads(self) -> dict[str, dict[str, int]]:
        """Active interactions held per agent per channel: ``{agent: {channel: count}}``."""

    def last_served(self, since: str) -> list[LastServed]:
        """Interactions closed since ``since`` (RFC 3339 UTC) that had an agent, oldest first."""

    def log_transition(self, interaction_id: str, at: str, from_state: str | None, to_state: str,
                       agent: str | None, queue: str | None, note: str | None = None) -> None:
        """Append one row to an interaction's history (never rewritten)."""

    def log_transitions(self, rows: Sequence[HistoryRow]) -> None:
        """Append many history rows, in their order.

        Raises:
            TypeError: a row that is not a :class:`HistoryRow` (nothing is written).
        """

    def interaction_history(self, interaction_id: str) -> list[HistoryRow]:
        """The interaction's history, oldest first."""

    def insert_message(self, *, source: str, message_id: str, interaction_id: str | None, direction: str,
                       kind: str, body: dict[str, Any], at: str) -> bool:
        """Store a message; False if (source, message_id) exists already (a status placeholder
        row is completed instead)."""

    def insert_message_later(self, *, source: str, message_id: str, interaction_id: str | None, direction: str,
                             kind: str, body: dict[str, Any], at: str) -> None:
        """:meth:`insert_message` without its answer: the store may send it with its next
        statement (PostgreSQL inside a savepoint block: one round trip for several writes).
        Its errors are raised at the latest when the enclosing savepoint block ends, inside it."""

    def apply_status(self, *, source: str, message_id: str, status: str, provider_status: str, at: str,
                     error: dict[str, Any] | None) -> str:
        """Move a message's delivery status forward.  Returns ``"applied"``; ``"backwards"``
        (nothing written) if it would go backwards or out of ``failed``; ``"inbound"`` (nothing
        written) if the id is a message the customer sent.  Unknown messages get an
        ``outbound`` placeholder row."""

    def message_status(self, source: str, message_id: str) -> str | None:
        """The delivery status of one message, or None."""

    def messages_of(self, interaction_id: str) -> list[MessageRow]:
        """The interaction's messages, oldest first (by time, not by text)."""


class ContactStore(Protocol):
    """Contacts and the addresses that lead to them."""

    def upsert_contact(self, channel: str, address: str, display_name: str | None, now: str) -> str:
        """The contact id behind an address, created on first sight (the display name is
        updated when it changed)."""

    def upsert_contact_later(self, channel: str, address: str, display_name: str | None, now: str) -> None:
        """:meth:`upsert_contact` without its answer (the contact id), which the store may send
        with its next statement, as :meth:`InteractionStore.insert_message_later`."""

    def set_opt_out(self, channel: str, address: str, opted_out: bool, at: str) -> None:
        """Record that the customer at ``address`` opted out (True) or in again (False)."""

    def get_contact(self, contact_id: str) -> ContactRow | None:
        """The contact with its addresses, or None."""

    def contact_of(self, channel: str, value: str) -> str | None:
        """The id of the contact writing from this address, or None."""

    def interactions_of_addresses(self, addresses: Sequence[tuple[str, str]], limit: int) -> list[Interaction]:
        """The interactions with any of these ``(channel, customer)`` addresses, newest first."""

    def recent_of_addresses(self, addresses: Sequence[tuple[str, str]], limit: int) -> list[InteractionSummary]:
        """:meth:`interactions_of_addresses` as :class:`~omnisdk.store.rows.InteractionSummary`
        rows (the same interactions, the same order), read from columns without the documents."""

    def merge_contacts(self, kept: str, absorbed: str, at: str, by: str) -> MergeRow:
        """Move every address of ``absorbed`` to ``kept`` and record it.

        Raises:
            NotFoundError: either contact is unknown.  ValueError: the same contact twice.
        """

    def undo_merge(self, merge_id: str, at: str) -> MergeRow:
        """Move the merge's addresses back to the absorbed contact (those still on the kept one).

        Raises:
            NotFoundError: no such merge.  StateError: it was undone already.
        """

    def note_inbound(self, source: str, customer: str, at: float) -> None:
        """The customer wrote to the account ``source`` at ``at`` (epoch seconds, UTC): its
        service window opens again from then."""

    def last_inbound(self, source: str, customer: str) -> float | None:
        """When the customer last wrote to the account ``source`` (epoch seconds), or None."""

    def opted_out(self, channel: str, address: str) -> bool:
        """Whether the customer at ``address`` has opted out (and not in again)."""


class ProfileStore(Protocol):
    """The user directory and the messaging profiles that link an address to a requester."""

    def save_directory_users(self, users: Sequence[DirectoryUser]) -> int:
        """Insert or replace users by id (a replaced user's phones and emails are the new
        ones); returns how many were written."""

    def get_directory_user(self, user_id: str) -> DirectoryUser | None:
        """The user with this id, or None."""

    def directory_users_with_phone(self, phone: str) -> list[DirectoryUser]:
        """The users whose phones include ``phone`` (E.164), by id."""

    def active_profile(self, channel: str, address: str) -> MessagingProfile | None:
        """The active messaging profile of an address, or None."""

    def get_profile(self, profile_id: str) -> MessagingProfile | None:
        """The profile with this id (active or not), or None."""

    def save_profile(self, profile: MessagingProfile) -> None:
        """Insert or update a profile by id.

        Raises:
            StateError: it would make a second active profile for its ``(channel, address)``.
        """

    def list_profiles(self, *, flagged: bool = False, channel: str | None = None, address: str | None = None,
                      limit: int = 100) -> list[MessagingProfile]:
        """Profiles, newest (highest id: ids sort by creation time) first, at most ``limit``:
        only those with a ``conflict`` when
        ``flagged``; only those of one ``channel`` / ``address`` (active or not) when given."""


class TimerStore(Protocol):
    """Durable timers: each due timer is claimed exactly once."""

    def schedule_timer(self, key: str, kind: str, due_at: float, interaction_id: str | None,
                       data: dict[str, Any]) -> None:
        """Create or re-arm the timer ``key`` (``due_at`` epoch seconds)."""

    def cancel_timers(self, interaction_id: str, kinds: Sequence[str] | None = None) -> int:
        """Cancel an interaction's pending timers (of ``kinds``, or all); returns how many."""

    def claim_due_timers(self, now: float, limit: int) -> list[TimerRow]:
        """Pending timers due at ``now``, earliest first, marked fired."""

    def pending_timers(self, interaction_id: str | None = None) -> list[TimerRow]:
        """Pending timers (of one interaction), earliest first."""


class OutboxStore(Protocol):
    """Durable outbound sends with scoped idempotency keys."""

    def enqueue_outbox(self, *, idempotency_key: str, plugin: str, account: str, interaction_id: str | None,
                       payload: dict[str, Any], now: float, caller: str | None = None,
                       request: dict[str, Any] | None = None) -> bool:
        """Add a send.  The key is scoped to ``interaction_id`` and ``caller``: the same key
        in another scope is another send.  Returns False (nothing written) if the key is in
        the scope already with the same request (``request``: what the caller asked; default
        the whole ``payload``; fields the core derives, such as a mail's headers, are left out
        of it, so a repeat after the thread moved on is still the same request).

        Raises:
            IdempotencyConflict: the key is in the scope already with a different request.
        """

    def claim_outbox(self, now: float, limit: int) -> list[OutboxRow]:
        """Due pending sends, oldest due first, marked ``sending`` (attempts + 1)."""

    def finish_outbox(self, row_id: int, *, state: str, provider_message_id: str | None = None,
                      error: str | None = None, next_attempt_at: float | None = None) -> None:
        """``state``: ``sent``, ``failed`` or ``pending`` (retry at ``next_attempt_at``)."""

    def requeue_stale_sending(self) -> int:
        """Rows left ``sending`` by a crash go back to ``pending``; returns how many."""

    def outbox_pending(self) -> int:
        """Sends waiting for their (first or next) attempt: rows in state ``pending``."""


class CaseStore(Protocol):
    """Cases (:class:`~omnisdk.model.Case` documents with a unique number ``CS0000001`` …).

    A case written by an older release (a document without ``state``, ``updates`` …) still
    reads back as a :class:`~omnisdk.model.Case` (see :mod:`omnisdk.model.cases`).
    """

    def save_case(self, case: Case) -> None:
        """Insert or update a case (by ``id``; its ``number`` never changes).

        Raises:
            TypeError: ``case`` is not a :class:`~omnisdk.model.Case` (nothing is written).
        """

    def get_case(self, case_id: str) -> Case | None:
        """A case by id or number, or None."""

    def case_summaries(self, case_ids: Sequence[str]) -> list[CaseSummary]:
        """The cases with these ids (not numbers) as :class:`~omnisdk.model.CaseSummary`, in
        one read and without validating their history, in no particular order; an unknown id
        is left out (the caller's context of an incoming call: :mod:`omnisdk.voice.caller`)."""

    def page_cases(self, *, limit: int, cursor: str | None = None) -> Page[Case]:
        """One page of cases, newest (highest number) first.

        Raises:
            ValueError: a cursor this store did not make, or ``limit`` out of range.
        """


class CounterStore(Protocol):
    """Named counters (stats) and sequences."""

    def count(self, name: str, n: int = 1) -> None:
        """Add to a named counter (written with the transaction)."""

    def counters(self) -> dict[str, int]:
        """Every counter."""

    def next_number(self, name: str) -> int:
        """The next value of a named sequence (1, 2, …)."""


class DirectoryStore(Protocol):
    """Agents and queues saved through the API (they survive restarts)."""

    def save_agent(self, agent: Agent) -> None:
        """Insert or replace an agent (by id).

        Raises:
            TypeError: ``agent`` is not an :class:`~omnisdk.routing.model.Agent`.
        """

    def list_agents(self) -> list[Agent]:
        """Every saved agent, by id."""

    def save_queue(self, queue: Queue) -> None:
        """Insert or replace a queue (by name).

        Raises:
            TypeError: ``queue`` is not a :class:`~omnisdk.routing.model.Queue`.
        """

    def list_queues(self) -> list[Queue]:
        """Every saved queue, in the order first saved."""


class EmailIndex(Protocol):
    """Every inbound and outbound email Message-ID of an account (``source``), per interaction
    and conversation, for threading replies by ``In-Reply-To`` / ``References`` (RFC 5322
    section 3.6.4).  Accounts never see each other's ids: one mail sent to two accounts threads
    in each."""

    def index_message_ids(self, source: str, interaction_id: str, conversation_key: str,
                          message_ids: Sequence[str], direction: str) -> int:
        """Remember Message-IDs (angle brackets stripped) as belonging to the interaction;
        an id already indexed for the account keeps its first interaction.  Returns how many
        were new."""

    def interactions_for_message_ids(self, source: str, message_ids: Sequence[str]) -> list[EmailLink]:
        """The account's indexed ones among ``message_ids``, in the order given (a References
        header lists the oldest first: the caller usually wants the last match)."""


class AccessStore(Protocol):
    """API keys of the agent API and its audit log."""

    def save_api_key(self, row: ApiKeyRow) -> None:
        """Add a key (its id is new: a clash raises :class:`~omnisdk.store.StoreError`)."""

    def get_api_key(self, key_id: str) -> ApiKeyRow | None:
        """The key with this id, revoked or not."""

    def list_api_keys(self) -> list[ApiKeyRow]:
        """Every key, oldest first."""

    def revoke_api_key(self, key_id: str, at: str) -> bool:
        """Mark the key revoked at ``at`` (RFC 3339 UTC); False if there is no such key or it
        was revoked already."""

    def append_audit(self, row: AuditRow) -> None:
        """Append one entry to the audit log (its ``seq`` is assigned)."""

    def page_audit(self, *, limit: int, cursor: str | None = None) -> Page[AuditRow]:
        """Audit entries, newest first, one page at a time.

        Raises:
            ValueError: ``limit`` out of range or a cursor of another list.
        """


class FeedStore(Protocol):
    """What the live feed of the agent API reads: state changes and messages in commit order."""

    def feed_head(self) -> tuple[int, int]:
        """The positions of the last state change and the last message (0, 0 when empty)."""

    def feed_after(self, state_after: int, message_after: int, *, state_upto: int | None = None,
                   message_upto: int | None = None, limit: int = 1000) -> list[FeedRow]:
        """State changes after ``state_after`` (up to ``state_upto``), then messages after
        ``message_after`` (up to ``message_upto``), each oldest first, at most ``limit`` of
        each kind."""


class WebhookStore(Protocol):
    """Outgoing-webhook subscriptions and their deliveries."""

    def save_subscription(self, row: SubscriptionRow) -> None:
        """Add or replace a subscription (by id)."""

    def get_subscription(self, subscription_id: str) -> SubscriptionRow | None:
        """The subscription, or None."""

    def list_subscriptions(self) -> list[SubscriptionRow]:
        """Every subscription, oldest first."""

    def delete_subscription(self, subscription_id: str) -> bool:
        """Remove it and its deliveries; False if there was none."""

    def enqueue_deliveries(self, rows: Sequence[DeliveryRow]) -> None:
        """Queue deliveries (an event already queued for a subscription is not queued again)."""

    def claim_deliveries(self, now: float, limit: int) -> list[DeliveryRow]:
        """Pending deliveries due at ``now`` (epoch seconds) of active subscriptions, oldest
        first; each claimed one is pushed back by a lease so that no other pass takes it."""

    def finish_delivery(self, row: DeliveryRow) -> None:
        """Write a delivery's outcome (state, attempts, next attempt, last status and error)."""

    def list_deliveries(self, subscription_id: str, *, state: str | None = None,
                        limit: int = 50) -> list[DeliveryRow]:
        """A subscription's deliveries, newest first."""

    def requeue_deliveries(self, subscription_id: str, delivery_id: str | None = None) -> int:
        """Make failed deliveries (one, or all of the subscription's) pending again, due now,
        with their attempts reset; how many."""


class BusOutboxStore(Protocol):
    """Core events waiting to be published to NATS JetStream (events out), in commit order.

    Rows are written in the transaction of the change that caused their event and deleted only
    after the server acknowledged the publish (:mod:`omnisdk.bus.events_out`).  Times are epoch
    seconds.
    """

    def enqueue_bus_events(self, rows: Sequence[BusEventRow]) -> int:
        """Queue events, due at once, each after every event queued before it (``seq`` grows
        in commit order); one whose ``msg_id`` is queued already is not queued again.  Returns
        how many were queued."""

    def claim_bus_events(self, now: float, limit: int, lease: float) -> list[BusEventRow]:
        """Up to ``limit`` pending events due at ``now``, lowest ``seq`` first, each pushed
        back by ``lease`` seconds with ``attempts`` + 1: no other claim takes them meanwhile
        (claimed exactly once, even by concurrent claimers), and a publisher that dies holding
        them leaves them due again after the lease."""

    def finish_bus_events(self, seqs: Sequence[int]) -> int:
        """Delete published events (their PubAck came); how many were deleted."""

    def retry_bus_events(self, seqs: Sequence[int], *, at: float, error: str) -> None:
        """Make claimed events due again at ``at``, with the failed attempt's ``error``."""

    def fail_bus_events(self, seqs: Sequence[int], *, error: str) -> int:
        """Mark events the bus refused for good ``failed`` (kept, never claimed again); how
        many were marked."""

    def bus_events(self, *, state: str | None = None, limit: int = 100) -> list[BusEventRow]:
        """Queued events (of one ``state``), lowest ``seq`` first."""

    def bus_backlog(self) -> tuple[int, float | None]:
        """Events waiting for their publish: how many rows are ``pending`` (claimed or not;
        ``failed`` ones are not counted) and the ``created_at`` (epoch seconds) of the oldest,
        None when none waits."""


class Transaction(Atomic, InboxStore, InteractionStore, ContactStore, ProfileStore, TimerStore, OutboxStore, CaseStore,
                  CounterStore, DirectoryStore, EmailIndex, AccessStore, FeedStore,
                  WebhookStore, BusOutboxStore, Protocol):
    """Every domain operation, inside one atomic transaction (synchronous)."""


__all__ = ["AccessStore", "Atomic", "BusOutboxStore", "FeedStore", "WebhookStore", "CaseStore", "ContactStore", "CounterStore", "DirectoryStore", "EmailIndex", "InboxStore",
           "InteractionStore", "OutboxStore", "ProfileStore", "TimerStore", "Transaction"]
