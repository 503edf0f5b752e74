"""The plugin test kit against this plugin, at its declared tier (see omnisdk_whatsapp.certification)."""

from __future__ import annotations

from omnisdk_whatsapp.certification import WhatsAppSuite


class TestWhatsAppCertification(WhatsAppSuite):
    pass
