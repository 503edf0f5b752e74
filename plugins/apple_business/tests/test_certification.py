"""The plugin test kit against this plugin, at its declared tier (see omnisdk_apple_business.certification)."""

from __future__ import annotations

from omnisdk_apple_business.certification import AppleBusinessSuite


class TestAppleBusinessCertification(AppleBusinessSuite):
    pass
