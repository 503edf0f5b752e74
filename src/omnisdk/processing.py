"""The processor: applies durable inbox events to the domain, exactly once.

Each batch runs in one store transaction: claim unprocessed inbox rows, thread and route
messages, move delivery statuses forward, mark the rows processed, commit.  A crash before
the commit leaves the rows unprocessed (they run again); after it, they never run again.
An event whose data is invalid is marked processed with the reason (kept, counted, never
blocking the ones behind it).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import ValidationError

from omnisdk import events as ev
from omnisdk.conversations import interaction_event, route, thread_message
from omnisdk.errors import StateError
from omnisdk.lifecycle import transition
from omnisdk.model import InteractionState, Message, StatusUpdate, WrapUpCode
from omnisdk.plugins import PluginHost
from omnisdk.routing import Router
from omnisdk.store.base import Store, Transaction

log = logging.getLogger("omnisdk.processing")

STORE_ERRORS: tuple[type[BaseException], ...] = (sqlite3.Error,)
"""Exceptions that mean the store failed (the batch is retried), not that one event is bad."""

BATCH = 256
_MESSAGE_TYPES = {ev.TYPE_MESSAGE_RECEIVED, ev.TYPE_MESSAGE_UNSUPPORTED}

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Processor:
    """Drains the inbox into interactions; also the entry point of agent-side operations."""

    def __init__(
        self,
        store: Store,
        host: PluginHost,
        router: Router,
        *,
        clock: Clock = utcnow,
        acknowledgement: str | None = None,
    ) -> None:
        self.store = store
        self.host = host
        self.router = router
        self.clock = clock
        self.acknowledgement = acknowledgement
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.on_outbox: Callable[[], None] | None = None

    def wake(self) -> None:
        """Tell the processor new inbox rows are durable."""
        self._wake.set()

    def start(self) -> None:
        self._wake.set()  # rows left unprocessed by an earlier run
        self._task = asyncio.create_task(self._loop(), name="omnisdk-processor")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self.run_once():
                    pass
            except Exception:
                log.exception("processing batch failed; retrying in 1 s")
                await asyncio.sleep(1.0)
                self._wake.set()

    async def run_once(self) -> int:
        """Process one batch; returns how many inbox rows it processed."""
        processed, emitted = await self.store.transact(self._batch)
        if emitted:
            self.host.notify(emitted)
            if self.on_outbox is not None and self.acknowledgement:
                self.on_outbox()
        return processed

    async def drain(self) -> None:
        """Process until the inbox is empty (tests, the demo)."""
        while await self.run_once():
            pass

    def _batch(self, tx: Transaction) -> tuple[int, list[ev.Event]]:
        rows = tx.claim_inbox(BATCH)
        emitted: list[ev.Event] = []
        now = self.clock()
        for seq, event in rows:
            try:
                with tx.savepoint():  # a failing event leaves no half-written record
                    emitted.extend(self.apply(tx, event, now))
            except STORE_ERRORS:
                raise  # the store itself failed: roll the batch back and retry it
            except Exception as exc:  # bad data, or a plugin's decision hook raised
                reason = _short(exc)
                log.warning("event %s %s not applied: %s", event.source, event.id, reason)
                tx.mark_processed(seq, reason)
                tx.count("events.failed")
                continue
            emitted.append(event)
            tx.mark_processed(seq)
        return len(rows), emitted

    def apply(self, tx: Transaction, event: ev.Event, now: datetime) -> list[ev.Event]:
        """Apply one inbound event; returns the core events it caused."""
        if event.type in _MESSAGE_TYPES or event.type == ev.TYPE_MESSAGE_EDITED:
            message = Message.model_validate(event.data)
            threaded = thread_message(tx, self.host, self.router, event, message, now)
            tx.insert_message(
                source=event.source,
                message_id=event.id,
                interaction_id=threaded.interaction.id,
                direction="inbound",
                kind=message.kind.value,
                body=event.data or {},
                at=event.time or now.isoformat(),
            )
            if threaded.created and self.acknowledgement:
                plugin, _, account = event.source.strip("/").partition("/")
                tx.enqueue_outbox(
                    idempotency_key=f"ack:{threaded.interaction.id}",
                    plugin=plugin,
                    account=account,
                    interaction_id=threaded.interaction.id,
                    payload={"customer": message.customer, "business": message.business,
                             "text": self.acknowledgement, "interaction_id": threaded.interaction.id},
                    now=now.timestamp(),
                )
            return threaded.emitted
        if event.type == ev.TYPE_MESSAGE_STATUS:
            update = StatusUpdate.model_validate(event.data)
            moved = tx.apply_status(
                source=event.source,
                message_id=update.message_id,
                status=update.status.value,
                provider_status=update.provider_status,
                at=event.time or now.isoformat(),
                error=update.error.model_dump() if update.error else None,
            )
            tx.count("statuses.applied" if moved else "statuses.ignored_backwards")
            return []
        return []  # kept in the inbox (deleted, contact changes, provider notices)

    # --- agent-side operations ---------------------------------------------------------

    async def close(self, interaction_id: str, wrap_up_code: str = WrapUpCode.ISSUE_RESOLVED) -> None:
        """Wrap up and close an interaction, then offer the backlog to freed capacity.

        Raises:
            StateError: unknown interaction, or already closed.
        """

        def op(tx: Transaction) -> list[ev.Event]:
            now = self.clock()
            inter = tx.get_interaction(interaction_id)
            if inter is None:
                raise StateError(f"no interaction {interaction_id}")
            emitted: list[ev.Event] = []
            if inter.state is not InteractionState.WRAP_UP:
                inter = transition(inter, InteractionState.WRAP_UP, now)
            inter = transition(inter, InteractionState.CLOSED, now).model_copy(
                update={"wrap_up_code": wrap_up_code}
            )
            tx.save_interaction(inter)
            emitted.append(interaction_event(ev.TYPE_INTERACTION_CLOSED, inter))
            self._drain_backlog(tx, now, emitted)
            return emitted

        emitted = await self.store.transact(op)
        self.host.notify(emitted)

    def _drain_backlog(self, tx: Transaction, now: datetime, emitted: list[ev.Event]) -> None:
        for queued in tx.oldest_queued(100):
            routed = route(tx, self.router, queued, now, emitted)
            if routed.state is InteractionState.QUEUED:
                emitted.pop()  # still queued: no new fact
                continue
            tx.save_interaction(routed)


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errs = exc.errors(include_input=False, include_url=False)
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errs[:3])
    if isinstance(exc, (StateError, ValueError)):
        return str(exc)[:200]
    return f"{type(exc).__name__} in processing (see the log)"
