"""The account settings every omnisdk Twilio plugin shares (``sms``, ``cti_twilio``).

:class:`TwilioAccountSettings` holds what identifies and authenticates one Twilio account or
subaccount, and the REST root; each plugin's settings subclass it and add their own fields
(``omnisdk_sms.settings.TwilioSmsSettings``, ``omnisdk_cti_twilio.settings.TwilioVoiceSettings``),
so the field names, descriptions and checks are written once.

- ``account_sid``: the Account SID, ``AC`` + 32 hex digits: REST paths and the Basic auth user
  (twilio.com/docs/iam/api/account, twilio.com/docs/usage/requests-to-twilio);
- ``auth_token``: the Auth Token: the REST password and the HMAC key of
  ``X-Twilio-Signature`` (twilio.com/docs/usage/webhooks/webhooks-security).  Never logged: a
  :class:`pydantic.SecretStr`, masked by ``omnisdk config show``;
- ``api_base_url``: the REST root, ``https://api.twilio.com`` unless a proxy or a test double
  stands in.

:func:`check_e164_list` and :func:`check_http_url` are the field checks both plugins use for
their numbers and callback URLs.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from omnisdk.adapters import AccountSettings

DEFAULT_API_BASE_URL = "https://api.twilio.com"
"""Twilio's REST root (twilio.com/docs/usage/api)."""

ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
E164 = re.compile(r"\+[1-9][0-9]{1,14}")
"""The shape of an E.164 number in settings (the plugins check calls' numbers with phonenumbers)."""


def check_e164_list(value: tuple[str, ...], field: str = "numbers") -> tuple[str, ...]:
    """``value`` if every item is an E.164 number.  Raises ValueError naming the first bad item."""
    for i, number in enumerate(value):
        if not E164.fullmatch(number):
            raise ValueError(f"{field}[{i}] must be an E.164 number such as +15550100001")
    return value


def check_http_url(value: str | None) -> str | None:
    """``value`` if it is None or an absolute http(s) URL.  Raises ValueError."""
    if value is not None and not value.startswith(("https://", "http://")):
        raise ValueError("must be an absolute http(s) URL")
    return value


class TwilioAccountSettings(AccountSettings):
    """One Twilio account or subaccount (see the module docstring)."""

    account_sid: str = Field(description="Twilio Account SID, AC followed by 32 hex digits.")
    auth_token: SecretStr = Field(description="Twilio Auth Token (API password and webhook HMAC key).")
    api_base_url: str | None = Field(DEFAULT_API_BASE_URL, description="Twilio REST API root.")

    @field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        if not ACCOUNT_SID.fullmatch(value):
            raise ValueError("account_sid must be 'AC' followed by 32 hex digits")
        return value

    def rest_base_url(self) -> str:
        """``api_base_url``, or Twilio's own root when it is empty."""
        return self.api_base_url or DEFAULT_API_BASE_URL
