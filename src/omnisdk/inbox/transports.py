"""Pull-based inbound transports: sources the runtime reads from, next to the webhook endpoint.

A webhook is pushed to the gateway; some sources must be *pulled* instead (an IMAP mailbox, a
provider's polling API).  A plugin's adapter lists them in
:meth:`omnisdk.adapters.ChannelAdapter.transports`, and the runtime runs each one as a task in
the process that receives webhooks (roles ``all``, ``ingress`` and ``gateway``, see
:data:`omnisdk.runtime.ROLES`), until shutdown.  In role ``all``, which may stand by for
another core on the same PostgreSQL schema, an *exclusive* transport (:func:`is_exclusive`:
one whose reads change the source, as an IMAP mailbox's do) runs only on the leader: the
runtime hands those to :class:`LeaderTransports`, a leader worker, so that one process reads
the mailbox and a standby starts reading it when it takes the lease over.

The promise is the webhook one, with "acknowledge at the source" in place of "answer 2xx":

- an item is acknowledged at its source (an IMAP mail flagged ``\\Seen`` or moved …) only
  after ``await deliver(events, received_at)`` returned, that is after the inbox commit;
- ``deliver`` raises when the commit failed: the transport then leaves the item
  unacknowledged, backs off and tries again later; nothing is lost;
- a crash between the commit and the acknowledgement makes the source hand the item out again:
  the inbox deduplicates on CloudEvents ``source`` + ``id``, so no second message follows.

The contract (:class:`~omnisdk.adapters.InboundTransport`, ``Deliver``, ``Count``) is in
:mod:`omnisdk.adapters`, with the other protocols plugins implement; the commit step is
:func:`omnisdk.inbox.commit.commit_inbox`, the one the webhooks use.

Counters (``omnisdk stats``): the runtime counts ``transport.<name>.delivered`` (items
committed) and ``transport.<name>.failed`` (commits that failed), and each transport counts its
own with ``count(what)`` (``transport.<name>.<what>``: ``retries``, ``quarantined`` …).
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import TYPE_CHECKING, Literal

from omnisdk.adapters import ChannelAdapter, Count, Deliver, InboundTransport
from omnisdk.events import Event
from omnisdk.inbox.commit import commit_inbox

if TYPE_CHECKING:
    from omnisdk.store import Store

log = logging.getLogger("omnisdk.transports")

class Backoff:
    """Exponential backoff with jitter: ``initial``, doubled after each failure up to ``cap``
    seconds; :meth:`reset` after a success.

    Args:
        initial: the first delay, seconds (> 0).
        cap: the largest delay, seconds (>= initial).
    """

    def __init__(self, initial: float = 1.0, cap: float = 60.0) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError("backoff needs 0 < initial <= cap")
        self.initial = initial
        self.cap = cap
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    def next_delay(self) -> float:
        """The delay to wait now (between half and all of the current step), and double it."""
        step = self._next
        self._next = min(self.cap, step * 2)
        return step * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not cryptography

    async def wait(self, stop: asyncio.Event) -> bool:
        """Sleep :meth:`next_delay` seconds or until ``stop`` is set; True when stopped."""
        return await sleep_or_stop(stop, self.next_delay())


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` or until ``stop`` is set, whichever is first; True when stopped."""
    if stop.is_set():
        return True
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        return False
    return True


