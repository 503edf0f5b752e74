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
- ``phone_number_ids``: the other business phone numbers of the same app whose webhooks this
  account receives.  A Meta app has one webhook URL for every phone number of the WhatsApp
  Business Accounts it is subscribed to (/docs/whatsapp/cloud-api/guides/set-up-webhooks;
  ``value.metadata.phone_number_id`` tells them apart, /docs/whatsapp/cloud-api/webhooks/
  components).  The account owns ``phone_number_id`` and these, and nothing else: the gateway
  refuses (403 ``foreign_business_address``) a webhook naming any other number, so a body
  signed with one account's app secret cannot reach another account's conversations.
- ``api_version``: the Graph API version in the URL path (/docs/graph-api/guides/versioning).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, StringConstraints

from omnisdk.adapters import AccountSettings

DEFAULT_API_BASE_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"


class WhatsAppSettings(AccountSettings):
    """Settings of one WhatsApp account (``[accounts.whatsapp.<account>]`` in the configuration).

    Credentials are :class:`~pydantic.SecretStr`, so they are masked in reprs, logs and
    validation errors.  ``phone_number_id`` and ``api_version`` go into the request path, so
    they are checked against the shapes Meta documents (digits; ``vNN.N``).  The ids of
    ``phone_number_ids`` are only compared with ``metadata.phone_number_id`` (Meta's own
    documentation examples carry placeholders such as ``<BUSINESS_PHONE_NUMBER_ID>`` there), so
    any id of 1 to 64 characters without spaces is accepted; sending from one still needs digits.

    Raises:
        pydantic.ValidationError: on construction, for a missing, unknown or malformed key.
    """

    app_secret: SecretStr = Field(description="Meta app secret: key of X-Hub-Signature-256.")
    verify_token: SecretStr = Field(description="Token echoed in the GET webhook handshake.")
    access_token: SecretStr = Field(description="Bearer token for the Graph API.")
    phone_number_id: str = Field(
        pattern=r"^[0-9]{1,32}$", description="Business phone number id (the sender)."
    )
    phone_number_ids: tuple[Annotated[str, StringConstraints(pattern=r"^[^\s]{1,64}$")], ...] = Field(
        (),
        description="Other phone number ids this account receives webhooks for (compared as given).",
    )
    api_version: str = Field(
        DEFAULT_API_VERSION, pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$", description="Graph API version."
    )
