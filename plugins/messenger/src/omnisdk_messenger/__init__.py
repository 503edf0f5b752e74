"""omnisdk-messenger: the Messenger Platform channel plugin for omnisdk.

- :mod:`.adapter`: :class:`MessengerAdapter` (verify, handshake, parse, sign, send, thread control);
- :mod:`.settings`: :class:`MessengerSettings`;
- :mod:`.signature`: ``X-Hub-Signature-256``;
- :mod:`.translate` and :mod:`.content`: Page webhook body → CloudEvents (pure);
- :mod:`.outbound`: OutboundMessage → Send API request body, response → message id;
- :mod:`.window`: the 24-hour / HUMAN_AGENT messaging window rule (pure);
- :mod:`.errors`: the window error and the Graph API error mapping;
- ``recordings/``: webhook bodies written from Meta's documentation (provenance in
  ``recordings/SOURCES.md``).
"""

from omnisdk_messenger.adapter import MessengerAdapter
from omnisdk_messenger.settings import MessengerSettings

__all__ = ["MessengerAdapter", "MessengerSettings"]
__version__ = "0.1.0"
