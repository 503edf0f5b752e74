"""pluggy registration: the module named by the ``omnisdk`` entry point ``messenger``."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_messenger.adapter import MessengerAdapter

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[MessengerAdapter]]:
    """The adapter classes this plugin provides: ``[MessengerAdapter]``."""
    return [MessengerAdapter]
