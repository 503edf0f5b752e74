"""The plugin host: a typed facade over pluggy and a fault-isolated entry-point loader.

Plugins are distributions that register a module under the entry-point group ``omnisdk``::

    [project.entry-points.omnisdk]
    whatsapp = "omnisdk_whatsapp.plugin"

:meth:`PluginHost.load_entrypoints` imports each one on its own: a plugin that fails to import,
implements an unknown hook (``check_pending``), or declares an adapter name already taken is
reported in :attr:`PluginHost.failures` and left out; the others load.  An allow-list, when
given, loads only the names on it; a block-list never loads the names on it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from omnisdk import hookspecs
from omnisdk.adapters import ChannelAdapter
from omnisdk.errors import PluginError
from omnisdk.events import Event

log = logging.getLogger("omnisdk.plugins")

ENTRYPOINT_GROUP = "omnisdk"


@dataclass(slots=True)
class PluginInfo:
    """What ``omnisdk plugins`` lists about one loaded plugin."""

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)


class PluginHost:
    """Owns the pluggy manager; the core calls hooks only through these typed methods."""

    def __init__(self, *, allow: Iterable[str] | None = None, block: Iterable[str] = ()) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.allow = set(allow) if allow is not None else None
        self.block = set(block)
        self.failures: dict[str, str] = {}
        self._dists: dict[str, tuple[str | None, str | None]] = {}
        self._adapters: dict[str, type[ChannelAdapter]] | None = None

    # --- loading ---------------------------------------------------------------------

    def load_entrypoints(self) -> None:
        """Load every plugin of the ``omnisdk`` entry-point group, each fault-isolated."""
        for ep in sorted(metadata.entry_points(group=ENTRYPOINT_GROUP), key=lambda e: e.name):
            if not self._wanted(ep.name):
                continue
            dist = getattr(ep, "dist", None)
            try:
                module = ep.load()
            except Exception as exc:  # isolate: a broken plugin must not stop the others
                self._fail(ep.name, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.register(module, ep.name, distribution=dist.name if dist else None,
                          version=dist.version if dist else None)

    def load_modules(self, paths: Iterable[str]) -> None:
        """Register plugin modules by import path (``[plugins] modules``), each fault-isolated."""
        import importlib

        for path in paths:
            if not self._wanted(path):
                continue
            try:
                module = importlib.import_module(path)
            except Exception as exc:
                self._fail(path, f"import failed: {type(exc).__name__}: {exc}")
                continue
            self.register(module, path)

    def register(
        self,
        plugin: Any,
        name: str,
        *,
        distribution: str | None = None,
        version: str | None = None,
    ) -> bool:
        """Register one plugin object or module; False (and a failure entry) if it is invalid."""
        if not self._wanted(name):
            return False
        taken = set(self.adapters())
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._fail(name, f"register failed: {exc}")
            return False
        try:
            self.pm.check_pending()
            self._check_adapters(plugin, taken)
        except Exception as exc:
            self.pm.unregister(plugin)
            self._fail(name, str(exc))
            return False
        finally:
            self._adapters = None
        self._dists[name] = (distribution, version)
        return True

    @staticmethod
    def _check_adapters(plugin: Any, taken: set[str]) -> None:
        impl = getattr(plugin, "omnisdk_adapters", None)
        if impl is None:
            return
        for cls in impl() or ():
            if not (isinstance(cls, type) and issubclass(cls, ChannelAdapter)):
                raise PluginError(f"omnisdk_adapters returned {cls!r}, not a ChannelAdapter class")
            if cls.name in taken:
                raise PluginError(f"adapter name {cls.name!r} is already provided by another plugin")

    def _wanted(self, name: str) -> bool:
        if name in self.block or (self.allow is not None and name not in self.allow):
            log.info("plugin %s skipped by the allow/block lists", name)
            return False
        return True

    def _fail(self, name: str, reason: str) -> None:
        self.failures[name] = reason
        log.error("plugin %s not loaded: %s", name, reason)

    # --- typed hook facade -----------------------------------------------------------

    def adapters(self) -> dict[str, type[ChannelAdapter]]:
        """Adapter classes by name, from every loaded plugin's ``omnisdk_adapters``."""
        if self._adapters is None:
            found: dict[str, type[ChannelAdapter]] = {}
            for result in self.pm.hook.omnisdk_adapters():
                for cls in result or ():
                    found.setdefault(cls.name, cls)
            self._adapters = found
        return self._adapters

    def implements(self, hook: str) -> bool:
        """True when at least one loaded plugin implements ``hook``."""
        return bool(getattr(self.pm.hook, hook).get_hookimpls())

    def thread(self, message: Any, default_key: str) -> str:
        """The conversation key for a customer message (``omnisdk_thread``, else the default)."""
        if not self.implements("omnisdk_thread"):
            return default_key
        return self.pm.hook.omnisdk_thread(message=message, default_key=default_key) or default_key

    def select_queue(self, interaction: Any, queues: Sequence[Any]) -> str | None:
        """A plugin's queue choice, or None (``omnisdk_select_queue``)."""
        return self.pm.hook.omnisdk_select_queue(interaction=interaction, queues=queues)

    def select_agent(self, interaction: Any, queue: Any, candidates: Sequence[Any]) -> str | None:
        """A plugin's agent choice among ``candidates``, or None (``omnisdk_select_agent``)."""
        return self.pm.hook.omnisdk_select_agent(
            interaction=interaction, queue=queue, candidates=candidates
        )

    def virtual_agent_turn(self, interaction: Any, message: Any, history: Sequence[dict]) -> Any:
        """A bot's turn (``omnisdk_virtual_agent_turn``), or None."""
        return self.pm.hook.omnisdk_virtual_agent_turn(interaction=interaction, message=message, history=history)

    def external_route(self, interaction: Any, queue: Any) -> None:
        """Hand an interaction to the CCaaS plugins (``omnisdk_external_route``), isolated."""
        self._observe("omnisdk_external_route", interaction=interaction, queue=queue)

    def external_transfer(self, interaction: Any, to_agent: str | None, to_queue: str | None,
                          queue: Any = None, target_queue: Any = None) -> None:
        """Tell the CCaaS plugins about a transfer (``omnisdk_external_transfer``), isolated."""
        self._observe("omnisdk_external_transfer", interaction=interaction, to_agent=to_agent,
                      to_queue=to_queue, queue=queue, target_queue=target_queue)

    def external_wrap_up(self, interaction: Any, code: str, queue: Any = None) -> None:
        """Tell the CCaaS plugins about a close (``omnisdk_external_wrap_up``), isolated."""
        self._observe("omnisdk_external_wrap_up", interaction=interaction, code=code, queue=queue)

    def attach(self, plugin: Any, name: str) -> Any:
        """Register a hook implementation the core itself provides (e.g. the CCaaS connector
        bridge), not subject to the allow and block lists; if ``name`` is registered already,
        return that object instead."""
        existing = self.pm.get_plugin(name)
        if existing is not None:
            return existing
        self.pm.register(plugin, name=name)
        self._adapters = None
        return plugin

    def routing_attributes(self, interaction: Any, message: Any) -> dict[str, str]:
        """Routing attributes from every ``omnisdk_routing_attributes`` implementation, merged
        (later plugins win on the same key); a failing plugin is logged and skipped."""
        merged: dict[str, str] = {}
        for impl in reversed(self.pm.hook.omnisdk_routing_attributes.get_hookimpls()):
            try:
                got = impl.function(**_args(impl, interaction=interaction, message=message))
            except Exception:
                log.exception("omnisdk_routing_attributes of %s failed", impl.plugin_name)
                continue
            if got:
                merged.update({str(k): str(v) for k, v in got.items()})
        return merged

    def _observe(self, hook: str, **kwargs: Any) -> None:
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            try:
                impl.function(**_args(impl, **kwargs))
            except Exception:
                log.exception("%s of %s failed", hook, impl.plugin_name)

    def notify(self, events: Sequence[Event]) -> None:
        """Call every ``omnisdk_event`` observer for each event; one failing observer is
        logged and does not stop the others."""
        impls = self.pm.hook.omnisdk_event.get_hookimpls()
        if not impls:
            return
        for event in events:
            for impl in impls:
                try:
                    impl.function(**_args(impl, event=event))
                except Exception:
                    log.exception("observer %s failed on event %s", impl.plugin_name, event.id)

    # --- description -----------------------------------------------------------------

    def describe(self) -> list[PluginInfo]:
        """Loaded plugins with distribution, version, implemented hooks and adapter names."""
        out: list[PluginInfo] = []
        for name, plugin in sorted(self.pm.list_name_plugin(), key=lambda np: np[0]):
            dist, version = self._dists.get(name, (None, None))
            hooks = sorted(
                h.name for h in self.pm.get_hookcallers(plugin) or () if h.name.startswith("omnisdk_")
            )
            impl = getattr(plugin, "omnisdk_adapters", None)
            adapters = sorted(c.name for c in (impl() or ())) if impl else []
            out.append(PluginInfo(name, dist, version, hooks, adapters))
        return out


def _args(impl: Any, **kwargs: Any) -> dict[str, Any]:
    """The keyword arguments an implementation declares (pluggy lets it take a subset)."""
    return {k: v for k, v in kwargs.items() if k in impl.argnames}
