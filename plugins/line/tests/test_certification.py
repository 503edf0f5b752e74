"""The plugin test kit against this plugin, at its declared tier (see omnisdk_line.certification)."""

from __future__ import annotations

from omnisdk_line.certification import LineSuite


class TestLineCertification(LineSuite):
    pass