class TransportRunner:
    """Runs transports as tasks: ``deliver`` commits through :func:`commit_inbox`, counters go
    to the store, a transport whose ``run`` raises is logged, counted and run again after a
    backoff, and :meth:`stop` sets the stop event and waits (then cancels).

    Args:
        store: the store (its inbox) the events go to.
        stop_timeout: seconds :meth:`stop` waits for the transports to return before it
            cancels them.
    """

    def __init__(self, store: Store, *, stop_timeout: float = 5.0) -> None:
        self.store = store
        self.stop_timeout = stop_timeout
        self.stopping = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []

    def start(self, adapter: ChannelAdapter, transport: InboundTransport) -> None:
        """Start ``transport`` of ``adapter``'s account."""
        self.tasks.append(asyncio.create_task(self._supervise(adapter, transport),
                                              name=f"omnisdk-transport-{transport.name}"))

    def counter(self, transport: InboundTransport) -> Count:
        prefix = f"transport.{transport.name}."

        def count(what: str) -> None:
            self.store.count_later(prefix + what)

        return count

    def deliverer(self, adapter: ChannelAdapter, count: Count) -> Deliver:
        async def deliver(events: list[Event], received_at: str) -> None:
            try:
                await commit_inbox(self.store, adapter, events, received_at)
            except BaseException:
                count("failed")
                raise
            count("delivered")

        return deliver

    async def _supervise(self, adapter: ChannelAdapter, transport: InboundTransport) -> None:
        count = self.counter(transport)
        deliver = self.deliverer(adapter, count)
        backoff = Backoff(1.0, 60.0)
        while not self.stopping.is_set():
            try:
                await transport.run(deliver, self.stopping, count)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a transport bug: never take the runtime down
                log.error("transport %s raised %s; restarting it", transport.name, type(exc).__name__,
                          exc_info=True)
                count("crashed")
                if await backoff.wait(self.stopping):
                    return
                continue
            if not self.stopping.is_set():  # returned early: run it again, gently
                if await backoff.wait(self.stopping):
                    return

    async def stop(self) -> None:
        """Set the stop event, wait up to ``stop_timeout`` s, then cancel what still runs."""
        self.stopping.set()
        if not self.tasks:
            return
        _done, pending = await asyncio.wait(self.tasks, timeout=self.stop_timeout)
        for task in pending:
            log.warning("transport task %s did not stop within %g s: cancelled", task.get_name(),
                        self.stop_timeout)
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        self.tasks.clear()


Placement = Literal["task", "leader", "none"]
"""Where a process runs a transport: as a task of its own, as part of a leader worker (only
while the process leads its routing domain), or not at all (another process reads it)."""


def placement(role: str, exclusive: bool, *, bus: bool) -> Placement:
    """Where a process of ``role`` runs a transport (``exclusive``: :func:`is_exclusive`;
    ``bus``: ``[bus] url`` is set).

    - ``all``: exclusive ones on the leader (a hot standby reads nothing), the others as tasks;
    - ``ingress`` (the split on one store): every one, as a task: one ingress per store;
    - ``gateway`` (stateless, as many as you like, no lease): the non-exclusive ones; an
      exclusive one is read by the core's leader instead, else every gateway would read the
      mailbox;
    - ``core``: with the bus, the exclusive ones on the leader (its gateways leave them to it);
      without, none (its ingress reads them).
    """
    if role == "ingress":
        return "task"
    if role == "gateway":
        return "none" if exclusive else "task"
    if role == "core":
        return "leader" if bus and exclusive else "none"
    return "leader" if exclusive else "task"


def is_exclusive(transport: InboundTransport) -> bool:
    """The transport's source must be read by one process at a time
    (:attr:`~omnisdk.adapters.InboundTransport.exclusive`; True when the transport does not say)."""
    return bool(getattr(transport, "exclusive", True))


class LeaderTransports:
    """Exclusive transports run as a leader worker (:class:`omnisdk.leadership.workers.LeaderWorker`):
    :meth:`start` runs them (a fresh :class:`TransportRunner` at each term of leadership),
    :meth:`stop` stops them, waiting at most ``stop_timeout`` seconds before it cancels (a
    cancelled transport has not acknowledged what it was delivering: the next leader reads it
    again, and the inbox deduplicates it).

    Args:
        store: the store (its inbox) the events go to.
        transports: ``(adapter, transport)`` pairs, started in that order.
        stop_timeout: seconds :meth:`stop` waits (short: the lease is already gone).
    """

    def __init__(self, store: Store, transports: list[tuple[ChannelAdapter, InboundTransport]], *,
                 stop_timeout: float = 1.0) -> None:
        self.store = store
        self.transports = transports
        self.stop_timeout = stop_timeout
        self.runner: TransportRunner | None = None
        """The running term's runner, None while not leading."""

    async def start(self) -> None:
        if self.runner is not None:
            return
        self.runner = TransportRunner(self.store, stop_timeout=self.stop_timeout)
        for adapter, transport in self.transports:
            self.runner.start(adapter, transport)

    async def stop(self) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.stop()

    def __repr__(self) -> str:
        return f"LeaderTransports({', '.join(t.name for _, t in self.transports)})"


__all__ = ["Backoff", "Count", "Deliver", "InboundTransport", "LeaderTransports", "Placement", "TransportRunner",
           "is_exclusive", "placement", "sleep_or_stop"]
