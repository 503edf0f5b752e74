"""Pull-based inbound transports: sources the runtime reads from, next to the webhook endpoint.

A webhook is pushed to the gateway; some sources must be *pulled* instead (an IMAP mailbox, a
provider's polling API).  A plugin's adapter lists them in
:meth:`omnisdk.adapters.ChannelAdapter.transports`, and the runtime runs each one as a task in
the process that receives webhooks (roles ``all`` and ``ingress``, see
:data:`omnisdk.runtime.ROLES`), until shutdown.

The promise is the webhook one, with "acknowledge at the source" in place of "answer 2xx":

- an item is acknowledged at its source (an IMAP mail flagged ``\\Seen`` or moved …) only
  after ``await deliver(events, received_at)`` returned, that is after the inbox commit;
- ``deliver`` raises when the commit failed: the transport then leaves the item
  unacknowledged, backs off and tries again later; nothing is lost;
- a crash between the commit and the acknowledgement makes the source hand the item out again:
  the inbox deduplicates on CloudEvents ``source`` + ``id``, so no second message follows.

Counters (``omnisdk stats``): the runtime counts ``transport.<name>.delivered`` (items
committed) and ``transport.<name>.failed`` (commits that failed), and each transport counts its
own with ``count(what)`` (``transport.<name>.<what>``: ``retries``, ``quarantined`` …).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from omnisdk.events import Event
from omnisdk.store.base import InboxResult

if TYPE_CHECKING:
    from omnisdk.adapters import ChannelAdapter
    from omnisdk.store import Store

log = logging.getLogger("omnisdk.transports")

Deliver = Callable[[list[Event], str], Awaitable[None]]
"""``await deliver(events, received_at)``: make the events of one source item durable
(deduplicated on ``source`` + ``id``) and wake the processor; returns only after the inbox
commit.  ``received_at`` is the RFC 3339 UTC time the item was read.

Raises:
    omnisdk.errors.WebhookError: the events are refused for good (an event names a business
        address the account does not own, ``foreign_business_address``): nothing was stored;
        the transport sets the item aside (it would be refused again).
    Exception: any other error means the commit did not happen (the store is unavailable):
        leave the item unacknowledged and retry later.
"""

Count = Callable[[str], None]
"""``count(what)``: add one to the counter ``transport.<name>.<what>`` (written with the next
store commit, shown by ``omnisdk stats``).  ``what`` is a fixed word, never a value from the
source or a secret."""


@runtime_checkable
class InboundTransport(Protocol):
    """A pull-based inbound source of one account.

    Attributes:
        name: a short name for stats and logs, unique within the process and free of secrets
            (``"imap:support"``): the counters are ``transport.<name>.<what>``.
    """

    name: str

    async def run(self, deliver: Deliver, stop: asyncio.Event, count: Count) -> None:
        """Pull from the source until ``stop`` is set, then return (promptly: the runtime
        waits a few seconds on shutdown, then cancels).

        For each item: read it, turn it into events (the adapter's pure ``parse()``), ``await
        deliver(events, received_at)``, and only then acknowledge it at the source.  An item
        that can never be parsed is set aside at the source (a quarantine) and counted, and the
        rest go on.  Errors of the source (an outage, a refused login) are retried with
        backoff and counted; ``run`` should not raise.  If it does anyway, the runtime logs it,
        counts ``transport.<name>.crashed`` and runs it again after a backoff.
        """
        ...


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


async def commit_inbox(store: Store, adapter: ChannelAdapter, events: Sequence[Event],
                       received_at: str) -> InboxResult:
    """The commit step every inbound path shares (the gateway's webhooks and the transports):
    refuse events naming a business address ``adapter``'s account does not own, then append
    them to the inbox (deduplicated on ``source`` + ``id``); returns after the commit.  The
    store's ``on_inbox`` callback (set by the runtime) wakes the processor.

    Raises:
        omnisdk.gateway.ownership.ForeignAddressError: an event names a foreign business
            address (nothing stored).
        TypeError: an event's data is not JSON-serializable (a plugin bug; nothing stored).
        Exception: the store could not commit (nothing stored).
    """
    # imported here: importing omnisdk.gateway runs its __init__, which imports the runtime
    from omnisdk.gateway.ownership import check_ownership

    check_ownership(adapter, events)
    if not events:
        return InboxResult(0, 0)
    return await store.append_inbox(events, received_at)


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


__all__ = ["Backoff", "Count", "Deliver", "InboundTransport", "TransportRunner", "commit_inbox",
           "sleep_or_stop"]
