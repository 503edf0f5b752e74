"""The plugin test kit against this plugin, at its declared tier (see omnisdk_sms.certification)."""

from __future__ import annotations

from omnisdk_sms.certification import SmsSuite


class TestSmsCertification(SmsSuite):
    pass
