"""Settings: the secret is base64 and never shown; business ids are the account's addresses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnisdk_apple_business import AppleBusinessAdapter, AppleBusinessSettings


def test_a_secret_that_is_not_base64_is_refused_without_showing_it():
    with pytest.raises(ValidationError) as info:
        AppleBusinessSettings(**{**AppleBusinessAdapter.example_settings(), "msp_secret": "not base64 !!"})
    assert "not base64 !!" not in str(info.value) and "msp_secret" in str(info.value)


def test_an_empty_secret_is_refused():
    with pytest.raises(ValidationError):
        AppleBusinessSettings(**{**AppleBusinessAdapter.example_settings(), "msp_secret": ""})


def test_the_secret_is_masked_and_the_businesses_are_owned():
    settings = {**AppleBusinessAdapter.example_settings(), "business_ids": ["biz-2"]}
    adapter = AppleBusinessAdapter("acme", settings)
    secret = settings["msp_secret"]
    assert secret not in repr(adapter.settings) and secret not in repr(adapter)
    assert adapter.business_addresses() == {settings["business_id"], "biz-2"}
    assert adapter.default_business() == settings["business_id"]
