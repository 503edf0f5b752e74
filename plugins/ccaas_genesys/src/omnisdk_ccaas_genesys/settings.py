"""Settings of one Genesys Cloud organisation (``[accounts.ccaas_genesys.<account>]``).

The OAuth client is a **Client Credentials** grant client made in Genesys Cloud (Admin → OAuth;
https://developer.genesys.cloud/authorization/platform-auth/use-client-credentials): the token
is asked for at ``https://login.{region}/oauth/token`` with HTTP Basic client authentication,
and the Platform API lives at ``https://api.{region}`` (regions and hosts:
https://developer.genesys.cloud/platform/api/).  Give ``region`` and both URLs follow; set
``api_base_url`` / ``token_url`` only to point at a proxy or a test double.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from omnisdk.connectors import CCaaSSettings
from omnisdk.urls import check_http_url

REGION = re.compile(r"^(?=.{4,64}$)[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)+$")
"""A Genesys Cloud region's domain: ``mypurecloud.com``, ``mypurecloud.de``, ``usw2.pure.cloud`` …"""

INTERACTION_ATTRIBUTE = "omnisdk_interaction_id"
"""The participant attribute that carries our interaction id into Genesys Cloud (set by route(),
read back by the webhook's workflow)."""


class GenesysSettings(CCaaSSettings):
    """One Genesys Cloud organisation.

    Fields beyond :class:`~omnisdk.connectors.CCaaSSettings` (``client_id``, ``client_secret``,
    ``queue_map``, ``agent_map`` (our agent → Genesys user id), ``wrap_up_map`` (our code →
    Genesys wrap-up code id)):

    - ``region``: the organisation's region domain (``mypurecloud.com`` …); ``api_base_url``
      and ``token_url`` default to ``https://api.{region}`` and ``https://login.{region}/oauth/token``;
    - ``webhook_secret``: the key of the ``X-Hub-Signature-256`` HMAC on our webhook (the
      scheme Genesys documents for its outbound webhooks:
      https://developer.genesys.cloud/commdigital/digital/openmessaging/validate.html);
    - ``email_provider``: ``CreateEmailRequest.provider``, the name under which our emails
      appear in Genesys Cloud (never ``PureCloud Email``, reserved for its own mail);
    - ``open_messaging_integration_id``: the Open Messaging integration through which our
      messaging interactions (chat, WhatsApp, LINE …) enter Genesys Cloud; without it only
      email is routed (route() of another channel raises ``ValueError`` before any I/O);
    - ``max_event_age``: seconds (default 3600); a webhook event whose ``eventBody.eventTime``
      (epoch milliseconds, UTC: the analytics detail event models) is older when it reaches the
      gateway is refused, 400 ``stale_event``, nothing stored: the signature covers no
      timestamp, so this bounds how late a captured request can be replayed.  0 or None: no
      limit.  Keep it above the longest delay of the delivery path (a relay's retries).
    """

    region: str = Field("mypurecloud.com", description="Genesys Cloud region domain (login.{region}, api.{region}).")
    api_base_url: str = Field("", description="The Platform API root; default https://api.{region}.")
    token_url: str = Field("", description="OAuth2 token endpoint; default https://login.{region}/oauth/token.")
    webhook_secret: SecretStr = Field(description="HMAC-SHA256 key of X-Hub-Signature-256 on our webhook.")
    email_provider: str = Field("omnisdk", min_length=1, max_length=100,
                                description="CreateEmailRequest.provider for the emails we route.")
    open_messaging_integration_id: str | None = Field(
        None, min_length=1, max_length=64, description="Open Messaging integration id for messaging channels.")
    max_event_age: float | None = Field(
        3600.0, ge=0, le=7 * 86400,
        description="Seconds: a webhook event whose eventTime is older is refused (400 stale_event); 0 or none: no limit.")

    @model_validator(mode="before")
    @classmethod
    def _urls_from_region(cls, data: Any) -> Any:
        if isinstance(data, dict):
            region = data.get("region", "mypurecloud.com")
            if isinstance(region, str) and REGION.match(region):
                data = {**data}
                data.setdefault("api_base_url", f"https://api.{region}")
                data.setdefault("token_url", f"https://login.{region}/oauth/token")
                if not data["api_base_url"]:
                    data["api_base_url"] = f"https://api.{region}"
                if not data["token_url"]:
                    data["token_url"] = f"https://login.{region}/oauth/token"
        return data

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION.match(value):
            raise ValueError("must be a Genesys Cloud region domain such as mypurecloud.com")
        return value

    @field_validator("token_url")
    @classmethod
    def _token_url(cls, value: str) -> str:
        return check_http_url(value)

    @field_validator("email_provider")
    @classmethod
    def _provider(cls, value: str) -> str:
        if value.strip().lower() == "purecloud email":
            raise ValueError("'PureCloud Email' is reserved for Genesys Cloud's own email")
        return value
