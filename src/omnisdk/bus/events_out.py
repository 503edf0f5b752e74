"""Events out, the publishing half: a worker that publishes the bus outbox
(:mod:`omnisdk.bus.events_outbox`) to NATS JetStream and deletes each row only after its PubAck.

Each event is one JetStream message (the CloudEvents NATS binding's structured mode,
https://github.com/cloudevents/spec/blob/main/cloudevents/bindings/nats-protocol-binding.md):

- subject ``{events_subject}.{type}`` (:func:`omnisdk.bus.subjects.events_subject`), e.g.
  ``omnisdk.events.io.omnisdk.interaction.created``, on the stream ``events_stream``;
- body: the CloudEvent in the JSON format; header ``Content-Type: application/cloudevents+json``;
- header ``Nats-Msg-Id``: :func:`omnisdk.bus.subjects.message_id` of the event's ``source`` and
  ``id`` (both stable), so a publish repeated inside the stream's ``duplicate_window`` (a
  PubAck lost, a publisher that died after the publish and before the delete) is dropped by the
  server, and a consumer dedupes the rest by that header or by (``source``, ``id``).

At least once: a row is deleted in the transaction after its PubAck, never before.  A pass
claims up to ``batch`` due rows (lowest ``seq``, i.e. commit order, first), publishes them
pipelined on one connection, then in one transaction deletes the acknowledged ones and makes
the others due again; after a failed pass the worker waits a backoff
(:class:`omnisdk.inbox.transports.Backoff`, from ``backoff_initial`` doubled up to
``backoff_cap`` seconds, reset by a pass that publishes everything it claimed).  While NATS is down the rows wait
(``bus.events.backlog`` in ``omnisdk stats`` grows) and the worker reconnects with the same
backoff; when it is back the backlog drains oldest first.  A claim leases its rows for
``lease`` seconds: a publisher killed mid-pass leaves them due again after that.  An event
larger than the server's ``max_payload`` can never be published: it is marked ``failed``
(kept in ``bus_outbox``, logged, ``bus.events.failed``) and the events after it go on.

Counters: ``bus.events.published`` (rows acknowledged and deleted), ``bus.events.duplicates``
(of those, PubAcks the server flagged duplicate: an earlier attempt had landed),
``bus.events.retried`` (publishes that failed and wait again), ``bus.events.failed``;
``bus.events.backlog`` goes down by every row deleted or failed.

The worker needs the ``nats`` extra.  It is self-contained (:meth:`EventsPublisher.start`,
:meth:`EventsPublisher.stop`), so whatever decides where it runs (the core leader) only starts
and stops it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from nats.errors import MaxPayloadError

from omnisdk.bus.connection import Bus, BusError, connect
from omnisdk.bus.settings import BusSettings
from omnisdk.bus.subjects import events_subject
from omnisdk.inbox.transports import Backoff
from omnisdk.store.base import Store
from omnisdk.store.errors import StoreError
from omnisdk.store.protocols import Transaction
from omnisdk.store.rows import BusEventRow
from omnisdk.woken_worker import WokenWorker

log = logging.getLogger("omnisdk.bus.events")

CONTENT_TYPE = "application/cloudevents+json"
_CONNECT_OPTIONS: dict[str, Any] = {"allow_reconnect": False, "max_reconnect_attempts": 1,
                                    "reconnect_time_wait": 0.1}
"""The worker reconnects itself, with its backoff: a client that loses the server closes (and
its failed publishes are retried), and a first connect tries each server twice, then fails
instead of retrying forever."""


async def _quiet(exc: Exception) -> None:
    """nats-py's error callback: the worker logs failures itself, once per pass."""
    log.debug("NATS client error: %s", type(exc).__name__)


