"""pluggy registration: the module named by the ``omnisdk`` entry point ``webchat``."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_webchat.adapter import WebchatAdapter
from omnisdk_webchat.rule_bot import omnisdk_virtual_agent_turn

__all__ = ["OMNISDK_PLUGIN_API", "omnisdk_adapters", "omnisdk_virtual_agent_turn"]

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[WebchatAdapter]]:
    """The adapter classes this plugin provides: ``[WebchatAdapter]``."""
    return [WebchatAdapter]
