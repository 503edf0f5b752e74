"""The pluggy entry point (``[project.entry-points.omnisdk] ccaas_genesys = "omnisdk_ccaas_genesys.plugin"``)."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_ccaas_genesys.connector import GenesysCloudConnector

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[GenesysCloudConnector]]:
    """The adapter classes of this plugin: one, ``ccaas_genesys`` (Genesys Cloud CX).  Parking
    goes through the core's durable connector calls (``park`` / ``unpark``), so the plugin
    implements no other hook, as the connector contract asks."""
    return [GenesysCloudConnector]
