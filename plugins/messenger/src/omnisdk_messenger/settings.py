"""Per-account settings of the Messenger plugin: one account is one Facebook Page, messaged
through one Meta app.

Where each value comes from (Meta for Developers documentation):

- ``app_secret``: App Dashboard > App settings > Basic; it keys the ``X-Hub-Signature-256``
  HMAC of every webhook (https://developers.facebook.com/docs/graph-api/webhooks/getting-started,
  "Validating payloads"; https://developers.facebook.com/docs/messenger-platform/webhooks).
- ``verify_token``: any string you type when you configure the webhook; Meta sends it back as
  ``hub.verify_token`` in the GET verification request (same pages, "Verification Requests").
- ``page_access_token``: a Page access token with ``pages_messaging``, sent as
  ``Authorization: Bearer`` on every Graph API call
  (https://developers.facebook.com/docs/messenger-platform/get-started,
  https://developers.facebook.com/docs/facebook-login/guides/access-tokens#pagetokens).
- ``page_id``: the Page's id: ``entry[].id`` of every webhook, ``recipient.id`` of what a
  person sends and ``sender.id`` of an echo
  (https://developers.facebook.com/docs/messenger-platform/reference/webhook-events).  It is
  the account's one business address: the account acts only for its own Page.
- ``graph_version``: the Graph API version in the request path
  (https://developers.facebook.com/docs/graph-api/guides/versioning).
- ``human_agent_tag``: whether the Page may use the ``HUMAN_AGENT`` message tag (7 days after
  the person's last message instead of 24 hours), which Meta grants per app
  (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags,
  "Human Agent"); read by :func:`omnisdk_messenger.window.messaging_type`.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from omnisdk.adapters import AccountSettings

DEFAULT_API_BASE_URL = "https://graph.facebook.com"
"""Graph API host (https://developers.facebook.com/docs/messenger-platform/reference/send-api/)."""
DEFAULT_GRAPH_VERSION = "v21.0"
"""A current Graph API version (https://developers.facebook.com/docs/graph-api/changelog/versions)."""


class MessengerSettings(AccountSettings):
    """Settings of one Page (``[accounts.messenger.<account>]`` in the configuration).

    Credentials are non-empty :class:`~pydantic.SecretStr` (checked by
    :class:`~omnisdk.adapters.AccountSettings`): masked in reprs, logs and validation errors.
    ``page_id`` and ``graph_version`` go into request paths, so they are checked against the
    shapes Meta uses (digits; ``vNN.N``).

    Raises:
        pydantic.ValidationError: on construction, for a missing, unknown or malformed key.
    """

    app_secret: SecretStr = Field(description="Meta app secret: key of X-Hub-Signature-256.")
    verify_token: SecretStr = Field(description="Token Meta sends back in the GET handshake.")
    page_access_token: SecretStr = Field(description="Page access token: Bearer of every Graph API call.")
    page_id: str = Field(pattern=r"^[0-9]{1,32}$", description="The Page id: the account's business address.")
    graph_version: str = Field(
        DEFAULT_GRAPH_VERSION, pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$", description="Graph API version."
    )
    human_agent_tag: bool = Field(
        False, description="The app may send with the HUMAN_AGENT tag (up to 7 days after the last message)."
    )
    api_base_url: str | None = Field(DEFAULT_API_BASE_URL, description="Graph API root.")
