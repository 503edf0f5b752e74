"""pluggy registration: the module named by the ``omnisdk`` entry point ``apple_business``."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_apple_business.adapter import AppleBusinessAdapter

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[AppleBusinessAdapter]]:
    """The adapter classes this plugin provides: ``[AppleBusinessAdapter]``."""
    return [AppleBusinessAdapter]
