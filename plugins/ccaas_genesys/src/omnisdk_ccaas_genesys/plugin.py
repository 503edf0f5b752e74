"""The pluggy entry point (``[project.entry-points.omnisdk] ccaas_genesys = "omnisdk_ccaas_genesys.plugin"``)."""

from __future__ import annotations

from omnisdk.events import Event
from omnisdk.hookspecs import hookimpl
from omnisdk_ccaas_genesys import park_sync
from omnisdk_ccaas_genesys.connector import GenesysCloudConnector

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[GenesysCloudConnector]]:
    """The adapter classes of this plugin: one, ``ccaas_genesys`` (Genesys Cloud CX)."""
    return [GenesysCloudConnector]


@hookimpl
def omnisdk_event(event: Event) -> None:
    """Park and unpark in Genesys Cloud as our interactions go on and off hold
    (:mod:`omnisdk_ccaas_genesys.park_sync`)."""
    park_sync.observe(event)
