"""The omnisdk test kit's declaration for this plugin: tier and capabilities.

Used by ``omnisdk certify ccaas_genesys`` and by ``tests/test_certification.py``.  Importing it
needs ``omnisdk[testkit]``; the plugin itself never imports it.
"""

from __future__ import annotations

from omnisdk.testkit import CCaaSConnectorSuite
from omnisdk_ccaas_genesys.connector import GenesysCloudConnector


class GenesysCloudSuite(CCaaSConnectorSuite):
    """Genesys Cloud CX: email and messaging interactions routed by its ACD; detail events on
    our signed webhook.  Gold tier."""

    connector = GenesysCloudConnector
    tier = "gold"
    capabilities = frozenset({"inbound"})
    # X-Hub-Signature-256 is keyed by webhook_secret only; the OAuth client secret signs nothing
    signing_secrets = frozenset({"webhook_secret"})


Suite = GenesysCloudSuite
"""The plugin test kit against this plugin, at its declared tier (see omnisdk_ccaas_genesys.certification)."""
