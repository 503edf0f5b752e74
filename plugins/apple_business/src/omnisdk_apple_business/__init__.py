"""omnisdk-apple-business: Apple Messages for Business (the MSP REST API) for omnisdk.

- :mod:`.adapter`: :class:`AppleBusinessAdapter` (verify, parse, sign, send, upload and
  download of attachments);
- :mod:`.settings`: :class:`AppleBusinessSettings`;
- :mod:`.tokens`: the HS256 JWTs of ``Authorization: Bearer`` (both directions);
- :mod:`.gzip_body`: bounded gunzip of webhook bodies;
- :mod:`.translate` and :mod:`.interactive`: webhook body → CloudEvents (pure);
- :mod:`.attachments`: AES-256-CTR and the pre-download / pre-upload headers;
- :mod:`.outbound`: OutboundMessage → ``POST /v1/message`` body (text, list picker, rich
  link, attachments);
- ``recordings/``: bodies built from Apple's documentation (provenance in
  ``recordings/SOURCES.md``).
"""

from omnisdk_apple_business.adapter import AppleBusinessAdapter
from omnisdk_apple_business.settings import AppleBusinessSettings

__all__ = ["AppleBusinessAdapter", "AppleBusinessSettings"]
__version__ = "0.1.0"
