"""Per-account settings of the WhatsApp Cloud API plugin.

One account is one WhatsApp Business phone number of one Meta app.  Where each value comes
from (Meta documentation):

- ``app_secret``: App Dashboard > App settings > Basic; it keys the ``X-Hub-Signature-256``
  HMAC of every webhook (developers.facebook.com/docs/graph-api/webhooks/getting-started
  "Validating payloads", and /docs/whatsapp/cloud-api/guides/set-up-webhooks).
- ``verify_token``: any string you type in the webhook configuration; Meta echoes it as
  ``hub.verify_token`` in the GET handshake (/docs/whatsapp/cloud-api/guides/set-up-webhooks).
- ``access_token``: a system-user access token with ``whatsapp_business_messaging``
  (/docs/whatsapp/cloud-api/get-started, /docs/whatsapp/business-management-api/get-started).
- ``phone_number_id``: the sender's id, also ``metadata.phone_number_id`` in webhooks
  (/docs/whatsapp/cloud-api/reference/phone-numbers).
- ``api_version``: the Graph API version in the URL path (/docs/graph-api/guides/versioning).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from omnisdk.adapters import AccountSettings

DEFAULT_API_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"


class WhatsAppSettings(AccountSettings):
    """Settings of one WhatsApp account (``[accounts.whatsapp.<account>]`` in the configuration).

    Credentials are :class:`~pydantic.SecretStr`, so they are masked in reprs, logs and
    validation errors.  ``phone_number_id`` and ``api_version`` go into the request path, so
    they are checked against the shapes Meta documents (digits; ``vNN.N``).

    Raises:
        pydantic.ValidationError: on construction, for a missing, unknown or malformed key.
    """

    app_secret: SecretStr = Field(description="Meta app secret: key of X-Hub-Signature-256.")
    verify_token: SecretStr = Field(description="Token echoed in the GET webhook handshake.")
    access_token: SecretStr = Field(description="Bearer token for the Graph API.")
    phone_number_id: str = Field(
        pattern=r"^[0-9]{1,32}$", description="Business phone number id (the sender)."
    )
    api_version: str = Field(
        DEFAULT_API_VERSION, pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$", description="Graph API version."
    )
