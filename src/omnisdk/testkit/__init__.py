"""The omnisdk plugin test kit (extra ``omnisdk[testkit]``).

A plugin's tests enable the kit's pytest plugin (in their top-level ``conftest.py``)::

    pytest_plugins = ["omnisdk.testkit.pytest_plugin"]

and subclass a suite::

    from omnisdk import testkit
    from omnisdk_acme import AcmeAdapter

    class TestAcme(testkit.ChannelAdapterSuite):
        adapter = AcmeAdapter
        capabilities = {"inbound", "send_text"}
        tier = "silver"

Connector plugins subclass :class:`CCaaSConnectorSuite` or :class:`CTIConnectorSuite` the
same way, with ``connector = AcmeConnector``.

Exports: :class:`ChannelAdapterSuite`, :class:`CCaaSConnectorSuite`, :class:`CTIConnectorSuite`,
:class:`ContractSuite` (the base for new kinds of suites), :func:`override`, :func:`skip_rule`,
:class:`Tier`, :data:`CHANNEL_RULES`, :data:`CCAAS_RULES`, :data:`CTI_RULES`, and for a
plugin's own scenario tests :class:`KitRuntime` (a runtime with the plugin's account behind the
real gateway, fed signed recordings) and :class:`ManualClock` (durable timers fire when the
test moves it).  The names load lazily, so ``import omnisdk.testkit`` does not import pytest
or hypothesis.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "ChannelAdapterSuite": "omnisdk.testkit.channel.suite",
    "CCaaSConnectorSuite": "omnisdk.testkit.connector.ccaas",
    "CTIConnectorSuite": "omnisdk.testkit.connector.cti",
    "ContractSuite": "omnisdk.testkit.base_suite",
    "override": "omnisdk.testkit.rules",
    "skip_rule": "omnisdk.testkit.rules",
    "Rule": "omnisdk.testkit.rules",
    "RuleBook": "omnisdk.testkit.rules",
    "Tier": "omnisdk.testkit.tiers",
    "CHANNEL_RULES": "omnisdk.testkit.channel.rules",
    "CHANNEL_CAPABILITIES": "omnisdk.testkit.channel.rules",
    "CCAAS_RULES": "omnisdk.testkit.connector.rules",
    "CTI_RULES": "omnisdk.testkit.connector.rules",
    "KitRuntime": "omnisdk.testkit.runtime",
    "ManualClock": "omnisdk.testkit.clock",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'omnisdk.testkit' has no attribute {name!r}")
    return getattr(import_module(module), name)
