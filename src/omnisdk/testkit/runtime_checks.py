"""A real runtime on a temporary SQLite store, fed through the gateway over ASGI.

The kit's downstream checks (redelivery, status order) deliver signed recordings to
``POST /webhooks/{name}/{account}`` exactly as a provider would, let the processor drain the
inbox, and read the store back.  No plugin is loaded: the adapter under test is the only one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from omnisdk.adapters import ChannelAdapter
from omnisdk.recordings import Recording

IGNORED_COUNTERS = ("events.deduplicated",)
"""Counters a redelivery may move (the duplicate is counted, nothing else)."""


class EventObserver:
    """An ``omnisdk_event`` observer that counts what the core publishes downstream."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def omnisdk_event(self, event: Any) -> None:
        self.seen.append((event.type, event.id))


def _observer_plugin(observer: EventObserver) -> Any:
    from omnisdk.hookspecs import hookimpl

    class Plugin:
        @hookimpl
        def omnisdk_event(self, event: Any) -> None:
            observer.omnisdk_event(event)

    return Plugin()


class KitRuntime:
    """``async with KitRuntime(make_adapter, tmp_dir, url) as rt``: a started runtime with one
    account, the gateway app and an HTTP client bound to it.  ``queues``: the routing queues
    (default one internal queue ``testkit``)."""

    def __init__(self, make_adapter: Callable[[], ChannelAdapter], tmp_dir: Path, url: str,
                 queues: list[dict[str, Any]] | None = None) -> None:
        self.adapter = make_adapter()
        self.queues = queues or [{"name": "testkit"}]
        parts = urlsplit(url)
        self.public_url = f"{parts.scheme}://{parts.netloc}"
        self.target = parts.path + (f"?{parts.query}" if parts.query else "")
        self.url = url
        self.db = Path(tmp_dir) / f"testkit-{self.adapter.name}-{os.getpid()}-{id(self)}.db"

    async def __aenter__(self) -> KitRuntime:
        from omnisdk.config import Settings
        from omnisdk.gateway import create_app
        from omnisdk.plugins import PluginHost
        from omnisdk.runtime import Runtime

        env_file = os.environ.pop("OMNISDK_CONFIG_FILE", None)  # the kit's settings only
        try:
            settings = Settings(
                store={"url": f"sqlite:///{self.db}", "synchronous": "NORMAL"},
                gateway={"public_url": self.public_url},
                routing={"queues": self.queues},
            )
        finally:
            if env_file is not None:
                os.environ["OMNISDK_CONFIG_FILE"] = env_file
        key = (self.adapter.name, self.adapter.account)
        host = PluginHost()
        self.observer = EventObserver()
        host.register(_observer_plugin(self.observer), "omnisdk-testkit-observer")
        self.runtime = Runtime(settings, host=host, adapters={key: self.adapter})
        await self.runtime.start()
        app = create_app(self.runtime, manage_runtime=False)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=self.public_url)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self.runtime.stop()

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
