"""The per-operation context: the transaction, the time, and what the operation changed.

An operation may move an interaction through several states (new → queued → offered); the
context keeps the latest version of each interaction it touched (``dirty``) and the history rows,
and :meth:`Ctx.flush` writes them once at the end — one row write per interaction, not one per
transition.  Core events are built only when someone observes them (``observe``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from omnisdk.events import Event
from omnisdk.model import Interaction
from omnisdk.observability import log_context
from omnisdk.store.base import Transaction
from omnisdk.store.rows import HistoryRow


class Ctx:
    """One operation: its store transaction, its UTC ``now``, the events it causes, and the
    event that caused it (for ``causationid``)."""

    __slots__ = ("after", "cause", "dirty", "emitted", "iso", "logs", "now", "observe", "outbox", "receipts", "ts",
                 "tx", "windows")

    def __init__(self, tx: Transaction, now: datetime, *, cause: Event | None = None, observe: bool = True,
                 windows: Mapping[str, float] | None = None, receipts: frozenset[str] = frozenset()) -> None:
        self.tx = tx
        self.windows: Mapping[str, float] = windows or {}
        """Service-window seconds by account source (``/whatsapp/acme``), for the accounts whose
        channel has one (:attr:`omnisdk.adapters.ChannelAdapter.service_window`)."""
        self.receipts = receipts
        """The account sources whose customers are told when an agent read their messages
        (:attr:`omnisdk.adapters.ChannelAdapter.read_receipts`)."""
        self.now = now
        self.ts = now.timestamp()
        """``now`` as epoch seconds."""
        self.iso = now.isoformat().replace("+00:00", "Z")
        """``now`` as RFC 3339."""
        self.cause = cause
        self.observe = observe
        self.emitted: list[Event] = []
        self.outbox = 0
        self.after: list[Callable[[], None]] = []
        """Calls to make once the transaction has committed (CCaaS hooks)."""
        self.dirty: dict[str, Interaction] = {}
        self.logs: list[HistoryRow] = []

    def get(self, interaction_id: str) -> Interaction | None:
        """The interaction as this operation left it so far, else as stored."""
        return self.dirty.get(interaction_id) or self.tx.get_interaction(interaction_id)

    def put(self, interaction: Interaction) -> None:
        """Remember the interaction's new version (written by :meth:`flush`).  The first one an
        event's operation touches is the event's ``interaction_id`` in the log context."""
        if self.cause is not None and not self.dirty:
            log_context.add(interaction_id=interaction.id)
        self.dirty[interaction.id] = interaction

    def flush(self, history: list[HistoryRow] | None = None) -> None:
        """Write every touched interaction once, and the history rows — or hand the history
        rows to ``history`` for the caller to write with others in one statement (they only
        append, so writing them later in the same transaction changes nothing).

        Raises:
            StateError: a write would make two active interactions for one conversation.
        """
        for inter in self.dirty.values():
            self.tx.save_interaction(inter)
        if self.logs:
            if history is None:
                self.tx.log_transitions(self.logs)
            else:
                history.extend(self.logs)
        self.dirty.clear()
        self.logs.clear()
