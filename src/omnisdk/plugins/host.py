"""The plugin host: a fault-isolated loader and a typed facade over pluggy.

Loading: :meth:`PluginHost.load_entrypoints` loads every plugin :func:`discover` finds,
:meth:`PluginHost.load_modules` the ``[plugins] modules`` import paths.  Each plugin loads on
its own: one that fails to import, is built for another plugin API or core version
(:mod:`omnisdk.plugins.compat`), implements an unknown hook (``check_pending``), wraps an
observer hook, or declares an adapter name already taken is reported in
:attr:`PluginHost.failures` and left out; the others load.  An allow-list, when given, loads
only the names on it; a block-list never loads the names on it.

Calling: one method per hook, named after it (``host.omnisdk_select_agent(...)`` calls
``omnisdk_select_agent``); the core never calls ``pm.hook`` itself.  Decision hooks go through
pluggy (first non-None result).  Observer hooks are called implementation by implementation,
in pluggy's own call order (:meth:`PluginHost.call_order`), each isolated: one raising is
logged and the next is called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from omnisdk import hookspecs
from omnisdk.adapters import ChannelAdapter
from omnisdk.errors import PluginError
from omnisdk.events import Event
from omnisdk.model.directory import DirectoryUser
from omnisdk.plugins.compat import api_problem, core_range_problem
from omnisdk.plugins.discovery import PluginSource, discover
from omnisdk.summaries import extractive_summary

if TYPE_CHECKING:
    from omnisdk.lifecycle.bots import VirtualAgentTurn
    from omnisdk.model import Interaction, Message
    from omnisdk.routing.model import Agent, Queue

log = logging.getLogger("omnisdk.plugins")


@dataclass(slots=True)
class PluginInfo:
    """What ``omnisdk plugins`` lists about one loaded plugin."""

    name: str
    distribution: str | None
    version: str | None
    hooks: list[str] = field(default_factory=list)
    adapters: list[str] = field(default_factory=list)


class PluginHost:
    """Owns the pluggy manager; the core calls hooks only through its ``omnisdk_*`` methods.

    Args:
        allow: plugin names to load (None: all); ``[]`` loads none.
        block: plugin names never to load.

    Attributes:
        failures: plugin name → why it was not loaded (one line, no secrets).
        pm: the :class:`pluggy.PluginManager` (project ``omnisdk``).
    """

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
        """Load every installed plugin (:func:`omnisdk.plugins.discover`), each isolated."""
        self.load_sources(discover())

    def load_modules(self, paths: Iterable[str]) -> None:
        """Load plugin modules by import path (``[plugins] modules``), each isolated."""
        self.load_sources(PluginSource(name=path, module=path) for path in paths)

    def load_sources(self, sources: Iterable[PluginSource]) -> None:
        """Import, check and register each plugin source; a failure is recorded in
        :attr:`failures` and the next source loads."""
        for source in sources:
            if not self._wanted(source.name):
                continue
            problem = core_range_problem(source)
            if problem:
                self._fail(source.name, problem)
                continue
            try:
                module = source.load()
            except Exception as exc:  # isolate: a broken plugin must not stop the others
                self._fail(source.name, f"import failed: {type(exc).__name__}: {exc}")
                continue
            problem = api_problem(module)
            if problem:
                self._fail(source.name, problem)
                continue
            self.register(module, source.name, distribution=source.distribution, version=source.version)

    def register(
        self,
        plugin: Any,
        name: str,
        *,
        distribution: str | None = None,
        version: str | None = None,
    ) -> bool:
        """Register one plugin object or module; False (and a :attr:`failures` entry) if it is
        invalid: a hook pluggy refuses, an unknown hook, a wrapper of an observer hook, or an
        adapter that is not a :class:`ChannelAdapter` class or whose name is taken.

        Objects registered here directly (tests, the core's own bridges) are not checked
        against the plugin API: :meth:`load_sources` checks the modules it imports."""
        if not self._wanted(name):
            return False
        taken = set(self.omnisdk_adapters())
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:
            self._fail(name, f"register failed: {exc}")
            return False
        try:
            self.pm.check_pending()
            self._check_wrappers(plugin)
            self._check_adapters(plugin, taken)
        except Exception as exc:
            self.pm.unregister(plugin)
            self._fail(name, str(exc))
            return False
        finally:
            self._adapters = None
        self._dists[name] = (distribution, version)
        return True

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

    def _check_wrappers(self, plugin: Any) -> None:
        for hook in sorted(hookspecs.OBSERVER_HOOKS):
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                if impl.plugin is plugin and (impl.wrapper or impl.hookwrapper):
                    raise PluginError(
                        f"{hook} is an observer hook: the core calls each implementation on its "
                        "own, so it cannot be a wrapper (wrapper=True / hookwrapper=True)"
                    )

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

    # --- calling -----------------------------------------------------------------------

    def implements(self, hook: str) -> bool:
        """True when at least one loaded plugin implements ``hook``."""
        return bool(getattr(self.pm.hook, hook).get_hookimpls())

    def call_order(self, hook: str) -> list[pluggy.HookImpl]:
        """The implementations of ``hook`` in the order ``pm.hook.<hook>()`` calls them:
        ``tryfirst`` ones, then the others last-registered first, then ``trylast`` ones."""
        return list(reversed(getattr(self.pm.hook, hook).get_hookimpls()))

    def _each(self, hook: str, on_result: Callable[[Any], None] | None = None, *, about: str = "",
              **kwargs: Any) -> None:
        """Call every implementation of the observer ``hook`` in :meth:`call_order`, each
        with the arguments it declares; one raising is logged (``<hook> of plugin <name>
        failed<about>``) and the next is called."""
        for impl in self.call_order(hook):
            try:
                result = impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception:
                log.exception("%s of plugin %s failed%s", hook, impl.plugin_name, about)
                continue
            if on_result is not None:
                on_result(result)

    def omnisdk_adapters(self) -> dict[str, type[ChannelAdapter]]:
        """Adapter classes by ``name`` from every plugin's ``omnisdk_adapters`` (cached until
        the next registration)."""
        if self._adapters is None:
            found: dict[str, type[ChannelAdapter]] = {}
            for result in self.pm.hook.omnisdk_adapters():
                for cls in result or ():
                    found.setdefault(cls.name, cls)
            self._adapters = found
        return self._adapters

    def omnisdk_thread(self, message: Message, default_key: str) -> str:
        """The conversation key of a customer message: the first plugin's non-None
        ``omnisdk_thread`` answer, else ``default_key``."""
        if not self.implements("omnisdk_thread"):
            return default_key
        return self.pm.hook.omnisdk_thread(message=message, default_key=default_key) or default_key

    def omnisdk_select_queue(self, interaction: Interaction, queues: Sequence[Queue]) -> str | None:
        """The first plugin's queue name for a new interaction, or None
        (``omnisdk_select_queue``)."""
        return self.pm.hook.omnisdk_select_queue(interaction=interaction, queues=queues)  # type: ignore[no-any-return]

    def omnisdk_select_agent(self, interaction: Interaction, queue: Queue,
                             candidates: Sequence[Agent]) -> str | None:
        """The first plugin's agent id among ``candidates``, or None
        (``omnisdk_select_agent``)."""
        return self.pm.hook.omnisdk_select_agent(  # type: ignore[no-any-return]
            interaction=interaction, queue=queue, candidates=candidates
        )

    def omnisdk_virtual_agent_turn(self, interaction: Interaction, message: Message,
                                   history: Sequence[dict[str, Any]]) -> VirtualAgentTurn | None:
        """The bot's turn for a customer message (``omnisdk_virtual_agent_turn``), or None."""
        return self.pm.hook.omnisdk_virtual_agent_turn(  # type: ignore[no-any-return]
            interaction=interaction, message=message, history=history
        )

    def omnisdk_lookup_requester(self, channel: str, address: str) -> list[DirectoryUser] | None:
        """The first plugin's directory users for an address (``omnisdk_lookup_requester``),
        or None when no plugin answers (the core then reads the imported directory).

        Raises:
            PluginError: a plugin answered something other than a sequence of
                :class:`~omnisdk.model.directory.DirectoryUser`.
        """
        got = self.pm.hook.omnisdk_lookup_requester(channel=channel, address=address)
        if got is None:
            return None
        users = list(got) if isinstance(got, (list, tuple)) else None
        if users is None or not all(isinstance(u, DirectoryUser) for u in users):
            raise PluginError("omnisdk_lookup_requester must return a list of DirectoryUser or None")
        return users

    def omnisdk_summarize(self, interaction: Interaction, messages: Sequence[dict[str, Any]]) -> str:
        """The first plugin's summary of the thread (``omnisdk_summarize``), else the core's
        local extractive one (:func:`omnisdk.summaries.extractive_summary`)."""
        got = self.pm.hook.omnisdk_summarize(interaction=interaction, messages=messages)
        return str(got) if got is not None else extractive_summary(messages)

    def omnisdk_routing_attributes(self, interaction: Interaction, message: Message) -> dict[str, str]:
        """Routing attributes from every ``omnisdk_routing_attributes`` implementation, in
        pluggy's call order and merged: on the same key the plugin called first wins (a
        ``tryfirst`` one beats the others).  Keys and values become strings; a failing plugin
        is logged and skipped."""
        merged: dict[str, str] = {}

        def merge(got: Any) -> None:
            for k, v in (got or {}).items():
                merged.setdefault(str(k), str(v))

        self._each("omnisdk_routing_attributes", merge, interaction=interaction, message=message)
        return merged

    def omnisdk_event(self, events: Iterable[Event]) -> None:
        """Call every ``omnisdk_event`` observer for each of ``events`` (oldest first), in
        pluggy's call order; one failing observer is logged and does not stop the others."""
        if not self.implements("omnisdk_event"):
            return
        for event in events:
            self._each("omnisdk_event", about=f" on event {event.id}", event=event)

    def omnisdk_external_route(self, interaction: Interaction, queue: Queue) -> None:
        """Hand an interaction to the CCaaS plugins (``omnisdk_external_route``), isolated."""
        self._each("omnisdk_external_route", interaction=interaction, queue=queue)

    def check_external_transfer(self, interaction: Interaction, to_agent: str | None, to_queue: str | None,
                                queue: Queue | None, target_queue: Queue | None) -> None:
        """Ask the connector bridge (plugin ``omnisdk.connectors``, when registered) whether the
        CCaaS routing ``queue`` has the transfer target mapped; called before the transfer
        changes anything.  Not isolated: the refusal is the caller's answer.

        Raises:
            omnisdk.connectors.MappingError: the target is not mapped.
        """
        check = getattr(self.pm.get_plugin("omnisdk.connectors"), "check_transfer", None)
        if callable(check):
            check(interaction, to_agent, to_queue, queue, target_queue)

    def omnisdk_external_transfer(self, interaction: Interaction, to_agent: str | None,
                                  to_queue: str | None, queue: Queue | None = None,
                                  target_queue: Queue | None = None) -> None:
        """Tell the CCaaS plugins about a transfer (``omnisdk_external_transfer``), isolated."""
        self._each("omnisdk_external_transfer", interaction=interaction, to_agent=to_agent,
                   to_queue=to_queue, queue=queue, target_queue=target_queue)

    def omnisdk_external_wrap_up(self, interaction: Interaction, code: str,
                                 queue: Queue | None = None) -> None:
        """Tell the CCaaS plugins about a close with a wrap-up code
        (``omnisdk_external_wrap_up``), isolated."""
        self._each("omnisdk_external_wrap_up", interaction=interaction, code=code, queue=queue)

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
