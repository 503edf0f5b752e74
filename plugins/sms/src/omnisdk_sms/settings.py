"""Per-account settings of the ``sms`` plugin (one Twilio account or subaccount each)."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator, model_validator

from omnisdk.adapters import AccountSettings

DEFAULT_API_BASE_URL = "https://api.twilio.com"

_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")
_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class TwilioSmsSettings(AccountSettings):
    """Settings of one Twilio account.

    Attributes:
        account_sid: the Account SID (``AC`` + 32 hex), used in API paths and as the Basic
            auth user (twilio.com/docs/iam/api/account, /docs/usage/requests-to-twilio).
        auth_token: the Auth Token: Basic auth password for the REST API and the HMAC key of
            ``X-Twilio-Signature`` (twilio.com/docs/usage/security).  Never logged.
        from_number: the default sender, a Twilio number in E.164
            (``From`` of twilio.com/docs/messaging/api/message-resource).
        numbers: the account's other Twilio numbers in E.164, such as the sender pool of its
            Messaging Service (twilio.com/docs/messaging/services: numbers are added to a
            service, which then handles their inbound and outbound messages).  The account owns
            ``from_number`` and ``numbers`` and nothing else: an incoming message whose ``To``,
            or a status callback whose ``From``, is another number is refused by the gateway
            (403 ``foreign_business_address``, nothing stored).
        messaging_service_sid: a Messaging Service (``MG`` + 32 hex) to send through instead of
            (or besides) a fixed number (``MessagingServiceSid`` of the same page).  It is no
            proof of ownership: the ``MessagingServiceSid`` of an incoming-message webhook
            (twilio.com/docs/messaging/guides/webhook-request) is part of the signed form, so
            it says only what the holder of this account's Auth Token wrote; list the
            service's numbers in ``numbers``.
        status_callback_url: public URL of this account's status-callback webhook, sent as
            ``StatusCallback`` on every outbound message
            (twilio.com/docs/messaging/guides/track-outbound-message-status).
        api_base_url: API root; ``https://api.twilio.com`` unless a test or proxy overrides it.

    At least one business number (``from_number`` or ``numbers``) is required: an account
    that owns no number could receive nothing.
    """

    account_sid: str = Field(description="Twilio Account SID, AC followed by 32 hex digits.")
    auth_token: SecretStr = Field(
        description="Twilio Auth Token (API password and webhook HMAC key)."
    )
    from_number: str | None = Field(None, description="Default sender number, E.164.")
    numbers: tuple[str, ...] = Field(
        (), description="The account's other Twilio numbers (E.164), e.g. its Messaging Service's."
    )
    messaging_service_sid: str | None = Field(None, description="Messaging Service SID (MG…).")
    status_callback_url: str | None = Field(
        None, description="Public URL of the status-callback webhook, sent as StatusCallback."
    )
    api_base_url: str | None = Field(DEFAULT_API_BASE_URL, description="Twilio REST API root.")

    @field_validator("account_sid")
    @classmethod
    def _account_sid(cls, value: str) -> str:
        if not _ACCOUNT_SID.fullmatch(value):
            raise ValueError("account_sid must be 'AC' followed by 32 hex digits")
        return value

    @field_validator("messaging_service_sid")
    @classmethod
    def _service_sid(cls, value: str | None) -> str | None:
        if value is not None and not _SERVICE_SID.fullmatch(value):
            raise ValueError("messaging_service_sid must be 'MG' followed by 32 hex digits")
        return value

    @field_validator("from_number")
    @classmethod
    def _from_number(cls, value: str | None) -> str | None:
        if value is not None and not _E164.fullmatch(value):
            raise ValueError("from_number must be an E.164 number such as +15550100001")
        return value

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for i, number in enumerate(value):
            if not _E164.fullmatch(number):
                raise ValueError(f"numbers[{i}] must be an E.164 number such as +15550100001")
        return value

    @field_validator("status_callback_url")
    @classmethod
    def _callback(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("status_callback_url must be an absolute http(s) URL")
        return value

    @model_validator(mode="after")
    def _sender(self) -> TwilioSmsSettings:
        if self.from_number is None and not self.numbers:
            raise ValueError("set from_number or numbers: the account must own a business number")
        return self

    def business_numbers(self) -> frozenset[str]:
        """``from_number`` and ``numbers``: the E.164 numbers the account owns."""
        owned = set(self.numbers)
        if self.from_number is not None:
            owned.add(self.from_number)
        return frozenset(owned)
