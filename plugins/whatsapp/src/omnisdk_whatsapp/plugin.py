"""pluggy registration: the module named by the ``omnisdk`` entry point ``whatsapp``."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_whatsapp.adapter import WhatsAppAdapter

OMNISDK_PLUGIN_API = 1
"""The omnisdk plugin API this plugin is built for (``omnisdk.plugins.PLUGIN_API``)."""


@hookimpl
def omnisdk_adapters() -> list[type[WhatsAppAdapter]]:
    """The adapter classes this plugin provides: ``[WhatsAppAdapter]``."""
    return [WhatsAppAdapter]
