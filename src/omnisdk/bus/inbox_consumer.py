"""The core's side of the inbox bus: a durable JetStream pull consumer feeding the store's inbox.

When ``[bus] url`` is set, roles ``core`` and ``all`` run one :class:`InboxConsumer` (the
runtime starts and stops it).  It binds (creating it when missing) the durable pull consumer
``[bus] inbox_durable`` on the inbox stream, subjects ``{inbox_subject}.*``, and loops:

1. fetch up to ``[bus] inbox_batch`` messages (waiting at most :data:`FETCH_WAIT` s);
2. decode each (CloudEvents structured JSON, :mod:`omnisdk.bus.publish`) and append them all
   with one ``store.append_inbox(events, times)`` (each event's ``Omnisdk-Received-At``; one
   transaction, in fetch order); the store deduplicates on ``source`` + ``id``, which absorbs
   redeliveries outside JetStream's duplicate window;
3. ack, **only after that commit returned** (``AckPolicy.ALL``: acking the batch's last
   message acks the batch).

A failed commit is neither acked nor skipped: the same batch is committed again after a backoff
(0.1 s doubling to 5 s), its messages' ack deadline extended meanwhile (``+WPI``), and nothing
after it is fetched.  If the process stops or dies instead, JetStream redelivers the unacked
messages after :data:`ACK_WAIT` s to whichever core consumes next.

Order per conversation: one conversation is one subject (the ``partitionkey`` bucket), the
stream keeps each subject's order, and batches are fetched, committed and acked one after the
other by one consumer, so the inbox receives a conversation's events in the order the gateways'
PubAcks came back.

Counters: ``bus.inbox.*`` (see :mod:`omnisdk.bus.counts`), in ``GET /metrics`` and, for
``consumed``, ``redelivered``, ``commit_failed`` and ``malformed``, in the store (``omnisdk
stats``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from omnisdk.bus.connection import Bus, connect
from omnisdk.bus.counts import BusCounts
from omnisdk.bus.publish import RECEIVED_AT_HEADER
from omnisdk.bus.settings import BusSettings
from omnisdk.events import Event, loads, now_rfc3339
from omnisdk.store.rows import InboxResult

if TYPE_CHECKING:
    from omnisdk.store import Store

log = logging.getLogger("omnisdk.bus")

FETCH_WAIT = 1.0
"""Seconds one fetch waits for a first message (then fetches again; :meth:`stop` interrupts)."""
ACK_WAIT = 30.0
"""Seconds JetStream waits for the ack of a delivered message before redelivering it."""
MAX_ACK_PENDING = 20_000
"""Delivered, unacked messages the server allows this consumer (several batches)."""


def decode(msg: Any) -> tuple[Event, str]:
    """The event and ``received_at`` of one inbox message.

    Raises:
        ValueError: the payload is not a CloudEvents JSON document with id, source and type.
    """
    event = loads(msg.data)
    headers = msg.headers or {}
    return event, headers.get(RECEIVED_AT_HEADER) or now_rfc3339()


class InboxConsumer:
    """A self-contained consumer: :meth:`start` connects and starts the loop, :meth:`stop`
    finishes the batch in hand (committed and acked, or left unacked) and disconnects.

    Args:
        store: the store whose inbox the events go to (opened by its owner).
        settings: ``[bus]`` (its ``url`` must be set).
        counts: where ``bus.inbox.*`` counters go (besides the store).
    """

    def __init__(self, store: Store, settings: BusSettings, counts: BusCounts | None = None) -> None:
        if not settings.enabled:
            raise ValueError("the inbox consumer needs [bus] url")
        self.store = store
        self.settings = settings
        self.counts = counts if counts is not None else BusCounts()
        self.bus: Bus | None = None
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self.bus is not None and self.bus.nc.is_connected

    def consumer_config(self) -> ConsumerConfig:
        s = self.settings
        return ConsumerConfig(durable_name=s.inbox_durable, ack_policy=AckPolicy.ALL,
                              deliver_policy=DeliverPolicy.ALL, ack_wait=ACK_WAIT,
                              max_ack_pending=MAX_ACK_PENDING, filter_subject=f"{s.inbox_subject}.*")

    async def start(self) -> None:
        """Connect, declare the streams, bind the durable consumer and start consuming.

        Raises:
            BusError: NATS did not answer, or refused the streams.
        """
        s = self.settings
        self.bus = await connect(s)
        self._sub = await self.bus.js.pull_subscribe(
            f"{s.inbox_subject}.*", durable=s.inbox_durable, stream=s.inbox_stream,
            config=self.consumer_config())
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="omnisdk-bus-inbox")

    async def stop(self) -> None:
        """Stop after the batch in hand, then close the connection (idempotent)."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(task, timeout=FETCH_WAIT + 10)
            except TimeoutError:
                log.warning("the inbox consumer did not stop in time: cancelled")
        bus, self.bus = self.bus, None
        if bus is not None:  # close, not drain: a pending pull request would hold a drain 30 s
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            await bus.nc.close()

    async def _run(self) -> None:
        pause = 0.1
        while not self._stopping.is_set():
            try:
                msgs = await self._sub.fetch(self.settings.inbox_batch, timeout=FETCH_WAIT)
            except TimeoutError:
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - disconnected, consumer gone …: try again
                log.info("inbox fetch failed (%s); retrying", type(exc).__name__)
                await self._sleep(pause)
                pause = min(5.0, pause * 2)
                continue
            pause = 0.1
            if msgs and await self._commit(msgs):
                try:
                    await msgs[-1].ack()  # AckPolicy.ALL: the whole batch
                except Exception as exc:  # noqa: BLE001 - redelivered later; the store dedupes
                    log.info("inbox ack failed (%s): the batch will be redelivered", type(exc).__name__)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _commit(self, msgs: Sequence[Any]) -> bool:
        """Append the batch to the inbox; True once committed, False when stopping first."""
        events: list[Event] = []
        times: list[str] = []
        redelivered = malformed = 0
        for msg in msgs:
            try:
                if msg.metadata.num_delivered > 1:
                    redelivered += 1
                event, received_at = decode(msg)
            except ValueError:
                malformed += 1
                log.error("inbox message %s on %s is not a CloudEvent: dropped", _seq(msg), msg.subject)
                continue
            events.append(event)
            times.append(received_at)
        self._count("bus.inbox.consumed", len(msgs), store_too=True)
        self._count("bus.inbox.redelivered", redelivered, store_too=True)
        self._count("bus.inbox.malformed", malformed, store_too=True)
        pause = 0.1
        while True:
            try:  # the whole batch in one append: one transaction, in fetch order
                result = await self.store.append_inbox(events, times) if events else InboxResult(0, 0)
            except Exception as exc:  # noqa: BLE001 - the store could not commit: keep the batch
                self._count("bus.inbox.commit_failed", 1, store_too=False)
                log.warning("inbox commit of %d bus messages failed (%s); retrying", len(msgs), type(exc).__name__)
                await self._extend(msgs)
                await self._sleep(pause)
                pause = min(5.0, pause * 2)
                if self._stopping.is_set():
                    return False  # unacked: redelivered after ACK_WAIT s
                continue
            self._count("bus.inbox.committed", result.accepted, store_too=False)
            self._count("bus.inbox.deduplicated", result.duplicates, store_too=False)
            return True

    @staticmethod
    async def _extend(msgs: Sequence[Any]) -> None:
        for msg in msgs:
            with contextlib.suppress(Exception):
                await msg.in_progress()

    def _count(self, name: str, n: int, *, store_too: bool) -> None:
        if n:
            self.counts.add(name, n)
            if store_too:
                self.store.count_later(name, n)


def _seq(msg: Any) -> str:
    try:
        return f"#{msg.metadata.sequence.stream}"
    except Exception:  # noqa: BLE001
        return "?"


__all__ = ["ACK_WAIT", "FETCH_WAIT", "InboxConsumer", "decode"]
