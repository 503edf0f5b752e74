"""Per-account settings of the LINE plugin: one account is one LINE Official Account's
Messaging API channel.

Where each value comes from (LINE Developers documentation):

- ``channel_secret``: LINE Developers Console > channel > Basic settings; it keys the
  ``X-Line-Signature`` HMAC of every webhook
  (https://developers.line.biz/en/reference/messaging-api/#signature-validation).
- ``channel_access_token``: a channel access token (long-lived, or v2.1/stateless), sent as
  ``Authorization: Bearer`` on every API call
  (https://developers.line.biz/en/reference/messaging-api/#channel-access-token,
  https://developers.line.biz/en/docs/basics/channel-access-token/).
- ``bot_user_id``: the bot's own user id, which LINE sends as ``destination`` in every webhook
  body (https://developers.line.biz/en/reference/messaging-api/#request-body); also returned
  as ``userId`` by "Get bot info" (https://developers.line.biz/en/reference/messaging-api/#get-bot-info).
  It is the account's business address: the gateway refuses a webhook whose ``destination``
  is another bot.  Compared as given (no id-shape check: line-bot-sdk's own fixtures use
  ``U123``).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from omnisdk.adapters import AccountSettings

DEFAULT_API_BASE_URL = "https://api.line.me"
"""Messaging API host (https://developers.line.biz/en/reference/messaging-api/#send-push-message)."""
DEFAULT_CONTENT_BASE_URL = "https://api-data.line.me"
"""Host of the content API (https://developers.line.biz/en/reference/messaging-api/#get-content)."""


class LineSettings(AccountSettings):
    """Settings of one LINE channel (``[accounts.line.<account>]`` in the configuration).

    Credentials are non-empty :class:`~pydantic.SecretStr` (checked by
    :class:`~omnisdk.adapters.AccountSettings`): masked in reprs, logs and validation errors.

    Raises:
        pydantic.ValidationError: on construction, for a missing, unknown or malformed key.
    """

    channel_secret: SecretStr = Field(description="Channel secret: key of X-Line-Signature.")
    channel_access_token: SecretStr = Field(description="Bearer token for the Messaging API.")
    bot_user_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^\S+$",
        description="The bot's user id: the webhook 'destination', the account's business address.",
    )
    api_base_url: str | None = Field(DEFAULT_API_BASE_URL, description="Messaging API root.")
    content_base_url: str | None = Field(
        DEFAULT_CONTENT_BASE_URL, description="Content API root (api-data.line.me)."
    )
