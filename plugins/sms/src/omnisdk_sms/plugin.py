"""The pluggy entry point (``[project.entry-points.omnisdk] sms = "omnisdk_sms.plugin"``)."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_sms.adapter import TwilioSmsAdapter

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[TwilioSmsAdapter]]:
    """The adapter classes of this plugin: one, ``sms`` (Twilio Programmable Messaging)."""
    return [TwilioSmsAdapter]
