"""A real runtime on a temporary SQLite store, fed through the gateway over ASGI.

The kit's downstream checks (redelivery, status order) deliver signed recordings to
``POST /webhooks/{name}/{account}`` exactly as a provider would, let the processor drain the
inbox, and read the store back.  No plugin is loaded: the adapter under test is the only one.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from omnisdk.adapters import ChannelAdapter
from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.hookspecs import hookimpl
from omnisdk.plugins import PluginHost
from omnisdk.recordings import Recording
from omnisdk.runtime import Runtime

IGNORED_COUNTERS = ("events.deduplicated",)
"""Counters a redelivery may move (the duplicate is counted, nothing else)."""


class EventObserver:
    """An ``omnisdk_event`` observer that counts what the core publishes downstream."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def omnisdk_event(self, event: Any) -> None:
        self.seen.append((event.type, event.id))


def _observer_plugin(observer: EventObserver) -> Any:
    class Plugin:
        @hookimpl
        def omnisdk_event(self, event: Any) -> None:
            observer.omnisdk_event(event)

    return Plugin()


class KitRuntime:
    """``async with KitRuntime(make_adapter, tmp_dir, url) as rt``: a runtime with one account,
    the gateway app and an HTTP client bound to it.

    Args:
        make_adapter: builds the adapter under test (its account is the only one).
        tmp_dir: folder for the SQLite file.
        url: the webhook URL the provider calls (its path is POSTed to; the whole URL is what
            the adapter signs).
        queues, agents: routing queues (default one internal queue ``testkit``) and agents
            (default none), as in ``[routing]``.
        lifecycle: ``[lifecycle]`` settings (wrap-up and inactivity timeouts, codes …).
        clock: the runtime's clock, e.g. a :class:`~omnisdk.testkit.clock.ManualClock` for
            :meth:`tick`.
        loops: start the processor, timer and outbox loops (``Runtime.start``); with False the
            test drives everything: :meth:`deliver` drains the inbox, :meth:`tick` fires
            timers, :meth:`flush_outbox` sends.
        synchronous: the SQLite store's ``synchronous``; NORMAL (no fsync per commit) keeps
            test suites quick; a benchmark of the production default passes FULL.
    """

    def __init__(self, make_adapter: Callable[[], ChannelAdapter], tmp_dir: Path, url: str,
                 queues: list[dict[str, Any]] | None = None, *, agents: list[dict[str, Any]] | None = None,
                 lifecycle: dict[str, Any] | None = None, clock: Callable[[], datetime] | None = None,
                 loops: bool = True, synchronous: Literal["FULL", "NORMAL"] = "NORMAL") -> None:
        self.adapter = make_adapter()
        self.synchronous = synchronous
        self.queues = queues or [{"name": "testkit"}]
        self.agents = agents or []
        self.lifecycle = lifecycle or {}
        self.clock = clock
        self.loops = loops
        parts = urlsplit(url)
        self.public_url = f"{parts.scheme}://{parts.netloc}"
        self.target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.url = url
        self.db = Path(tmp_dir) / f"testkit-{self.adapter.name}-{os.getpid()}-{id(self)}.db"

    async def __aenter__(self) -> KitRuntime:
        env_file = os.environ.pop("OMNISDK_CONFIG_FILE", None)  # the kit's settings only
        try:
            settings = Settings(
                store={"url": f"sqlite:///{self.db}", "synchronous": self.synchronous},
                gateway={"public_url": self.public_url},
                routing={"queues": self.queues, "agents": self.agents},
                lifecycle=self.lifecycle,
            )
        finally:
            if env_file is not None:
                os.environ["OMNISDK_CONFIG_FILE"] = env_file
        key = (self.adapter.name, self.adapter.account)
        host = PluginHost()
        self.observer = EventObserver()
        host.register(_observer_plugin(self.observer), "omnisdk-testkit-observer")
        extra = {"clock": self.clock} if self.clock is not None else {}
        self.runtime = Runtime(settings, host=host, adapters={key: self.adapter}, **extra)
        if self.loops:
            await self.runtime.start()
        else:  # what start() does, without the loops
            await self.runtime.store.open()
            await self.runtime.processor.restore()
        app = create_app(self.runtime, manage_runtime=False)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=self.public_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        if self.loops:
            await self.runtime.stop()
        else:
            await self.adapter.aclose()
            await self.runtime.store.close()

    async def tick(self, seconds: float) -> None:
        """Advance the :class:`~omnisdk.testkit.clock.ManualClock` by ``seconds`` and fire every
        timer due (timers may arm more).  Raises TypeError without such a clock."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("tick() needs KitRuntime(clock=ManualClock())")
        advance(seconds)
        while await self.runtime.processor.run_timers():
            pass

    async def flush_outbox(self) -> int:
        """Send every due outbox row now; returns how many were attempted."""
        sent = 0
        while n := await self.runtime.outbox.run_once():
            sent += n
        return sent

    async def settle_connector_calls(self, timeout: float = 10.0) -> int:
        """Send the due outbox rows until no connector call is waiting for its outcome
        (``connector_calls.backlog`` 0, or a retry was scheduled), or ``timeout`` seconds
        passed (the background outbox loop may have the row); returns the backlog left."""
        deadline = time.monotonic() + timeout
        while True:
            await self.flush_outbox()
            counters = await self.runtime.stats()
            backlog = counters.get("connector_calls.backlog", 0)
            if backlog <= 0 or counters.get("connector_calls.retried", 0) or time.monotonic() >= deadline:
                return backlog
            await asyncio.sleep(0.02)

    async def deliver(self, rec: Recording) -> httpx.Response:
        """POST one recording, signed by the adapter, as the provider would; then drain."""
        return await self.deliver_body(rec.body, rec.content_type)

    async def deliver_body(self, body: bytes, content_type: str) -> httpx.Response:
        """POST ``body`` signed by the adapter, as the provider would; then drain."""
        headers = {"content-type": content_type, **self.adapter.sign(self.url, body, content_type)}
        resp = await self.client.post(self.target, content=body, headers=headers)
        await self.runtime.processor.drain()
        return resp

    async def inject(self, event: Any) -> None:
        """Put one event in the inbox as if a channel had delivered it; then drain."""
        await self.runtime.store.append_inbox([event], "2030-01-02T03:04:05Z")
        await self.runtime.processor.drain()

    async def snapshot(self) -> dict[str, int]:
        """Rows and counters that a redelivery must not change."""

        def read(tx: Any) -> dict[str, int]:
            out = {
                f"counter {k}": v for k, v in tx.counters().items()
                if k not in IGNORED_COUNTERS and not k.startswith("rejected.")
            }
            out["events published to observers"] = len(self.observer.seen)
            inters = tx.list_interactions(limit=1_000_000)
            out["interactions"] = len(inters)
            out["messages in interactions"] = sum(i.message_count for i in inters)
            conn = getattr(tx, "c", None)  # the SQLite store: count the rows themselves
            if conn is not None:
                for table in ("inbox", "messages", "outbox"):
                    try:
                        out[f"{table} rows"] = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                    except Exception:  # a table the store no longer has
                        pass
            return out

        return await self.runtime.store.transact(read)

    async def status(self, message_id: str) -> str | None:
        """The stored delivery status of one of this account's messages."""
        source = self.adapter.source
        return await self.runtime.store.transact(lambda tx: tx.message_status(source, message_id))


def diff(before: dict[str, int], after: dict[str, int]) -> list[str]:
    """``"name a→b"`` for every value that changed."""
    return [
        f"{k} {before.get(k, 0)}→{after.get(k, 0)}"
        for k in sorted(set(before) | set(after))
        if before.get(k, 0) != after.get(k, 0)
    ]
