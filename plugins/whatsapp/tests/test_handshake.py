"""The GET verification handshake (hub.mode / hub.verify_token / hub.challenge)."""

from __future__ import annotations

import pytest

from omnisdk.errors import PayloadError, SignatureError

TOKEN = "example-verify-token"


def _query(**overrides):
    q = {"hub.mode": "subscribe", "hub.verify_token": TOKEN, "hub.challenge": "1158201444"}
    q.update(overrides)
    return {k: v for k, v in q.items() if v is not None}


def test_correct_token_echoes_challenge(adapter, make_request):
    reply = adapter.handshake(make_request(method="GET", query=_query()))
    assert reply is not None
    assert (reply.status, reply.content_type, reply.body) == (200, "text/plain", b"1158201444")


def test_wrong_token_is_refused(adapter, make_request):
    with pytest.raises(SignatureError) as err:
        adapter.handshake(make_request(method="GET", query=_query(**{"hub.verify_token": "nope"})))
    assert err.value.status == 401
    assert TOKEN not in str(err.value) and "nope" not in str(err.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"hub.mode": None},
        {"hub.mode": "unsubscribe"},
        {"hub.verify_token": None},
        {"hub.challenge": None},
        {"hub.challenge": ""},
        {"hub.challenge": "x" * 257},
        {"hub.challenge": "<script>\n"},
        {"hub.challenge": "défi"},
    ],
)
def test_missing_or_odd_params(adapter, make_request, overrides):
    with pytest.raises(PayloadError):
        adapter.handshake(make_request(method="GET", query=_query(**overrides)))


def test_post_is_no_handshake(adapter, make_request):
    assert adapter.handshake(make_request(b"{}", method="POST", query=_query())) is None
