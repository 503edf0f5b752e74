"""omnisdk-line: the LINE Messaging API channel plugin for omnisdk.

- :mod:`.adapter`: :class:`LineAdapter` (verify, parse, sign, send, fetch_media, profile);
- :mod:`.settings`: :class:`LineSettings`;
- :mod:`.signature`: ``X-Line-Signature``;
- :mod:`.translate` and :mod:`.content`: webhook body → CloudEvents (pure);
- :mod:`.outbound`: OutboundMessage → push request body, retry key, response;
- ``recordings/``: webhook bodies from line-bot-sdk-python (provenance in ``recordings/SOURCES.md``).
"""

from omnisdk_line.adapter import LineAdapter
from omnisdk_line.settings import LineSettings

__all__ = ["LineAdapter", "LineSettings"]
__version__ = "0.1.0"
