"""Settings: secrets non-empty and masked; the bot user id is the one business address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnisdk_line import LineAdapter, LineSettings


def test_example_settings_and_ownership() -> None:
    adapter = LineAdapter("acme", LineAdapter.example_settings())
    assert adapter.business_addresses() == frozenset({"U123"})
    assert adapter.default_business() == "U123"
    assert "example-channel-secret" not in repr(adapter.settings)
    assert adapter.settings.api_base_url == "https://api.line.me"


@pytest.mark.parametrize("change", [
    {"channel_secret": ""}, {"channel_secret": "  "}, {"channel_access_token": ""},
    {"bot_user_id": ""}, {"bot_user_id": "U 1"}, {"api_base_url": "ftp://x"}, {"unknown": 1},
])
def test_bad_settings_are_refused(change: dict) -> None:
    with pytest.raises(ValidationError):
        LineSettings.model_validate({**LineAdapter.example_settings(), **change})