class EventsPublisher(WokenWorker):
    """Publishes the bus outbox to JetStream, oldest first, at least once, in a pass each time
    it is woken and at least every ``poll_interval`` (:class:`~omnisdk.woken_worker.WokenWorker`).

    Args:
        store: the store whose ``bus_outbox`` it drains.
        settings: ``[bus]`` (servers, stream and subject names, ``publish_timeout`` seconds per
            PubAck).
        batch: rows per pass (published pipelined, deleted in one transaction).
        lease: seconds a claimed row is held before another pass may take it.
        backoff_initial, backoff_cap: seconds of the backoff after a failed pass or connect.
        poll_interval: seconds between passes when nothing wakes the worker (rows another
            transaction queued without :meth:`wake`, rows whose retry came due).
        clock: epoch seconds (the runtime passes the processor's clock).
    """

    def __init__(self, store: Store, settings: BusSettings, *, batch: int = 256, lease: float = 10.0,
                 backoff_initial: float = 0.5, backoff_cap: float = 30.0, poll_interval: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        if batch < 1 or lease <= 0 or poll_interval <= 0:
            raise ValueError("batch, lease and poll_interval must be positive")
        super().__init__("omnisdk-events-out", log=log, poll_interval=poll_interval)
        self.store = store
        self.settings = settings
        self.batch = batch
        self.lease = lease
        self.clock = clock
        self.backoff = Backoff(backoff_initial, backoff_cap)
        self.bus: Bus | None = None

    @property
    def connected(self) -> bool:
        """A NATS connection is open now."""
        return self.bus is not None and self.bus.nc.is_connected

    async def stop(self) -> None:
        """Stop the worker and close its connection.  A pass cut short leaves its rows leased:
        due again after ``lease`` seconds, published again (the server drops what it had)."""
        await super().stop()
        await self._disconnect()

    async def _disconnect(self) -> None:
        bus, self.bus = self.bus, None
        if bus is not None:
            try:
                await bus.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                log.debug("closing the NATS connection failed", exc_info=True)

    async def connect(self) -> Bus:
        """The open connection, connecting (and declaring the streams) when there is none.

        Raises:
            BusError: no server answered, or the stream declaration was refused.
        """
        if self.bus is not None and not self.bus.nc.is_closed:
            return self.bus
        await self._disconnect()
        self.bus = await connect(self.settings, error_cb=_quiet, **_CONNECT_OPTIONS)
        return self.bus

    def pass_failed(self, exc: Exception) -> float:
        """The backoff's next delay: NATS or the store failed (a warning), or a bug (logged
        with its traceback; it must not stop events out for good)."""
        delay = self.backoff.next_delay()
        if isinstance(exc, (BusError, StoreError)):
            log.warning("events out: %s; retrying in %.1f s", exc, delay)
        else:
            log.exception("events out: pass failed")
        return delay

    async def run_once(self) -> int:
        """One pass: claim due rows, publish them, record the outcome.  Returns how many rows
        it settled, acknowledged or marked failed (0: nothing was due).

        Raises:
            BusError: NATS could not be reached (nothing claimed), or some publishes were not
                acknowledged (those rows are due again at once; the acknowledged ones are
                deleted all the same).  The worker waits its backoff before the next pass.
            StoreError: the store failed (claimed rows come due again after the lease).
        """
        bus = await self.connect()  # before the claim: no lease taken while NATS is away
        now = self.clock()
        rows = await self.store.transact(lambda tx: tx.claim_bus_events(now, self.batch, self.lease))
        if not rows:
            return 0
        results = await asyncio.gather(*(self._publish(bus, row) for row in rows), return_exceptions=True)
        acked: list[int] = []
        duplicates = 0
        too_big: list[int] = []
        failed: list[tuple[BusEventRow, BaseException]] = []
        for row, result in zip(rows, results, strict=True):
            if isinstance(result, MaxPayloadError):
                too_big.append(row.seq)
            elif isinstance(result, BaseException):
                failed.append((row, result))
            else:
                acked.append(row.seq)
                duplicates += bool(getattr(result, "duplicate", False))
        error = _reason(failed[0][1]) if failed else ""
        retry_at = self.clock()  # due again at once: the worker's backoff spaces its passes

        def record(tx: Transaction) -> None:
            _record(tx, acked, duplicates, too_big, [r.seq for r, _ in failed], retry_at, error)

        await self.store.transact(record)
        for seq in too_big:
            log.error("events out: event %d is larger than the server's max_payload (%d bytes): marked failed, "
                      "not published", seq, bus.nc.max_payload)
        if failed:
            if not bus.nc.is_connected:
                await self._disconnect()
            raise BusError(f"{len(failed)} of {len(rows)} events were not acknowledged ({error})")
        self.backoff.reset()
        return len(acked) + len(too_big)

    async def _publish(self, bus: Bus, row: BusEventRow) -> Any:
        """Publish one row; the PubAck (or raise)."""
        return await bus.js.publish(
            events_subject(self.settings.events_subject, row.event_type), row.payload,
            timeout=self.settings.publish_timeout, stream=self.settings.events_stream,
            headers={"Nats-Msg-Id": row.msg_id, "Content-Type": CONTENT_TYPE})


def _record(tx: Transaction, acked: Sequence[int], duplicates: int, too_big: Sequence[int], retry: Sequence[int],
            retry_at: float, error: str) -> None:
    """One pass's outcome in one transaction: delete the acknowledged rows, mark the too big
    ones failed, make the others due at ``retry_at``; the counters with them."""
    published = tx.finish_bus_events(acked)
    refused = tx.fail_bus_events(too_big, error="larger than the server's max_payload")
    tx.retry_bus_events(retry, at=retry_at, error=error)
    if published:
        tx.count("bus.events.published", published)
    if duplicates:
        tx.count("bus.events.duplicates", duplicates)
    if refused:
        tx.count("bus.events.failed", refused)
    if published + refused:
        tx.count("bus.events.backlog", -(published + refused))
    if retry:
        tx.count("bus.events.retried", len(retry))


def _reason(exc: BaseException) -> str:
    """A failed publish as text: the error class, and nats-py's message when it has one (its
    messages name no credentials)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__


__all__ = ["CONTENT_TYPE", "EventsPublisher"]
