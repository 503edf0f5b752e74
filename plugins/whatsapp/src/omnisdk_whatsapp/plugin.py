"""pluggy registration: the module named by the ``omnisdk`` entry point ``whatsapp``."""

from __future__ import annotations

from omnisdk.hookspecs import hookimpl
from omnisdk_whatsapp.adapter import WhatsAppAdapter


@hookimpl
def omnisdk_adapters() -> list[type[WhatsAppAdapter]]:
    """The adapter classes this plugin provides: ``[WhatsAppAdapter]``."""
    return [WhatsAppAdapter]
