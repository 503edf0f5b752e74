"""Certification modules for ``omnisdk certify kit_certification:<Suite>``: a channel suite with
a seeded defect, and a correct CCaaS connector suite."""

from __future__ import annotations

import connector_sample
import kit_sample

from omnisdk.testkit import CCaaSConnectorSuite, ChannelAdapterSuite


class LeakySuite(ChannelAdapterSuite):
    adapter = kit_sample.SecretInLog
    capabilities = frozenset({"inbound", "statuses", "send_text", "send_media"})
    tier = "bronze"
    fuzz_examples = 10


class ConnectorSuite(CCaaSConnectorSuite):
    """The sample CCaaS connector, for ``omnisdk certify kit_certification:ConnectorSuite``."""

    connector = connector_sample.KitCC
    tier = "silver"
    fuzz_examples = 10
    signing_secrets = ("webhook_secret",)  # client_secret is the OAuth client's
