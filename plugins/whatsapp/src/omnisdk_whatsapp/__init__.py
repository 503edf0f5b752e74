"""omnisdk-whatsapp: the WhatsApp Cloud API channel plugin for omnisdk.

- :mod:`.adapter`: :class:`WhatsAppAdapter` (verify, handshake, parse, sign, send);
- :mod:`.settings`: :class:`WhatsAppSettings`;
- :mod:`.signature`: ``X-Hub-Signature-256``;
- :mod:`.translate` and :mod:`.content`: webhook body → CloudEvents (pure);
- :mod:`.outbound`: OutboundMessage → Graph API request body;
- ``recordings/``: real webhook bodies (provenance in ``recordings/SOURCES.md``).
"""

from omnisdk_whatsapp.adapter import WhatsAppAdapter
from omnisdk_whatsapp.settings import WhatsAppSettings

__all__ = ["WhatsAppAdapter", "WhatsAppSettings"]
__version__ = "0.1.0"
