"""The pluggy entry point (``[project.entry-points.omnisdk] email = "omnisdk_email.plugin"``)."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_email.adapter import EmailAdapter

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[EmailAdapter]]:
    """The adapter classes of this plugin: one, ``email`` (inbound mail)."""
    return [EmailAdapter]
