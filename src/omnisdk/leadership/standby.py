"""Leadership: a core process leads its routing domain while it holds the lease, and stands by
otherwise.

:class:`Leadership` runs the lease (:mod:`omnisdk.leadership.lease`): at :meth:`~Leadership.start`
it tries once to acquire it (a lone core starts leading before ``start`` returns, as it always
did); then a task confirms it every :data:`~omnisdk.leadership.lease.KEEPALIVE_INTERVAL`
seconds while leading, or tries to acquire it every
:data:`~omnisdk.leadership.lease.RETRY_INTERVAL` seconds while standing by.

- On acquiring: ``on_lead()`` (the runtime restores the routing engine from the store and starts
  its leader-only workers: :meth:`omnisdk.runtime.Runtime.add_leader_worker`).  If it fails (the
  store failed meanwhile), the lease is given up, and tried again later.
- On losing it (a keepalive failed or the lease is older than
  :data:`~omnisdk.leadership.lease.VALIDITY`): ``on_lose()`` at once (the runtime stops those
  workers), then the process stands by.

:meth:`Leadership.valid` is the fence the workers with effects outside the store check before
each of them (the outbox before a claim and before each send): it answers from the clock, with no
I/O, so it also holds after a pause of the whole process.

Logs (logger ``omnisdk.leadership``): a warning when the lease is lost, info when it is taken,
with the seconds the process stood by.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from omnisdk.leadership.lease import KEEPALIVE_INTERVAL, RETRY_INTERVAL, LeaderLease

log = logging.getLogger("omnisdk.leadership")

Hook = Callable[[], Awaitable[None]]


class Leadership:
    """The lease of one routing domain and what runs while it is held.

    Args:
        lease: the domain's lease (:class:`~omnisdk.leadership.lease.LocalLease` on SQLite).
        on_lead: awaited once each time the lease is acquired.
        on_lose: awaited once each time it is lost or given up (:meth:`stop`), only after an
            ``on_lead``.
    """

    def __init__(self, lease: LeaderLease, *, on_lead: Hook, on_lose: Hook,
                 keepalive_interval: float = KEEPALIVE_INTERVAL, retry_interval: float = RETRY_INTERVAL) -> None:
        self.lease = lease
        self.on_lead = on_lead
        self.on_lose = on_lose
        self.keepalive_interval = keepalive_interval
        self.retry_interval = retry_interval
        self.leading = False
        """True from acquiring the lease until losing it (``on_lead`` may still be running)."""
        self.ready = False
        """True once ``on_lead`` has finished (the engine is restored, the workers run)."""
        self.terms = 0
        """How many times this process acquired the lease."""
        self.led_at: float | None = None
        """When (``time.time()``, epoch seconds) this process last acquired the lease."""
        self.restore_seconds: float | None = None
        """How long the last ``on_lead`` took (seconds): from the lease to the leader's work running."""
        self._working = False  # on_lead began and on_lose has not finished since
        self._task: asyncio.Task[None] | None = None
        self._lead_task: asyncio.Task[None] | None = None
        self._since = time.monotonic()

    @property
    def shared(self) -> bool:
        """Whether other processes may lead this domain (False on SQLite: no standby)."""
        return self.lease.shared

    @property
    def state(self) -> str:
        """``leader`` (ready), ``starting`` (acquired, restoring) or ``standby``."""
        return "leader" if self.ready else "starting" if self.leading else "standby"

    def valid(self) -> bool:
        """The fence: leading, and the lease recent enough to be trusted (no I/O)."""
        return self.leading and self.lease.valid()

    async def start(self) -> None:
        """Try to acquire the lease once (leading, ``on_lead`` done, when it is free), then keep
        it or wait for it in a task of its own (not on SQLite: nobody else can take it)."""
        if await self.lease.try_acquire():
            await self._lead(inline=True)
        if self.lease.shared:
            self._task = asyncio.create_task(self._run(), name="omnisdk-leadership")
        elif not self.leading:  # a local lease is always free: only on_lead failing gets here
            raise RuntimeError("the local leader lease could not be taken")

    async def stop(self) -> None:
        """Stop watching the lease; when leading, ``on_lose`` then give the lease up."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
            self._task = None
        if self.leading:
            await self._lose("stopping")
        if self._working:  # a loss was cut short by the cancel above: finish stopping the work
            try:
                await self.on_lose()
                self._working = False
            except Exception:
                log.exception("leader of %r: stopping the leader's work failed", self.lease.domain)
        await self.lease.release()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_interval if self.leading else self.retry_interval)
            try:
                if self.leading:
                    if not await self.lease.keepalive() or not self.lease.valid():
                        await self._lose("lease lost")
                elif await self.lease.try_acquire():
                    await self._lead(inline=False)
            except asyncio.CancelledError:
                raise
            except Exception:  # a hook failing must not end the watch
                log.exception("leadership of %r: a pass failed", self.lease.domain)

    async def _lead(self, *, inline: bool) -> None:
        self.leading = True
        self.terms += 1
        self.led_at = time.time()
        waited = time.monotonic() - self._since
        log.info("leader of routing domain %r (stood by %.1f s)", self.lease.domain, waited)
        if inline:  # start(): the caller waits, as Runtime.start always did
            await self._run_on_lead()
        else:  # keep confirming the lease while the engine is restored
            self._lead_task = asyncio.create_task(self._run_on_lead(), name="omnisdk-on-lead")

    async def _run_on_lead(self) -> None:
        began = time.monotonic()
        self._working = True
        try:
            await self.on_lead()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("leader of %r: starting the leader's work failed; giving the lease up", self.lease.domain)
            await self._lose("on_lead failed", from_lead=True)
            if not self.lease.shared:
                raise
            return
        self.restore_seconds = time.monotonic() - began
        self.ready = True
        log.info("leader of routing domain %r: ready %.2f s after taking the lease", self.lease.domain,
                 self.restore_seconds)

    async def _lose(self, why: str, *, from_lead: bool = False) -> None:
        if not self.leading:
            return
        self.leading = False
        self.ready = False
        task, self._lead_task = self._lead_task, None
        if task is not None and not from_lead and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if why != "stopping":
            log.warning("routing domain %r: %s: stopping the leader's work now", self.lease.domain, why)
        try:
            await self.on_lose()
            self._working = False
        except Exception:
            log.exception("leader of %r: stopping the leader's work failed", self.lease.domain)
        finally:
            await self.lease.release()
            self._since = time.monotonic()
