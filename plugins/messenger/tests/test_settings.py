"""Settings: secrets masked and non-empty, page_id and graph_version shaped for request paths."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from omnisdk_messenger import MessengerAdapter, MessengerSettings


def _settings(**changes):
    return {**MessengerAdapter.example_settings(), **changes}


def test_defaults_and_masking() -> None:
    s = MessengerSettings.model_validate(_settings())
    assert s.graph_version == "v21.0" and s.human_agent_tag is False
    assert s.api_base_url == "https://graph.facebook.com"
    text = repr(s) + str(s) + s.model_dump_json() + repr(MessengerAdapter("acme", s))
    for secret in ("example-app-secret", "example-verify-token", "example-page-access-token"):
        assert secret not in text


@pytest.mark.parametrize("changes", [
    {"app_secret": ""}, {"verify_token": ""}, {"page_access_token": ""}, {"page_id": "my-page"},
    {"page_id": "1/../2"}, {"graph_version": "21"}, {"graph_version": "v21.0/x"}, {"unknown": 1},
])
def test_bad_settings_are_refused_without_their_values(changes) -> None:
    with pytest.raises(ValidationError) as info:
        MessengerSettings.model_validate(_settings(**changes))
    assert "example-app-secret" not in str(info.value)


def test_the_account_owns_its_page_only() -> None:
    a = MessengerAdapter("acme", _settings())
    assert a.business_addresses() == frozenset({"105000000000001"}) and a.default_business() == "105000000000001"
