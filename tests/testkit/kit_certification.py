"""A certification module with a seeded defect, for ``omnisdk certify kit_certification:LeakySuite``."""

from __future__ import annotations

import kit_sample

from omnisdk.testkit import ChannelAdapterSuite


class LeakySuite(ChannelAdapterSuite):
    adapter = kit_sample.SecretInLog
    capabilities = frozenset({"inbound", "statuses", "send_text", "send_media"})
    tier = "bronze"
    fuzz_examples = 10
