"""Which suites ``omnisdk certify PLUGIN`` runs for a plugin.

**Where the suite comes from** (first match):

1. ``PLUGIN`` written ``module:Class`` names a suite class directly;
2. the installed plugin (entry point ``PLUGIN`` in the group ``omnisdk``) ships a module
   ``<its package>.certification`` (e.g. ``omnisdk_whatsapp.certification``); its suite is
   the attribute ``Suite`` if there is one, else every kit suite subclass defined in it;
3. otherwise a **default suite** per adapter class of the plugin, of the adapter's kind
   (:class:`ChannelAdapterSuite`; :class:`CCaaSConnectorSuite` for a
   :class:`~omnisdk.connectors.CCaaSConnector`; :class:`CTIConnectorSuite` for a
   :class:`~omnisdk.connectors.CTIConnector`): tier bronze, capabilities inferred
   (``inbound``; ``handshake`` if ``handshake()`` is implemented; channels: ``send_text`` if
   ``send()`` is, ``statuses`` if a recording parses to a status; CTI: ``place_call`` if
   ``dial()`` is).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from omnisdk.adapters import ChannelAdapter
from omnisdk.connectors import CCaaSConnector, CTIConnector
from omnisdk.events import TYPE_MESSAGE_STATUS
from omnisdk.plugins import PluginHost, discover
from omnisdk.testkit.base_suite import ContractSuite
from omnisdk.testkit.channel.suite import ChannelAdapterSuite
from omnisdk.testkit.connector.ccaas import CCaaSConnectorSuite
from omnisdk.testkit.connector.cti import CTIConnectorSuite


@dataclass
class FoundSuites:
    """The suites to run for a plugin and where they came from."""

    plugin: str
    origin: str
    suites: list[type[ContractSuite]]


def _suites_in(module: Any) -> list[type[ContractSuite]]:
    chosen = getattr(module, "Suite", None)
    if isinstance(chosen, type) and issubclass(chosen, ContractSuite):
        return [chosen]
    found = [v for v in vars(module).values()
             if isinstance(v, type) and issubclass(v, ContractSuite) and v.__module__ == module.__name__]
    return sorted(found, key=lambda c: c.__name__)


def default_suite(adapter_cls: type) -> type[ContractSuite]:
    """A bronze suite of the adapter's kind for ``adapter_cls``, with inferred capabilities."""
    caps = {"inbound"}
    if adapter_cls.handshake is not ChannelAdapter.handshake:
        caps.add("handshake")
    if issubclass(adapter_cls, (CCaaSConnector, CTIConnector)):
        base: type[ContractSuite] = CCaaSConnectorSuite
        if issubclass(adapter_cls, CTIConnector):
            base = CTIConnectorSuite
            if adapter_cls.dial is not CTIConnector.dial:
                caps.add("place_call")
        return type(f"Default{adapter_cls.__name__}Suite", (base,),
                    {"connector": adapter_cls, "capabilities": frozenset(caps), "tier": "bronze",
                     "__module__": __name__})
    if adapter_cls.send is not ChannelAdapter.send:
        caps.add("send_text")
    suite = type(f"Default{adapter_cls.__name__}Suite", (ChannelAdapterSuite,),
                 {"adapter": adapter_cls, "capabilities": frozenset(caps), "tier": "bronze",
                  "__module__": __name__})
    fx = suite.fixture()
    for rec in fx.recordings:
        try:
            if any(e.type == TYPE_MESSAGE_STATUS for e in fx.parsed(rec)):
                suite.capabilities = frozenset(caps | {"statuses"})
                break
        except Exception:
            continue
    return suite


def find_suites(plugin: str) -> FoundSuites:
    """The suites of ``plugin`` (see the module docstring for the order).

    Raises:
        LookupError: no such installed plugin, the plugin does not load (e.g. it is built for
            another plugin API: the reason is in the message), or ``module:Class`` is not a
            kit suite.
        ImportError: the suite's module does not import (e.g. the testkit extra is missing).
    """
    if ":" in plugin:
        modname, _, attr = plugin.partition(":")
        obj = getattr(importlib.import_module(modname), attr, None)
        if not (isinstance(obj, type) and issubclass(obj, ContractSuite)):
            raise LookupError(f"{plugin} is not a test kit suite class")
        return FoundSuites(plugin, plugin, [obj])
    sources = {s.name: s for s in discover()}
    source = sources.get(plugin)
    if source is None:
        raise LookupError(f"no installed plugin {plugin!r} (installed: {', '.join(sources) or 'none'})")
    host = PluginHost(allow=[plugin])  # the checks the runtime applies: API, core range, hooks
    host.load_sources([source])
    if plugin in host.failures:
        raise LookupError(f"plugin {plugin!r} does not load: {host.failures[plugin]}")
    certification = f"{source.package}.certification"
    try:
        module = importlib.import_module(certification)
    except ModuleNotFoundError as exc:
        if exc.name != certification:
            raise
    else:
        suites = _suites_in(module)
        if suites:
            return FoundSuites(plugin, certification, suites)
    adapters = list(host.omnisdk_adapters().values())
    if not adapters:
        raise LookupError(f"plugin {plugin!r} has no certification module and provides no adapter")
    return FoundSuites(plugin, "default suite (no certification module)", [default_suite(c) for c in adapters])


