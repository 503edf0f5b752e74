"""The processor: the one writer of interaction state.

It applies durable inbox events, fires due timers and runs agent operations, each inside a
store transaction.  Every item is guarded twice: a SAVEPOINT for its rows and a journal mark for
the routing engine's memory, so a failing item (bad data, a plugin hook raising, an illegal
move) leaves no trace and the others go on.  Inbox batches are applied optimistically first,
with one savepoint for the whole batch: an item that fails before writing is undone in memory
alone; if one fails after writing, the batch is rolled back and applied again with a savepoint
per item (plugin hooks may then be asked twice for the same event).  A crash before a commit
leaves inbox rows unprocessed and timers unfired (they run again); after it, they never run
again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from pydantic import ValidationError

from omnisdk import events as ev
from omnisdk.errors import StateError
from omnisdk.lifecycle.context import Ctx
from omnisdk.lifecycle.customer_close import apply_conversation_closed
from omnisdk.lifecycle.external import ROUTING_TYPES, apply_routing_event
from omnisdk.lifecycle.operations import Lifecycle
from omnisdk.lifecycle.surveys import record_survey
from omnisdk.metrics import RuntimeMetrics
from omnisdk.model import Consent, Message, StatusUpdate
from omnisdk.observability import log_context
from omnisdk.observability import tracing as tr
from omnisdk.outbound.enqueue import enqueue_text
from omnisdk.outbound.notices import Notice
from omnisdk.plugins import PluginHost
from omnisdk.routing.dispatch import rebuild
from omnisdk.routing.engine import RoutingEngine
from omnisdk.store.base import Store, Transaction
from omnisdk.store.errors import StoreError
from omnisdk.store.rows import HistoryRow
from omnisdk.threading.conversations import thread_message
from omnisdk.voice.calls import CALL_TYPES
from omnisdk.woken_worker import WokenWorker


class BeforeCommit(Protocol):
    """What the processor calls before each commit: falsy when it has nothing to do (then core
    events are not even built unless a plugin observes them)."""

    def __bool__(self) -> bool: ...

    def before_commit(self, tx: Transaction, contexts: Sequence[Ctx]) -> None: ...

log = logging.getLogger("omnisdk.inbox.processor")

BATCH = 256
STORE_ERRORS: tuple[type[BaseException], ...] = (StoreError,)
"""Exceptions that mean the store failed (the batch is retried), not that one item is bad."""
_STATUS_COUNTERS = {"applied": "statuses.applied", "backwards": "statuses.ignored_backwards",
                    "inbound": "statuses.ignored_inbound"}
_MESSAGE_TYPES = {ev.TYPE_MESSAGE_RECEIVED, ev.TYPE_MESSAGE_UNSUPPORTED, ev.TYPE_MESSAGE_EDITED}

Clock = Callable[[], datetime]
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Processor(WokenWorker):
    """Drains the inbox, fires timers and runs operations against the lifecycle.

    The inbox is drained in a pass each time the processor is woken (:meth:`wake`: new inbox
    rows are durable), and every ``poll_interval`` seconds when that is set (None by default;
    the runtime sets it when another process, an ingress, writes the inbox:
    :class:`~omnisdk.woken_worker.WokenWorker`).  Timers are fired every ``timer_interval``
    seconds by a loop of their own.

    ``metrics`` (the runtime's, else one of its own) gets one observation per inbox batch
    that processed at least one event (``batch_seconds``: from handing the batch to the store
    until its commit returned) and one per fired timer (``timer_lag_seconds``: the processor's
    clock at the claim minus the timer's ``due_at``, never below 0), both after the commit.

    With a recording tracer (``tracing``: :mod:`omnisdk.observability.tracing`) each inbox batch
    is an ``omnisdk.inbox.batch`` span (from the claim until the commit returned) and each event
    a ``process inbox`` span, a child of the event's ``traceparent`` linked to its batch's span;
    the event's id, plugin, account, trace id and (once threaded) interaction id are bound to
    the log context while it is applied.
    """

    def __init__(
        self,
        store: Store,
        host: PluginHost,
        engine: RoutingEngine,
        lifecycle: Lifecycle,
        *,
        clock: Clock = utcnow,
        acknowledgement: str | None = None,
        timer_interval: float = 1.0,
        metrics: RuntimeMetrics | None = None,
        tracing: tr.Tracing | None = None,
    ) -> None:
        super().__init__("omnisdk-processor", log=log, poll_interval=None)
        self.store = store
        self.host = host
        self.engine = engine
        self.lifecycle = lifecycle
        self.clock = clock
        self.acknowledgement = acknowledgement
        self.timer_interval = timer_interval
        self.metrics = metrics if metrics is not None else RuntimeMetrics()
        self.tracing = tracing if tracing is not None else tr.Tracing()
        self._batch_span: Span | None = None
        """The span of the batch being applied (set on the writer thread, ended after the commit)."""
        self.batch = BATCH
        """Inbox rows per transaction (smaller when another process shares the write lock)."""
        self.windows: dict[str, float] = {}
        """Service-window seconds by account source, for the accounts whose channel has one
        (the runtime fills it from its adapters)."""
        self.read_receipts: frozenset[str] = frozenset()
        """The account sources whose agents' reads are told to the customer (their plugin sends
        read receipts and ``[lifecycle] read_receipts`` is on; the runtime fills it)."""
        self.on_deliveries: Callable[[], None] | None = None
        """Called after a commit that may have queued outgoing webhooks."""
        self.before_commit: BeforeCommit | None = None
        """Called with each transaction's contexts before it commits, when set and truthy
        (the outgoing webhooks queue their deliveries there: :mod:`omnisdk.outbound.subscriptions`)."""
        self.events_out: BeforeCommit | None = None
        """The second hook of the same kind, called after :attr:`before_commit`: events out
        write each event to the bus outbox there (:mod:`omnisdk.bus.events_outbox`)."""
        self.on_events_out: Callable[[], None] | None = None
        """Called after a commit that may have queued events out (wakes their publisher)."""
        self._timers: asyncio.Task[None] | None = None
        self.on_outbox: Callable[[], None] | None = None

    # --- running -----------------------------------------------------------------------

    async def restore(self) -> None:
        """Rebuild the routing engine's memory from the store (start-up, failed commit)."""
        affinity = self.lifecycle.settings.affinity_window

        def run(tx: Transaction) -> None:
            self.engine.reset()
            rebuild(self.engine, tx, self.clock().timestamp(), affinity)

        await self.store.transact(run)

    def start(self) -> None:
        """Drain the inbox (at once: rows left unprocessed by an earlier run) and fire timers,
        each in a task of its own."""
        super().start()
        if self._timers is None:
            self._timers = asyncio.create_task(self._timer_loop(), name="omnisdk-timers")

    async def stop(self) -> None:
        """Stop both tasks and wait until they have ended."""
        timers, self._timers = self._timers, None
        if timers is not None:
            timers.cancel()
        await super().stop()
        if timers is not None:  # wait, not await: a cancel of the caller itself still propagates
            await asyncio.wait([timers])

    def pass_failed(self, exc: Exception) -> float:
        """Logged; the next pass runs 1 s later."""
        log.exception("processing batch failed; retrying in 1 s")
        return 1.0

    async def _timer_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timer_interval)
            try:
                while await self.run_timers():
                    pass
            except Exception:
                log.exception("timer pass failed")

    # --- transactions --------------------------------------------------------------------

    async def _transact(self, fn: Callable[[Transaction], T]) -> T:
        """Run ``fn`` in a store transaction (on the store's writer thread, where every engine
        access happens).  If the commit itself fails, the engine's memory is rebuilt from the
        store, which holds the truth."""

        def run(tx: Transaction) -> T:
            self.engine.commit()  # everything journaled before this transaction is durable
            return fn(tx)

        try:
            return await self.store.transact(run)
        except STORE_ERRORS:
            log.exception("store transaction failed; rebuilding routing state from the store")
            await self.restore()
            raise

    def _guarded(self, ctx: Ctx, fn: Callable[[], T], history: list[HistoryRow] | None = None) -> T:
        """One item: its rows and its engine changes both roll back if it raises.  With
        ``history``, its history rows are collected there for one write per batch."""
        mark = self.engine.mark()
        try:
            with ctx.tx.savepoint():
                result = fn()
                ctx.flush(history)
                return result
        except BaseException:
            ctx.dirty.clear()
            ctx.logs.clear()
            ctx.after.clear()
            self.engine.rollback_to(mark)
            raise

    def _ctx(self, tx: Transaction, now: datetime, cause: ev.Event | None = None) -> Ctx:
        return Ctx(tx, now, cause=cause, windows=self.windows, receipts=self.read_receipts,
                   observe=bool(self.before_commit) or bool(self.events_out) or self.host.implements("omnisdk_event"))

    def _before_commit(self, tx: Transaction, contexts: list[Ctx]) -> None:
        if not contexts:
            return
        for hook in (self.before_commit, self.events_out):
            if hook:
                hook.before_commit(tx, contexts)

    def _after(self, ctx_list: list[Ctx]) -> None:
        for c in ctx_list:
            for call in c.after:
                call()
        events = [e for c in ctx_list for e in c.emitted]
        if events:
            self.host.omnisdk_event(events)
        if self.on_outbox is not None and any(c.outbox for c in ctx_list):
            self.on_outbox()
        if self.on_deliveries is not None and self.before_commit and events:
            self.on_deliveries()
        if self.on_events_out is not None and self.events_out and events:
            self.on_events_out()

    async def operate(self, fn: Callable[[Ctx], T]) -> T:
        """Run one operation (``fn(ctx)``) atomically; emit its events after the commit.

        Raises whatever ``fn`` raises (StateError, CapacityError, ValueError), with nothing
        written.
        """

        def op(tx: Transaction) -> tuple[T, Ctx]:
            ctx = self._ctx(tx, self.clock())
            result = self._guarded(ctx, lambda: fn(ctx))
            self._before_commit(tx, [ctx])
            return result, ctx

        result, ctx = await self._transact(op)
        self._after([ctx])
        return result

    # --- inbox -----------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Process one inbox batch; returns how many rows it processed."""
        started = time.perf_counter()
        try:
            processed, contexts = await self._transact(self._batch)
        except BaseException as exc:
            self._end_batch_span(exc)
            raise
        self._end_batch_span(None)
        if processed:
            self.metrics.batch_seconds.observe(time.perf_counter() - started)
        self._after(contexts)
        return processed

    def _end_batch_span(self, exc: BaseException | None) -> None:
        span, self._batch_span = self._batch_span, None
        if span is None:
            return
        if exc is not None:
            span.set_attribute(tr.ERROR_TYPE, type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        span.end()

    async def drain(self) -> None:
        """Process until the inbox is empty (tests, the demo)."""
        while await self.run_once():
            pass

    def _batch(self, tx: Transaction) -> tuple[int, list[Ctx]]:
        rows = tx.claim_inbox(self.batch)
        if not rows:
            return 0, []
        now = self.clock()
        tracer = self.tracing.tracer
        if tracer is not None:
            self._batch_span = tracer.start_span("omnisdk.inbox.batch", attributes={
                tr.MESSAGING_SYSTEM: tr.SYSTEM, tr.MESSAGING_OPERATION_TYPE: "process",
                tr.MESSAGING_DESTINATION: tr.INBOX, tr.MESSAGING_BATCH_COUNT: len(rows)})
        # the conversations the batch's messages thread into, in one read where reads are round
        # trips: their key is the events' partitionkey (a plugin's own thread key, or a mail
        # thread's, is read when asked)
        tx.prefetch_active([event.partitionkey for _, event in rows
                            if event.partitionkey and event.type in _MESSAGE_TYPES])
        mark = self.engine.mark()
        try:
            with tx.savepoint("batch"):
                contexts = self._apply_rows(tx, rows, now, guarded=False)
        except STORE_ERRORS:
            raise
        except Exception:  # an item failed after writing (_Redo), or a write the store sent
            # when the block ended failed (deferred writes): run the batch again, each item guarded
            self.engine.rollback_to(mark)
            contexts = self._apply_rows(tx, rows, now, guarded=True)
        tx.mark_processed_through(rows[-1][0])  # the claimed rows are the oldest unprocessed
        self._before_commit(tx, contexts)
        return len(rows), contexts

    def _apply_rows(self, tx: Transaction, rows: list[tuple[int, ev.Event]], now: datetime,
                    guarded: bool) -> list[Ctx]:
        """Apply claimed inbox rows.  Unguarded (the first pass), items run without a savepoint
        each (a savepoint costs about as much as the item's own writes): an item that fails
        before writing anything is undone in memory alone; one that fails after writing raises
        :class:`_Redo`, and the caller runs the batch again with every item guarded."""
        contexts: list[Ctx] = []
        history: list[HistoryRow] = []  # the batch's history rows, written in one statement
        failed: list[tuple[ev.Event, str]] = []
        tracer = self.tracing.tracer
        batch = self._batch_span
        links = [Link(batch.get_span_context())] if batch is not None else None
        for seq, event in rows:
            ctx = self._ctx(tx, now, cause=event)
            mark = self.engine.mark()
            writes = tx.writes()
            token = _bind_event(event)
            span = attached = None
            if tracer is not None:
                span = tracer.start_span("process inbox", context=tr.event_context(event), kind=SpanKind.CONSUMER,
                                         attributes=tr.event_attributes(event), links=links)
                attached = otel_context.attach(trace.set_span_in_context(span))
            try:
                if guarded:
                    self._guarded(ctx, lambda: self.apply(ctx, event), history)  # noqa: B023 - called at once
                else:
                    self.apply(ctx, event)
                    ctx.flush(history)
            except STORE_ERRORS:
                raise
            except Exception as exc:  # bad data, or a plugin's decision hook raised
                if not guarded:
                    if tx.writes() != writes:
                        raise _Redo from exc
                    self.engine.rollback_to(mark)
                reason = _short(exc)
                counter = getattr(exc, "counter", None)  # a refusal with its own counter (CallRefused)
                if isinstance(counter, str):
                    tx.count(counter)
                if span is not None:
                    span.set_attribute(tr.ERROR_TYPE, type(exc).__name__)
                    span.set_status(Status(StatusCode.ERROR, reason))
                failed.append((event, reason))
                tx.mark_processed(seq, reason)
                tx.count("events.failed")
                continue
            finally:
                if span is not None:
                    otel_context.detach(attached)
                    span.end()
                log_context.unbind(token)
            if ctx.observe:
                ctx.emitted.insert(0, event)
            contexts.append(ctx)
        for start in range(0, len(history), 1000):  # 7 parameters a row, well under the limit
            tx.log_transitions(history[start:start + 1000])
        for event, reason in failed:  # logged once the pass stands (a redone pass logs its own)
            token = _bind_event(event)
            try:
                log.warning("event %s %s not applied: %s", event.source, event.id, reason)
            finally:
                log_context.unbind(token)
        return contexts

    def _threaded_into(self, interaction_id: str) -> None:
        """The event being applied joined this interaction: say so in its log context and span."""
        log_context.add(interaction_id=interaction_id)
        if self.tracing.tracer is not None:
            trace.get_current_span().set_attribute(tr.INTERACTION_ID, interaction_id)

    def apply(self, ctx: Ctx, event: ev.Event) -> None:
        """Apply one inbound event."""
        tx = ctx.tx
        if event.type in _MESSAGE_TYPES:
            message = Message.model_validate(event.data)
            threaded = thread_message(ctx, self.host, self.lifecycle.ownership, event, message)
            if event.source in self.windows:  # the customer-service window opens (again) now
                tx.note_inbound(event.source, message.customer, ctx.ts)
            if threaded.interaction is not None:
                self._threaded_into(threaded.interaction.id)
            if message.consent in (Consent.OPT_OUT, Consent.OPT_IN):  # before any reply is queued
                tx.set_opt_out(message.channel, message.customer, message.consent is Consent.OPT_OUT,
                               event.time or ctx.iso)
                tx.count(f"consent.{message.consent.value}")
            body = event.data or {}
            if threaded.email is not None:  # the decision is kept with the message, and counted
                body = {**body, "threading": threaded.email.to_dict()}
                tx.count(f"email.threaded.{threaded.email.rule}")
            tx.insert_message_later(
                source=event.source, message_id=event.id,
                interaction_id=threaded.interaction.id if threaded.interaction else None,
                direction="inbound", kind=message.kind.value, body=body, at=event.time or ctx.iso,
            )
            opened_case = False
            if threaded.email is not None and threaded.interaction is not None and not (message.email and message.email.auto):
                opened_case = self.lifecycle.case_mail.on_mail(ctx, message, threaded.interaction,
                                                               threaded.email.rule, threaded.created)
            if threaded.created and self.acknowledgement and threaded.interaction is not None and not opened_case:
                enqueue_text(ctx, threaded.interaction, self.acknowledgement, f"ack:{threaded.interaction.id}",
                             automatic=True, notice=Notice.ACKNOWLEDGEMENT)
        elif event.type == ev.TYPE_MESSAGE_STATUS:
            update = StatusUpdate.model_validate(event.data)
            outcome = tx.apply_status(
                source=event.source, message_id=update.message_id, status=update.status.value,
                provider_status=update.provider_status, at=event.time or ctx.iso,
                error=update.error.model_dump() if update.error else None,
            )
            tx.count(_STATUS_COUNTERS[outcome])
        elif event.type in ROUTING_TYPES:  # a CCaaS connector reports on externally routed work
            apply_routing_event(ctx, self.lifecycle.actions, event)
        elif event.type == ev.TYPE_CONVERSATION_CLOSED:  # the customer left (Apple's close)
            apply_conversation_closed(ctx, self.lifecycle.actions, event)
        elif event.type == ev.TYPE_SURVEY_ANSWERED:  # kept on its interaction, not in the transcript
            record_survey(ctx, event)
        elif event.type in CALL_TYPES:  # a CTI connector reports on a call: a voice interaction
            inter = self.lifecycle.calls.apply(ctx, event)
            self._threaded_into(inter.id)
        # other types (deleted, contact changes, provider notices) are kept in the inbox and
        # passed to observers

    # --- timers ----------------------------------------------------------------------------

    async def run_timers(self, limit: int = 256) -> int:
        """Fire the timers due by the clock; returns how many fired."""

        def batch(tx: Transaction) -> tuple[list[float], list[Ctx]]:
            now = self.clock()
            timers = tx.claim_due_timers(now.timestamp(), limit)
            lags = [max(0.0, now.timestamp() - timer.due_at) for timer in timers]
            contexts = []
            for timer in timers:
                ctx = self._ctx(tx, now)
                try:
                    self._guarded(ctx, lambda: self.lifecycle.timers.fire(ctx, timer))  # noqa: B023
                except STORE_ERRORS:
                    raise
                except Exception:
                    log.exception("timer %s failed; it will not fire again", timer.key)
                    tx.count("timers.failed")
                    continue
                tx.count("timers.fired")
                contexts.append(ctx)
            self._before_commit(tx, contexts)
            return lags, contexts

        lags, contexts = await self._transact(batch)
        for lag in lags:  # every claimed timer fired (or failed) with this commit
            self.metrics.timer_lag_seconds.observe(lag)
        self._after(contexts)
        return len(lags)


def _bind_event(event: ev.Event) -> Any:
    """Bind an inbox event's id, plugin, account and trace id to the log context."""
    plugin, _, account = event.source.strip("/").partition("/")
    return log_context.bind(event_id=event.id, plugin=plugin or None, account=account or None,
                            trace_id=tr.trace_id_of(event.traceparent))


class _Redo(Exception):
    """An unguarded inbox item failed after writing rows: the batch runs again, guarded."""


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errs = exc.errors(include_input=False, include_url=False)
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errs[:3])
    if isinstance(exc, (StateError, ValueError)):
        return str(exc)[:200]
    return f"{type(exc).__name__} in processing (see the log)"


__all__ = ["Processor", "utcnow", "Any"]
