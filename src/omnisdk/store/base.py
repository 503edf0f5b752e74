"""The store interface.

Two halves:

- :meth:`Store.append_inbox` is the hot path: it makes webhook events durable (dedupe on
  CloudEvents ``source`` + ``id``) and returns only after the commit, so the gateway may
  answer 2xx.  Implementations batch concurrent calls into one commit (group commit).
- :meth:`Store.transact` runs a synchronous function against a :class:`Transaction` — the
  domain operations threading, routing and the outbox need — atomically.  The core's domain
  code is synchronous and pure Python; the store decides where it runs (the SQLite store runs
  it on its writer thread).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from omnisdk.events import Event
from omnisdk.model import Interaction

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class InboxResult:
    """Outcome of :meth:`Store.append_inbox`: how many events were new, how many duplicates."""

    accepted: int
    duplicates: int


@dataclass(slots=True)
class OutboxRow:
    """One pending outbound send.  ``payload`` is the OutboundMessage as JSON-able dict."""

    id: int
    idempotency_key: str
    plugin: str
    account: str
    interaction_id: str | None
    payload: dict[str, Any]
    attempts: int


@dataclass(slots=True)
class TimerRow:
    """A due durable timer (claimed: it will not be returned again once committed)."""

    key: str
    kind: str
    due_at: float
    interaction_id: str | None
    data: dict[str, Any]


class Transaction(Protocol):
    """Domain operations inside one atomic transaction (synchronous).  Times are RFC 3339 UTC."""

    def savepoint(self, name: str = "item") -> AbstractContextManager[None]:
        """A nested atomic block: an exception inside rolls back only its writes (and counter
        increments).  ``name`` is an SQL identifier; blocks may nest."""

    def writes(self) -> int:
        """A number that grows with every row written and every counter increment in this
        transaction, and never goes down (not even on a rollback): equal before and after a
        block means the block changed nothing in the store."""

    def claim_inbox(self, limit: int) -> list[tuple[int, Event]]:
        """Up to ``limit`` unprocessed inbox events, oldest first, as (seq, event)."""

    def mark_processed(self, seq: int, error: str | None = None) -> None:
        """Mark one inbox row processed (with the reason if it could not be)."""

    def mark_processed_through(self, seq: int) -> None:
        """Move the processor's cursor past ``seq``."""

    def inbox_failure(self, source: str, event_id: str) -> str | None:
        """Why an inbox event could not be applied, or None."""

    def inbox_backlog(self) -> int:
        """Inbox rows the processor has not taken yet."""

    def active_interaction(self, conversation_key: str) -> Interaction | None:
        """The one active (not closed) interaction of a conversation, if any."""

    def get_interaction(self, interaction_id: str) -> Interaction | None: ...

    def save_interaction(self, interaction: Interaction) -> None:
        """Insert or update.  Raises StateError if it would make two active interactions
        for one conversation key."""

    def list_interactions(self, *, active_only: bool = False, limit: int = 1000) -> list[Interaction]: ...

    def agent_loads(self) -> dict[str, dict[str, int]]:
        """Active interactions held per agent per channel: ``{agent: {channel: count}}``."""

    def upsert_contact(self, channel: str, address: str, display_name: str | None, now: str) -> str:
        """The contact id behind an address, created on first sight."""

    def insert_message(
        self,
        *,
        source: str,
        message_id: str,
        interaction_id: str | None,
        direction: str,
        kind: str,
        body: dict[str, Any],
        at: str,
    ) -> bool:
        """Store a message; False if (source, message_id) exists already."""

    def apply_status(
        self,
        *,
        source: str,
        message_id: str,
        status: str,
        provider_status: str,
        at: str,
        error: dict[str, Any] | None,
    ) -> str:
        """Move a message's delivery status forward.  Returns ``"applied"``; ``"backwards"``
        (nothing written) if it would go backwards or out of ``failed``; ``"inbound"`` (nothing
        written) if the id is a message the customer sent (a status is about our sends).
        Unknown messages get an ``outbound`` row (the status seen before the send is recorded)."""

    def message_status(self, source: str, message_id: str) -> str | None: ...

    def enqueue_outbox(
        self,
        *,
        idempotency_key: str,
        plugin: str,
        account: str,
        interaction_id: str | None,
        payload: dict[str, Any],
        now: float,
    ) -> bool:
        """Add a send; False if the idempotency key is already in the outbox."""

    def claim_outbox(self, now: float, limit: int) -> list[OutboxRow]:
        """Due pending sends, marked ``sending`` (attempts + 1)."""

    def finish_outbox(
        self,
        row_id: int,
        *,
        state: str,
        provider_message_id: str | None = None,
        error: str | None = None,
        next_attempt_at: float | None = None,
    ) -> None:
        """``state``: ``sent``, ``failed`` or ``pending`` (retry at ``next_attempt_at``)."""

    def log_transition(self, interaction_id: str, at: str, from_state: str | None, to_state: str,
                       agent: str | None, queue: str | None, note: str | None = None) -> None:
        """Append to an interaction's history (never rewritten)."""

    def log_transitions(self, rows: Sequence[tuple[str, str, str | None, str, str | None, str | None, str | None]]) -> None:
        """:meth:`log_transition` for many rows: (interaction_id, at, from, to, agent, queue, note)."""

    def interaction_history(self, interaction_id: str) -> list[dict[str, Any]]: ...

    def messages_of(self, interaction_id: str) -> list[dict[str, Any]]:
        """The interaction's messages, oldest first (direction, kind, body, created_at)."""

    def schedule_timer(self, key: str, kind: str, due_at: float, interaction_id: str | None,
                       data: dict[str, Any]) -> None:
        """Create or re-arm the timer ``key`` (epoch seconds)."""

    def cancel_timers(self, interaction_id: str, kinds: Sequence[str] | None = None) -> int:
        """Cancel an interaction's pending timers (of ``kinds``, or all)."""

    def claim_due_timers(self, now: float, limit: int) -> list[TimerRow]:
        """Pending timers due at ``now``, marked fired (inside this transaction)."""

    def pending_timers(self, interaction_id: str | None = None) -> list[TimerRow]: ...

    def save_agent(self, doc: dict[str, Any]) -> None: ...

    def list_agents(self) -> list[dict[str, Any]]: ...

    def save_queue(self, doc: dict[str, Any]) -> None: ...

    def list_queues(self) -> list[dict[str, Any]]: ...

    def next_number(self, name: str) -> int:
        """The next value of a named sequence (1, 2, …)."""

    def save_case(self, doc: dict[str, Any]) -> None: ...

    def get_case(self, case_id: str) -> dict[str, Any] | None: ...

    def list_cases(self) -> list[dict[str, Any]]: ...

    def list_interactions_in(self, states: Sequence[str]) -> list[Interaction]:
        """Interactions in any of ``states``, oldest first."""

    def last_served(self, since: str) -> list[tuple[str, str, str]]:
        """(conversation_key, agent, closed_at) of interactions closed since ``since``."""

    def count(self, name: str, n: int = 1) -> None:
        """Add to a named counter (stats)."""

    def counters(self) -> dict[str, int]: ...


