"""Per-account settings of the ``sms`` plugin (one Twilio account or subaccount each)."""

from __future__ import annotations

import re

from omnisdk_twilio_common.settings import DEFAULT_API_BASE_URL, E164, TwilioAccountSettings, check_e164_list
from pydantic import Field, field_validator, model_validator

__all__ = ["DEFAULT_API_BASE_URL", "TwilioSmsSettings"]

_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


class TwilioSmsSettings(TwilioAccountSettings):
    """Settings of one Twilio account.

    ``account_sid``, ``auth_token`` and ``api_base_url`` are the shared
    :class:`omnisdk_twilio_common.settings.TwilioAccountSettings` (one definition for both
    Twilio plugins).

    Attributes:
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

    At least one business number (``from_number`` or ``numbers``) is required: an account
    that owns no number could receive nothing.
    """

    from_number: str | None = Field(None, description="Default sender number, E.164.")
    numbers: tuple[str, ...] = Field(
        (), description="The account's other Twilio numbers (E.164), e.g. its Messaging Service's."
    )
    messaging_service_sid: str | None = Field(None, description="Messaging Service SID (MG…).")
    status_callback_url: str | None = Field(
        None, description="Public URL of the status-callback webhook, sent as StatusCallback."
    )

    @field_validator("messaging_service_sid")
    @classmethod
    def _service_sid(cls, value: str | None) -> str | None:
        if value is not None and not _SERVICE_SID.fullmatch(value):
            raise ValueError("messaging_service_sid must be 'MG' followed by 32 hex digits")
        return value

    @field_validator("from_number")
    @classmethod
    def _from_number(cls, value: str | None) -> str | None:
        if value is not None and not E164.fullmatch(value):
            raise ValueError("from_number must be an E.164 number such as +15550100001")
        return value

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_e164_list(value)

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
