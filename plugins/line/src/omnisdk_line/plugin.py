"""pluggy registration: the module named by the ``omnisdk`` entry point ``line``."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_line.adapter import LineAdapter

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[LineAdapter]]:
    """The adapter classes this plugin provides: ``[LineAdapter]``."""
    return [LineAdapter]
