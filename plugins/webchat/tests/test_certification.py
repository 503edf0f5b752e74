"""The plugin test kit against this plugin, at its declared tier (see omnisdk_webchat.certification)."""

from __future__ import annotations

from omnisdk_webchat.certification import WebchatSuite


class TestWebchatCertification(WebchatSuite):
    pass
