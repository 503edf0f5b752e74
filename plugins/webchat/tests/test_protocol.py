"""The wire format's published values (docs/webchat.md "Test vectors"), session tokens, and the
example rule bot."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from omnisdk_webchat import WebchatAdapter, WebchatSettings, protocol, rule_bot, sessions

from omnisdk.adapters import WebhookRequest
from omnisdk.errors import SignatureError
from omnisdk.model import Message

SECRET = "webchat-v1-test-vector-secret-0001"
VECTORS = WebchatAdapter.recordings / "vectors" / "vectors.json"


def test_the_published_frame_key_and_signature():
    key = protocol.frame_key(SECRET, "v_TestVectorSession0001")
    assert key.hex() == "f86a623ecf6b8821cbb9c358e1fbeff90702f3a4d53e7af0fecf3cb9766cc37a"
    assert protocol.encode_key(key) == "-GpiPs9riCHLucNY4fvv-QcC86TVPnrw_s88uXZsw3o"
    assert protocol.frame_key_from(protocol.encode_key(key)) == key
    vector = json.loads(VECTORS.read_text())[0]
    assert protocol.frame_signature(key, vector["body"].encode()) == vector["headers"]["X-Webchat-Signature"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_the_shipped_vectors_are_what_openssl_makes_and_name_their_provenance():
    """The provenance the vectors declare holds: make_vectors.sh (OpenSSL alone) rebuilds them,
    every signature and token equal, whatever OpenSSL version runs it."""
    made = subprocess.run(["bash", str(VECTORS.with_name("make_vectors.sh"))], capture_output=True,
                          check=True, text=True, timeout=60).stdout
    shipped = json.loads(VECTORS.read_text())
    rebuilt = json.loads(made)
    assert [v["name"] for v in rebuilt] == [v["name"] for v in shipped]
    for mine, theirs in zip(shipped, rebuilt, strict=True):
        assert (mine["headers"], mine["body"], mine["settings"]) == (theirs["headers"], theirs["body"], theirs["settings"])
        assert mine["provenance"] == theirs["provenance"] == {"url": "https://docs.openssl.org/3.0/man1/openssl-dgst/"}


def _settings(**extra) -> WebchatSettings:
    return WebchatSettings(**{**WebchatAdapter.example_settings(), **extra})


def test_session_tokens_expire_and_name_their_account():
    settings = _settings(session_ttl=60)
    token, session = sessions.issue(settings, "acme", 1_000_000)
    assert sessions.check(settings, "acme", token, 1_000_059).sid == session.sid
    with pytest.raises(SignatureError, match="expired"):
        sessions.check(settings, "acme", token, 1_000_060)
    with pytest.raises(SignatureError):
        sessions.check(settings, "other", token, 1_000_000)


def test_verify_uses_the_receive_time_not_the_clock():
    adapter = WebchatAdapter("acme", _settings(session_ttl=60))
    token, session = sessions.issue(adapter.settings, "acme", 1_700_000_000)
    body = json.dumps({"v": 1, "type": "typing", "session": session.sid, "state": "on"}).encode()
    key = protocol.frame_key(adapter.settings.session_secret.get_secret_value(), session.sid)
    headers = {"authorization": f"Bearer {token}", "x-webchat-signature": protocol.frame_signature(key, body)}

    def at(epoch: int) -> WebhookRequest:
        when = datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
        return WebhookRequest("POST", "https://x/chat/acme/frames", headers, body, received_at=when)

    adapter.verify(at(1_700_000_030))
    with pytest.raises(SignatureError, match="expired"):
        adapter.verify(at(1_700_000_061))


def test_secrets_are_long_and_non_empty():
    with pytest.raises(ValueError):
        _settings(session_secret="short")
    with pytest.raises(ValueError):
        _settings(identity_key="not a pem", identity_algorithm="RS256")


def _msg(text: str) -> Message:
    return Message(message_id="m", channel="chat", customer="v_abcdefghij", business="web", kind="text", text=text)


def test_the_rule_bot():
    assert rule_bot.turn(_msg("I want a human"), []).escalate
    ask = rule_bot.turn(_msg("where is my order?"), [])
    assert not ask.escalate and "order number" in ask.reply
    history = [{"direction": "inbound", "body": {"text": "where is my order?"}},
               {"direction": "outbound", "body": {"text": ask.reply}}]
    done = rule_bot.turn(_msg("it is 123456"), history)
    assert done.escalate and done.context == {"intent": "order", "order": "123456"}
    assert "Monday" in rule_bot.turn(_msg("opening hours?"), []).reply
    assert not rule_bot.turn(_msg("hello"), []).escalate
    assert rule_bot.turn(_msg("hmm"), [{"direction": "inbound"}] * 3).escalate


def test_an_identity_token_for_another_audience_is_refused_when_an_audience_is_set():
    import jwt

    now = 1_800_000_000
    settings = _settings(identity_key="portal-secret-with-enough-length!!", identity_audience="chat.example.com")
    ours = jwt.encode({"sub": "ann", "exp": now + 300, "aud": "chat.example.com"},
                      "portal-secret-with-enough-length!!", algorithm="HS256")
    assert sessions.identify(settings, ours, now)[0] == "u_ann"
    for claims in ({"sub": "ann", "exp": now + 300, "aud": "billing.example.com"},  # another app's token
                   {"sub": "ann", "exp": now + 300}):  # no audience at all
        token = jwt.encode(claims, "portal-secret-with-enough-length!!", algorithm="HS256")
        with pytest.raises(SignatureError):
            sessions.identify(settings, token, now)
