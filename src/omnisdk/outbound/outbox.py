"""The outbox: durable outbound sends, each with an idempotency key made once at enqueue.

A send is enqueued in the same transaction as the decision that causes it, so a redelivered
webhook or a retried API call never enqueues it twice: the key is unique within its scope, the
interaction (and the API caller, once the API has callers).  The same key on another
interaction is another send; on the same interaction with another payload it is refused
(:class:`~omnisdk.store.errors.IdempotencyConflict`).  The provider is given a key unique
across the store (``OutboxRow.idempotency_key``: the caller's key itself unless another
interaction used it first).  The worker claims
due rows (``sending``), calls the adapter, and records the provider's message id.  A crash
between the provider's answer and that record leaves the row ``sending``; on restart it goes
back to ``pending`` and is sent again with the same key (at-least-once towards providers that
ignore idempotency keys: see docs/architecture.md).

Each send runs with its plugin, account and interaction id bound to the log context and, with a
recording tracer, in a ``send {plugin}`` span (kind producer), a child of the processing span
that queued the row when this process still remembers it
(:class:`omnisdk.observability.tracing.SendTraces`: the outbox table stores no trace context).
The provider client's HTTP spans are its children.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanKind, Status, StatusCode

from omnisdk.adapters import ChannelAdapter, OutboundMessage, unsupported_content
from omnisdk.errors import OptedOutError, WindowClosedError
from omnisdk.events import TYPE_OUTBOUND_FAILED, TYPE_OUTBOUND_SENT, Event, rfc3339
from omnisdk.observability import log_context
from omnisdk.observability import tracing as tr
from omnisdk.outbound import connector_calls
from omnisdk.outbound.connector_calls import is_connector_call
from omnisdk.outbound.enqueue import window_closes_at
from omnisdk.outbound.errors import OutboundError
from omnisdk.outbound.http import is_retryable
from omnisdk.store.base import OutboxRow, Store, Transaction
from omnisdk.woken_worker import WokenWorker

log = logging.getLogger("omnisdk.outbox")


READ = object()
"""What a read receipt's attempt returns when the provider took it (it has no message id)."""
NOT_SENT = object()
"""What an attempt returns when the fence (:attr:`OutboxWorker.fence`) failed before any I/O:
the row is left ``sending`` for the next leader to put back."""


