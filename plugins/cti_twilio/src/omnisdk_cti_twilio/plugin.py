"""The pluggy entry point (``[project.entry-points.omnisdk] cti_twilio = "omnisdk_cti_twilio.plugin"``)."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_cti_twilio.adapter import TwilioVoiceConnector

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[TwilioVoiceConnector]]:
    """The adapter classes of this plugin: one, ``cti_twilio`` (Twilio Programmable Voice)."""
    return [TwilioVoiceConnector]
