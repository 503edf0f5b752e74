"""The runtime: wires plugins, adapters, store, processor and outbox into one object.

Python API for embedding omnisdk::

    async with Runtime(load_settings("omnisdk.toml")) as rt:
        ...                      # the gateway (omnisdk.gateway.create_app(rt)) feeds it
        await rt.reply(interaction_id, "Hello!")
        await rt.close_interaction(interaction_id, "Issue resolved")
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from pydantic import ValidationError

from omnisdk.adapters import ChannelAdapter
from omnisdk.config import Settings, describe_validation_error
from omnisdk.errors import ConfigError, StateError
from omnisdk.model import Interaction, WrapUpCode
from omnisdk.outbound.outbox import OutboxWorker
from omnisdk.plugins import PluginHost
from omnisdk.processing import Processor
from omnisdk.routing import Router
from omnisdk.store import Store, open_store

log = logging.getLogger("omnisdk")


def build_adapters(settings: Settings, host: PluginHost) -> dict[tuple[str, str], ChannelAdapter]:
    """One adapter per configured account.

    Raises:
        ConfigError: an account names a plugin that is not loaded, or its settings are invalid
            (the message names fields, never values).
    """
    classes = host.adapters()
    out: dict[tuple[str, str], ChannelAdapter] = {}
    for plugin, accounts in settings.accounts.items():
        cls = classes.get(plugin)
        if cls is None:
            why = host.failures.get(plugin)
            raise ConfigError(
                f"accounts.{plugin}: no such plugin is loaded" + (f" ({why})" if why else "")
            )
        for account, raw in accounts.items():
            try:
                conf = cls.Settings.model_validate(raw)
            except ValidationError as exc:
                raise ConfigError(
                    f"accounts.{plugin}.{account}: {describe_validation_error(exc)}"
                ) from None
            out[(plugin, account)] = cls(account, conf)
    return out


class Runtime:
    """The running core.  Use as an async context manager, or call start()/stop()."""

    def __init__(
        self,
        settings: Settings,
        *,
        host: PluginHost | None = None,
        store: Store | None = None,
        adapters: dict[tuple[str, str], ChannelAdapter] | None = None,
    ) -> None:
        self.settings = settings
        if host is None:
            host = PluginHost(allow=settings.plugins.allow, block=settings.plugins.block)
            host.load_entrypoints()
            host.load_modules(settings.plugins.modules)
        self.host = host
        self.adapters = adapters if adapters is not None else build_adapters(settings, host)
        self.store = store or open_store(settings.store.url, synchronous=settings.store.synchronous)
        self.router = Router(settings.routing.queues, settings.routing.agents, host)
        self.processor = Processor(
            self.store, host, self.router, acknowledgement=settings.routing.acknowledgement
        )
        self.outbox = OutboxWorker(self.store, self.adapters, notify=host.notify)
        self.processor.on_outbox = self.outbox.wake

    async def start(self) -> None:
        await self.store.open()
        self.store.on_inbox = self.processor.wake
        self.processor.start()
        self.outbox.start()

    async def stop(self) -> None:
        await self.processor.stop()
        await self.outbox.stop()
        for adapter in self.adapters.values():
            try:
                await adapter.aclose()
            except Exception:
                log.exception("closing adapter %r failed", adapter)
        await self.store.close()

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def adapter(self, plugin: str, account: str) -> ChannelAdapter | None:
        return self.adapters.get((plugin, account))

    # --- Python API ------------------------------------------------------------------

    async def reply(self, interaction_id: str, text: str, *, idempotency_key: str | None = None) -> str:
        """Queue a text reply to the customer of an interaction; returns the idempotency key.

        Raises:
            StateError: unknown or closed interaction.
        """
        key = idempotency_key or uuid.uuid4().hex  # made once, before any retry

        def op(tx: Any) -> None:
            inter = tx.get_interaction(interaction_id)
            if inter is None or not inter.state.active:
                raise StateError(f"interaction {interaction_id} is not active")
            plugin, _, account = inter.source.strip("/").partition("/")
            tx.enqueue_outbox(
                idempotency_key=key,
                plugin=plugin,
                account=account,
                interaction_id=inter.id,
                payload={"customer": inter.customer, "business": inter.business, "text": text,
                         "interaction_id": inter.id},
                now=self.outbox.clock(),
            )

        await self.store.transact(op)
        self.outbox.wake()
        return key

    async def close_interaction(self, interaction_id: str, wrap_up_code: str = WrapUpCode.ISSUE_RESOLVED) -> None:
        """Wrap up and close; see :meth:`omnisdk.processing.Processor.close`."""
        await self.processor.close(interaction_id, wrap_up_code)

    async def interactions(self, *, active_only: bool = False) -> list[Interaction]:
        return await self.store.transact(lambda tx: tx.list_interactions(active_only=active_only))

    async def stats(self) -> dict[str, int]:
        return await self.store.transact(lambda tx: tx.counters())
