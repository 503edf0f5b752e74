"""Plugins' own routes (:meth:`omnisdk.adapters.ChannelAdapter.routes`), mounted at
``/{route_prefix}/{account}/…``.

A channel whose customers talk to the gateway itself (the web chat widget's WebSocket and its
long-poll fallback) has no provider webhook: its adapter returns Starlette routes, and this
module mounts them for every configured account, in the processes that receive webhooks
(roles ``all``, ``ingress`` and ``gateway``).  Each account's routes get a :class:`AccountRouteContext`
whose ``deliver`` is the webhook commit (:func:`omnisdk.inbox.commit.commit_inbox`): ownership
of business addresses checked, then the inbox append, returning only once durable.  Counters
(``omnisdk stats``): ``routes.<plugin>.delivered`` and ``routes.<plugin>.failed``, and the
refusals a plugin reports (:meth:`AccountRouteContext.refused`): ``routes.<plugin>.refused.<reason>``.
Every HTTP answer of these routes carries the security headers
(:class:`omnisdk.gateway.browser_safety.PluginRouteSafety`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Mount, Router

from omnisdk.adapters import ChannelAdapter, Deliver
from omnisdk.errors import ConfigError
from omnisdk.events import Event
from omnisdk.gateway.browser_safety import PluginRouteSafety
from omnisdk.inbox.commit import commit_inbox
from omnisdk.metrics import REJECTED, UNAVAILABLE

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

RESERVED_PREFIXES = frozenset({"webhooks", "v1", "links", "healthz", "readyz", "metrics", "docs",
                               "openapi.json", "redoc"})
"""First path segments the core's own routes use: no plugin may mount under them."""

_PREFIX = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


class AccountRouteContext:
    """The :class:`omnisdk.adapters.RouteContext` of one account (see that protocol)."""

    def __init__(self, runtime: Runtime, adapter: ChannelAdapter) -> None:
        self.adapter = adapter
        self.role: str = getattr(runtime, "role", "all")
        self._store = runtime.store
        self._prefix = f"routes.{adapter.name}."
        self.deliver: Deliver = self._deliver
        self._counts = runtime.metrics.webhooks if hasattr(runtime, "metrics") else None

    def refused(self, reason: str, status: int) -> None:
        """Count a request the plugin's routes refused: ``routes.<plugin>.refused.<reason>`` in
        the store, and in ``omnisdk_webhooks_total`` (``outcome`` ``rejected``, or
        ``unavailable`` for a 5xx)."""
        self._store.count_later(f"{self._prefix}refused.{reason}")
        if self._counts is not None:
            self._counts.add(self.adapter.name, UNAVAILABLE if status >= 500 else REJECTED, reason)

    async def _deliver(self, events: list[Event], received_at: str) -> None:
        try:
            await commit_inbox(self._store, self.adapter, events, received_at)
        except BaseException:
            self._store.count_later(self._prefix + "failed")
            raise
        self._store.count_later(self._prefix + "delivered")


def check_prefix(adapter_cls: type[ChannelAdapter]) -> str:
    """``adapter_cls.route_prefix`` once checked.

    Raises:
        ConfigError: not a lower-case word, or one of :data:`RESERVED_PREFIXES`.
    """
    prefix = adapter_cls.route_prefix
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix) or prefix in RESERVED_PREFIXES:
        raise ConfigError(f"plugin {adapter_cls.name!r}: route_prefix {prefix!r} is not a free lower-case "
                          "word (letters, digits, _ or -; not a core route)")
    return prefix


def plugin_routes(runtime: Runtime) -> list[BaseRoute]:
    """One ``Mount("/{route_prefix}/{account}")`` per account whose adapter has routes, in the
    runtime's adapter order; none in the ``core`` role (it receives nothing).

    Raises:
        ConfigError: a bad ``route_prefix`` (:func:`check_prefix`), or two plugins declaring
            the same one.
    """
    if getattr(runtime, "role", "all") == "core":
        return []
    owners: dict[str, str] = {}
    mounts: list[BaseRoute] = []
    adapters: dict[tuple[str, str], ChannelAdapter] = runtime.adapters
    for (plugin, account), adapter in adapters.items():
        if type(adapter).route_prefix is None:
            continue
        prefix = check_prefix(type(adapter))
        if owners.setdefault(prefix, plugin) != plugin:
            raise ConfigError(f"plugins {owners[prefix]!r} and {plugin!r} both declare route_prefix {prefix!r}")
        routes: list[Any] = list(adapter.routes(AccountRouteContext(runtime, adapter)))
        if routes:  # every answer with the security headers (omnisdk.gateway.browser_safety)
            mounts.append(Mount(f"/{prefix}/{account}", app=PluginRouteSafety(Router(routes=routes))))
    return mounts