class OutboxWorker(WokenWorker):
    """Sends due outbox rows through their adapters, in a pass each time it is woken and at
    least every second (:class:`~omnisdk.woken_worker.WokenWorker`).

    Args:
        store: the store holding the outbox.
        adapters: adapter objects by (plugin, account).
        max_attempts: outbox-level attempts (each may itself retry inside the HTTP client).
        retry_delay: seconds before the first outbox-level retry; doubles each time (cap 300),
            or the error's ``retry_after`` when that is longer (a provider's Retry-After, a mail
            server's greylisting delay).
        clock: epoch seconds (tests inject one).
    """

    def __init__(
        self,
        store: Store,
        adapters: Mapping[tuple[str, str], ChannelAdapter],
        *,
        max_attempts: int = 6,
        retry_delay: float = 5.0,
        batch: int = 32,
        clock: Callable[[], float] = time.time,
        notify: Callable[[list[Event]], None] | None = None,
        tracing: tr.Tracing | None = None,
        traces: tr.SendTraces = tr.SEND_TRACES,
    ) -> None:
        super().__init__("omnisdk-outbox", log=log, poll_interval=1.0)
        self.store = store
        self.adapters = adapters
        self.max_attempts = max_attempts
        self.retry_delay = retry_delay
        self.batch = batch
        self.clock = clock
        self.notify = notify
        self.tracing = tracing if tracing is not None else tr.Tracing()
        self.traces = traces
        self.events_out: Callable[[Transaction, list[Event]], object] | None = None
        """Called with the ``io.omnisdk.outbound.*`` events of each pass inside the transaction
        that records them, before its commit (events out queue them there:
        :meth:`omnisdk.bus.events_outbox.EventsOutbox.write`)."""
        self.on_events_out: Callable[[], None] | None = None
        """Called after the commit of a pass that handed events to :attr:`events_out`."""
        self.on_connector_call_failed: Callable[[OutboxRow, object], Awaitable[None]] | None = None
        """Called (after the record's commit) with each connector-call row that failed for good
        and its outcome; the call controls set it to close an outbound call whose dial failed."""
        self.fence: Callable[[], bool] | None = None
        """Checked (no I/O) before each claim and before each send: False means this process
        no longer leads its routing domain (:meth:`omnisdk.leadership.Leadership.valid`), so it
        claims nothing, sends nothing more and records nothing for the rows it did not send
        (they stay ``sending``; the next leader puts them back to ``pending``)."""

    def _fenced(self) -> bool:
        return self.fence is not None and not self.fence()

    def _now(self) -> str:
        """The clock's time, RFC 3339 UTC (tests inject the clock; so does the runtime)."""
        return rfc3339(datetime.fromtimestamp(self.clock(), UTC))

    async def run_once(self) -> int:
        """Send one batch of due rows; returns how many were attempted."""
        return len(await self.run_pass())

    async def _send_in_turn(self, rows: list[OutboxRow], refused: dict[int, Exception],
                            last_wrote: dict[int, float | None]) -> list[object]:
        """Each row's outcome, in ``rows``' order: one interaction's rows are sent one after the
        other, in their claim order (a customer reads the messages in the order they were
        written; a connector's transfer follows its route), different interactions' at the
        same time."""
        outcomes: dict[int, object] = {}
        turns: dict[str, list[OutboxRow]] = {}
        for r in rows:
            turns.setdefault(r.interaction_id or f"row:{r.id}", []).append(r)

        async def in_turn(queue: list[OutboxRow]) -> None:
            for r in queue:
                outcomes[r.id] = await (self._send(r, last_wrote.get(r.id)) if r.id not in refused
                                        else _refused(refused[r.id]))

        await asyncio.gather(*(in_turn(queue) for queue in turns.values()))
        return [outcomes[r.id] for r in rows]

    async def run_pass(self) -> dict[str, object]:
        """Send one batch of due rows; returns each attempted row's outcome by its idempotency
        key (the adapter's result, or the exception it ended with; already recorded)."""
        now = self.clock()
        if self._fenced():
            return {}

        def claim(tx: Transaction) -> tuple[list[OutboxRow], dict[int, Exception], dict[int, float | None]]:
            rows = tx.claim_outbox(now, self.batch)
            refused: dict[int, Exception] = {}
            last_wrote: dict[int, float | None] = {}
            for r in rows:
                if "read_receipt" in r.payload or is_connector_call(r):  # no message to the customer: no consent or window rule
                    continue
                if self._opted_out(tx, r):
                    refused[r.id] = OptedOutError(f"the customer at {r.payload.get('customer')} opted out (STOP): "
                                                  "not sent")
                    continue
                window = self._window(r)
                if window is not None:
                    source, customer = f"/{r.plugin}/{r.account}", str(r.payload.get("customer"))
                    last_wrote[r.id] = tx.last_inbound(source, customer)
                    closes = window_closes_at({source: window}, tx, source, customer)
                    if not r.payload.get("template") and closes is not None and now >= closes:
                        refused[r.id] = WindowClosedError(
                            "the customer-service window closed before this message could go: not sent "
                            "(only a template may be sent now)", closes_at=closes or None)
            return rows, refused, last_wrote

        rows, refused, last_wrote = await self.store.transact(claim)
        if not rows:
            return {}
        results = await self._send_in_turn(rows, refused, last_wrote)
        done = [(r, res) for r, res in zip(rows, results, strict=True) if res is not NOT_SENT]
        if not done:
            return {}
        rows, results = [r for r, _ in done], [res for _, res in done]
        failed: list[tuple[OutboxRow, object]] = []
        events = await self.store.transact(lambda tx: self._record_all(tx, rows, results, failed))
        if events and self.events_out is not None and self.on_events_out is not None:
            self.on_events_out()
        if self.notify:
            self.notify(events)
        if failed and self.on_connector_call_failed is not None:
            for row, result in failed:
                try:
                    await self.on_connector_call_failed(row, result)
                except Exception:  # the row's failure is recorded: a callback's error must not stop the pass
                    log.exception("on_connector_call_failed for %s failed", connector_calls.describe(row))
        return {r.idempotency_key: res for r, res in zip(rows, results, strict=False)}

    def _record_all(self, tx: Transaction, rows: list[OutboxRow], results: list[object],
                    failed: list[tuple[OutboxRow, object]]) -> list[Event]:
        """Record each attempted row's outcome (connector calls failed for good go to
        ``failed``); the events they make (handed to :attr:`events_out` in this transaction)."""
        events = [e for e in (self._record(tx, r, res, failed) for r, res in zip(rows, results, strict=False))
                  if e is not None]
        if events and self.events_out is not None:
            self.events_out(tx, events)
        return events

    def _opted_out(self, tx: Transaction, row: OutboxRow) -> bool:
        """A row queued before its customer opted out is refused without any I/O."""
        adapter = self.adapters.get((row.plugin, row.account))
        customer = row.payload.get("customer")
        return adapter is not None and isinstance(customer, str) and tx.opted_out(adapter.channel, customer)

    def _window(self, row: OutboxRow) -> float | None:
        """The service window of the row's account, seconds (None: its channel has none)."""
        adapter = self.adapters.get((row.plugin, row.account))
        return adapter.service_window if adapter is not None else None

    async def _send(self, row: OutboxRow, last_wrote: float | None = None) -> object:
        """One attempt at one row: the provider's result, or the exception (never raises).
        ``last_wrote``: when the customer last wrote (channels with a service window);
        :data:`NOT_SENT` when the fence failed first."""
        if self._fenced():
            return NOT_SENT
        token = log_context.bind(plugin=row.plugin, account=row.account, interaction_id=row.interaction_id)
        try:
            tracer = self.tracing.tracer
            if tracer is None:
                return await self._attempt(row, last_wrote)
            return await self._traced(tracer, row, last_wrote)
        finally:
            log_context.unbind(token)

    async def _traced(self, tracer: trace.Tracer, row: OutboxRow, last_wrote: float | None) -> object:
        parent = self.traces.get(row.interaction_id, row.idempotency_key)
        attributes: dict[str, str | int] = {
            tr.MESSAGING_SYSTEM: tr.SYSTEM, tr.MESSAGING_OPERATION_TYPE: "send", tr.MESSAGING_OPERATION_NAME: "send",
            tr.MESSAGING_DESTINATION: row.plugin, tr.PLUGIN: row.plugin, tr.ACCOUNT: row.account,
            "omnisdk.outbox.attempt": row.attempts}
        if row.interaction_id:
            attributes[tr.INTERACTION_ID] = row.interaction_id
        span = tracer.start_span(
            f"send {row.plugin}", kind=SpanKind.PRODUCER, attributes=attributes,
            context=trace.set_span_in_context(NonRecordingSpan(parent)) if parent is not None else None)
        attached = otel_context.attach(trace.set_span_in_context(span))
        try:
            result = await self._attempt(row, last_wrote)
            if isinstance(result, BaseException):
                span.set_attribute(tr.ERROR_TYPE, type(result).__name__)
                span.set_status(Status(StatusCode.ERROR, type(result).__name__))
            return result
        finally:
            otel_context.detach(attached)
            span.end()

    async def _attempt(self, row: OutboxRow, last_wrote: float | None = None) -> object:
        adapter = self.adapters.get((row.plugin, row.account))
        if adapter is None:
            return LookupError(f"no adapter for {row.plugin}/{row.account}")
        if is_connector_call(row):
            return await connector_calls.attempt(adapter, row)
        try:
            if "read_receipt" in row.payload:
                await adapter.mark_read(str(row.payload["read_receipt"]), customer=str(row.payload.get("customer")),
                                        business=row.payload.get("business"))
                return READ
            payload = row.payload if last_wrote is None else {**row.payload, "customer_last_wrote_at": last_wrote}
            message = OutboundMessage.model_validate(payload)
            refused = unsupported_content(message, adapter.outbound_content)
            if refused:  # never dropped silently: the row fails, nothing is sent
                return ValueError(f"{row.plugin} cannot send {', '.join(refused)}")
            return await adapter.send(message, idempotency_key=row.idempotency_key)
        except (OutboundError, ValueError) as exc:
            return exc
        except NotImplementedError as exc:  # a plugin that does not send (yet): a permanent failure, no bug
            return exc
        except Exception as exc:  # a plugin bug must not kill the worker
            log.exception("adapter %s send crashed", row.plugin)
            return exc

    def _record(self, tx: Transaction, row: OutboxRow, result: object,
                failed: list[tuple[OutboxRow, object]] | None = None) -> Event | None:
        adapter = self.adapters.get((row.plugin, row.account))
        source = adapter.source if adapter else f"/{row.plugin}/{row.account}"
        if is_connector_call(row):
            if self._record_call(tx, row, result) and failed is not None:
                failed.append((row, result))
            return None
        if result is READ:  # the provider has it; no message and no event of ours
            tx.finish_outbox(row.id, state="sent")
            tx.count("outbound.read_receipts")
            self.traces.forget(row.interaction_id, row.idempotency_key)
            return None
        if not isinstance(result, Exception):
            mid = result.message_id  # type: ignore[attr-defined]
            tx.finish_outbox(row.id, state="sent", provider_message_id=mid)
            tx.insert_message(
                source=source,
                message_id=mid,
                interaction_id=row.interaction_id,
                direction="outbound",
                kind="text" if row.payload.get("text") else "template" if row.payload.get("template") else "media",
                body=row.payload,
                at=self._now(),
            )
            tx.apply_status(source=source, message_id=mid, status="queued",
                            provider_status=result.status, at=self._now(), error=None)  # type: ignore[attr-defined]
            tx.count("outbound.sent")
            self.traces.forget(row.interaction_id, row.idempotency_key)
            return Event(id=row.idempotency_key, source="/omnisdk/outbox", type=TYPE_OUTBOUND_SENT,
                         data={"message_id": mid, "interaction_id": row.interaction_id},
                         time=self._now(), correlationid=row.interaction_id)
        retryable = isinstance(result, Exception) and is_retryable(result)
        reason = f"{type(result).__name__}: {result}"[:300]
        if not (retryable and row.attempts < self.max_attempts):
            self.traces.forget(row.interaction_id, row.idempotency_key)  # no attempt after this one
        if retryable and row.attempts < self.max_attempts:
            tx.finish_outbox(row.id, state="pending", error=reason, next_attempt_at=self._retry_at(row, result))
            tx.count("outbound.retried")
            return None
        tx.finish_outbox(row.id, state="failed", error=reason)
        tx.count("outbound.failed")
        return Event(id=row.idempotency_key, source="/omnisdk/outbox", type=TYPE_OUTBOUND_FAILED,
                     data={"interaction_id": row.interaction_id, "error": reason},
                     time=self._now(), correlationid=row.interaction_id)


    def _retry_at(self, row: OutboxRow, result: object) -> float:
        """When a retryable failure is tried again (epoch seconds): the doubling backoff from
        ``retry_delay`` (cap 300 s, ±20 % jitter), or the error's ``retry_after`` when longer."""
        delay = min(300.0, self.retry_delay * 2 ** (row.attempts - 1)) * random.uniform(0.8, 1.2)
        wait = getattr(result, "retry_after", None)  # the provider's own word wins when longer
        if isinstance(wait, (int, float)) and wait > delay:
            delay = float(wait)
        return self.clock() + delay

    def _record_call(self, tx: Transaction, row: OutboxRow, result: object) -> bool:
        """The outcome of a connector call (:mod:`omnisdk.outbound.connector_calls`): sent (a
        dial keeps its call id as the row's provider id); retried later (a retryable failure,
        attempts left); or failed, logged and counted.  Returns True when it failed for good."""
        if connector_calls.succeeded(result):
            call_id = getattr(result, "call_id", None)
            tx.finish_outbox(row.id, state="sent", **({"provider_message_id": call_id} if call_id else {}))
            tx.count("connector_calls.sent")
            tx.count("connector_calls.backlog", -1)
            return False
        reason = f"{type(result).__name__}: {result}"[:300]
        if isinstance(result, Exception) and is_retryable(result) and row.attempts < self.max_attempts:
            tx.finish_outbox(row.id, state="pending", error=reason, next_attempt_at=self._retry_at(row, result))
            tx.count("connector_calls.retried")
            connector_calls.log.warning("%s/%s: %s failed (attempt %d, retried later): %s", row.plugin, row.account,
                        connector_calls.describe(row), row.attempts, reason)
            return False
        tx.finish_outbox(row.id, state="failed", error=reason)
        tx.count("connector_calls.failed")
        tx.count("connector_calls.backlog", -1)
        connector_calls.log.error("%s/%s: %s failed (not retried): %s", row.plugin, row.account, connector_calls.describe(row), reason)
        return True


async def _refused(error: Exception) -> Exception:
    """A row refused before any I/O (opted out, window closed): its outcome, as a send's."""
    return error
