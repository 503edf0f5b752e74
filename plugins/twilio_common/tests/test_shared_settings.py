"""Both Twilio plugins describe a Twilio account with the one shared settings class (issue 11):
the account fields, their checks and their secrecy live in omnisdk_twilio_common.settings."""

from __future__ import annotations

import pytest
from omnisdk_cti_twilio import TwilioVoiceConnector
from omnisdk_cti_twilio.settings import TwilioVoiceSettings
from omnisdk_sms import TwilioSmsAdapter
from omnisdk_sms.settings import TwilioSmsSettings
from omnisdk_twilio_common.settings import TwilioAccountSettings
from pydantic import ValidationError

SHARED = ("account_sid", "auth_token", "api_base_url")


@pytest.mark.parametrize(("cls", "example"), [(TwilioSmsSettings, TwilioSmsAdapter.example_settings()),
                                              (TwilioVoiceSettings, TwilioVoiceConnector.example_settings())])
def test_both_plugins_inherit_the_account_fields_and_their_checks(cls, example):
    assert issubclass(cls, TwilioAccountSettings)
    for name in SHARED:  # defined once: the subclass neither redeclares nor re-describes them
        mine, shared = cls.model_fields[name], TwilioAccountSettings.model_fields[name]
        assert (mine.annotation, mine.default, mine.description) == (shared.annotation, shared.default,
                                                                    shared.description)
        assert name not in cls.__annotations__
    with pytest.raises(ValidationError, match="account_sid must be 'AC'"):
        cls.model_validate({**example, "account_sid": "AC123"})
    settings = cls.model_validate(example)
    assert example["auth_token"] not in repr(settings) and example["auth_token"] not in str(settings.model_dump())
    assert settings.rest_base_url() == "https://api.twilio.com"
    assert cls.model_validate({**example, "api_base_url": None}).rest_base_url() == "https://api.twilio.com"


def test_numbers_are_checked_by_the_shared_e164_rule():
    for cls, example in ((TwilioSmsSettings, TwilioSmsAdapter.example_settings()),
                         (TwilioVoiceSettings, TwilioVoiceConnector.example_settings())):
        with pytest.raises(ValidationError, match=r"numbers\[0\] must be an E.164 number"):
            cls.model_validate({**example, "numbers": ["0800 555 0100"]})
