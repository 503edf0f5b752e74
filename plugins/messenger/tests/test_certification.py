"""The plugin test kit against this plugin, at its declared tier (see omnisdk_messenger.certification)."""

from __future__ import annotations

from omnisdk_messenger.certification import MessengerSuite


class TestMessengerCertification(MessengerSuite):
    pass
