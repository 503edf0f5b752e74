"""Per-account settings of the ``cti_twilio`` plugin (one Twilio account or subaccount each)."""

from __future__ import annotations

import re

from omnisdk_twilio_common.settings import DEFAULT_API_BASE_URL, TwilioAccountSettings, check_e164_list, check_http_url
from pydantic import Field, SecretStr, field_validator, model_validator

__all__ = ["DEFAULT_API_BASE_URL", "TwilioVoiceSettings"]

_API_KEY_SID = re.compile(r"SK[0-9a-fA-F]{32}")
_APP_SID = re.compile(r"AP[0-9a-fA-F]{32}")


class TwilioVoiceSettings(TwilioAccountSettings):
    """Settings of one Twilio account's voice numbers.

    ``account_sid``, ``auth_token`` and ``api_base_url`` are the shared
    :class:`omnisdk_twilio_common.settings.TwilioAccountSettings` (one definition for both
    Twilio plugins).

    Attributes:
        numbers: the account's Twilio voice numbers, E.164.  The account owns these and nothing
            else: an incoming call to (``To``), or a call we placed from (``From``), another
            number is refused by the gateway (403 ``foreign_business_address``).
        webhook_url: the public URL of ``/webhooks/cti_twilio/<account>``: the number's "A call
            comes in" and "Call status changes" URL, and the ``StatusCallback`` / ``Url`` of
            the calls we place (twilio.com/docs/voice/api/call-resource).  Needed to place calls.
        queue_name: the Twilio queue (``<Enqueue>``) incoming callers wait in until an agent
            answers (twilio.com/docs/voice/twiml/enqueue).
        wait_url: TwiML Twilio plays while the caller waits (``waitUrl``); None: Twilio's own
            hold music.
        hold_music_url: the audio played on hold (``<Play loop="0">``).
        record: record answered calls (``<Dial record="record-from-answer-dual">``, with the
            recording status callback at ``webhook_url``: twilio.com/docs/voice/twiml/dial#record).
        api_key_sid, api_key_secret: an API key (``SK`` + 32 hex) that signs agents' softphone
            access tokens (twilio.com/docs/iam/access-tokens).  Both or neither.
        twiml_app_sid: the TwiML App (``AP`` + 32 hex) agents' softphones call out through (the
            Voice grant's ``outgoing.application_sid``: twilio.com/docs/iam/access-tokens).
        token_ttl: seconds a softphone token is valid (at most 3600: short, the softphone
            fetches a new one).
    """

    numbers: tuple[str, ...] = Field(min_length=1, description="The account's Twilio voice numbers, E.164.")
    webhook_url: str | None = Field(None, description="Public URL of /webhooks/cti_twilio/<account>.")
    queue_name: str = Field("omnisdk", min_length=1, max_length=64, description="Twilio queue callers wait in.")
    wait_url: str | None = Field(None, description="TwiML URL played while callers wait (Enqueue waitUrl).")
    hold_music_url: str | None = Field(None, description="Audio URL played on hold.")
    record: bool = Field(False, description="Record answered calls (dual channel).")
    api_key_sid: str | None = Field(None, description="API key SID (SK…) signing softphone tokens.")
    api_key_secret: SecretStr | None = Field(None, description="API key secret signing softphone tokens.")
    twiml_app_sid: str | None = Field(None, description="TwiML App SID (AP…) for softphone outgoing calls.")
    token_ttl: int = Field(600, ge=60, le=3600, description="Seconds a softphone token is valid.")

    @field_validator("api_key_sid")
    @classmethod
    def _api_key_sid(cls, value: str | None) -> str | None:
        if value is not None and not _API_KEY_SID.fullmatch(value):
            raise ValueError("api_key_sid must be 'SK' followed by 32 hex digits")
        return value

    @field_validator("twiml_app_sid")
    @classmethod
    def _app_sid(cls, value: str | None) -> str | None:
        if value is not None and not _APP_SID.fullmatch(value):
            raise ValueError("twiml_app_sid must be 'AP' followed by 32 hex digits")
        return value

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return check_e164_list(value)

    @field_validator("webhook_url", "wait_url", "hold_music_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_http_url(value)

    @field_validator("api_key_secret")
    @classmethod
    def _secret_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:  # Twilio's are 32 characters
            raise ValueError("is a secret and must be at least 32 characters (an API key secret)")
        return value

    @model_validator(mode="after")
    def _key_pair(self) -> TwilioVoiceSettings:
        if (self.api_key_sid is None) != (self.api_key_secret is None):
            raise ValueError("set both api_key_sid and api_key_secret, or neither")
        return self