class Store(ABC):
    """A durable store.  Open it before use; close it on shutdown."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def append_inbox(self, events: Sequence[Event], received_at: str) -> InboxResult:
        """Make events durable, deduplicated on (source, id); returns after the commit."""

    @abstractmethod
    async def transact(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` atomically; its exception rolls back its writes and is re-raised."""

    def count_later(self, name: str, n: int = 1) -> None:
        """Add to a counter without waiting (written with the next commit)."""

    on_inbox: Callable[[], None] | None = None
    """Called (on the event loop) after a commit that added inbox events."""

    location: str = ""
    """Where the data lives, for humans (a path or a DSN without password)."""


def open_store(url: str, **options: Any) -> Store:
    """A store for a URL: ``sqlite:///relative.db`` or ``sqlite:////abs/path.db``.

    Raises:
        ConfigError: unknown scheme.
    """
    from omnisdk.errors import ConfigError

    if url.startswith("sqlite:///"):
        from omnisdk.store.sqlite import SQLiteStore

        inbox = options.pop("inbox_url", None)
        if inbox is not None:
            if not inbox.startswith("sqlite:///"):
                raise ConfigError("store.inbox_url must be a sqlite:/// URL too")
            options["inbox_path"] = inbox[len("sqlite:///"):]
        return SQLiteStore(url[len("sqlite:///"):] or "omnisdk.db", **options)
    raise ConfigError(f"unsupported store URL scheme in {url.split(':', 1)[0]!r} (use sqlite:///PATH)")
