"""The GET verification request: hub.mode=subscribe, hub.verify_token, hub.challenge."""

from __future__ import annotations

import pytest

from omnisdk.errors import PayloadError, SignatureError

TOKEN = "example-verify-token"


def _query(**overrides):
    q = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    q.update(overrides)
    return {k: v for k, v in q.items() if v is not None}


def test_the_right_token_echoes_the_challenge(adapter, webhook) -> None:
    reply = adapter.handshake(webhook(b"", method="GET", query=_query()))
    assert reply is not None
    assert (reply.status, reply.content_type, reply.body) == (200, "text/plain", b"1158201444")


def test_a_wrong_token_is_refused_without_saying_it(adapter, webhook) -> None:
    with pytest.raises(SignatureError) as info:
        adapter.handshake(webhook(b"", method="GET", query=_query(**{"hub.verify_token": "nope"})))
    assert info.value.status == 401 and info.value.reason == "bad_verify_token"
    assert TOKEN not in str(info.value) and "nope" not in str(info.value)


@pytest.mark.parametrize("overrides", [
    {"hub.mode": None}, {"hub.mode": "unsubscribe"}, {"hub.verify_token": None}, {"hub.challenge": None},
    {"hub.challenge": ""}, {"hub.challenge": "x" * 257}, {"hub.challenge": "<script>\n"}, {"hub.challenge": "défi"},
])
def test_missing_or_odd_parameters_are_a_400(adapter, webhook, overrides) -> None:
    with pytest.raises(PayloadError) as info:
        adapter.handshake(webhook(b"", method="GET", query=_query(**overrides)))
    assert info.value.status == 400


def test_a_post_is_no_handshake(adapter, webhook) -> None:
    assert adapter.handshake(webhook(b"{}", query=_query())) is None
