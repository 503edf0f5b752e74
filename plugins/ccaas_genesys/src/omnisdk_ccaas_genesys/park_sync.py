"""Our on-hold parks the Genesys Cloud interaction; taking it back to work unparks it.

The core's hook bridge has no park call (``omnisdk.connectors.ConnectorBridge`` covers route,
transfer, wrap-up and disconnect), so the plugin observes the core's own events
(``omnisdk_event``, after the commit, at most once):

- ``io.omnisdk.interaction.on_hold`` of an interaction a Genesys account routes → ``park``;
- ``io.omnisdk.interaction.accepted`` of one this process parked (the customer replied, or
  the agent resumed it) → ``unpark``.
"""

from __future__ import annotations

from omnisdk import events as ev
from omnisdk.events import Event
from omnisdk.model import Interaction
from omnisdk_ccaas_genesys.connector import GenesysCloudConnector


def observe(event: Event) -> None:
    """Schedule the park or unpark ``event`` calls for (see the module docstring)."""
    if event.type not in (ev.TYPE_INTERACTION_ON_HOLD, ev.TYPE_INTERACTION_ACCEPTED):
        return
    try:
        inter = Interaction.model_validate(event.data)
    except ValueError:
        return
    for connector in GenesysCloudConnector.live():
        if not connector.routes(inter):
            continue
        if event.type == ev.TYPE_INTERACTION_ON_HOLD:
            connector.schedule("park", inter)
        elif inter.id in connector.parked:
            connector.schedule("unpark", inter)
