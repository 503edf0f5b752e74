"""``omnisdk call …`` talks to a gateway's call routes with the key in $OMNISDK_API_KEY: the
request each command sends (method, path, body, key) against a recording stand-in, and exit 1
with the gateway's refusal."""

from __future__ import annotations

import json

import httpx
import pytest
import respx
from typer.testing import CliRunner

from omnisdk import cli

URL = "http://gateway.test"
INTER = {"id": "0" * 32, "channel": "voice", "direction": "inbound", "state": "on_hold",
         "conversation_key": "cti_twilio/acme:voice:call:CA1", "source": "/cti_twilio/acme",
         "customer": "+12065550142", "business": "+14155550100",
         "created_at": "2026-12-01T09:12:00Z", "updated_at": "2026-12-01T09:12:00Z"}


@pytest.mark.parametrize(("args", "path", "body"), [
    (["hold", "0" * 32, "--agent", "alice"], f"/v1/interactions/{'0' * 32}/call/hold", {"agent": "alice"}),
    (["answer", "0" * 32], f"/v1/interactions/{'0' * 32}/call/answer", {}),
    (["transfer", "0" * 32, "--to-agent", "bob", "--warm"], f"/v1/interactions/{'0' * 32}/call/transfer",
     {"to_agent": "bob", "mode": "warm"}),
    (["dial", "+13125550167", "--account", "acme"], "/v1/calls",
     {"plugin": "cti_twilio", "account": "acme", "to": "+13125550167", "timeout": 30}),
])
def test_each_command_sends_its_request(monkeypatch, args, path, body):
    monkeypatch.setenv("OMNISDK_API_KEY", "omk_test_key")
    with respx.mock(base_url=URL) as mock:
        route = mock.post(path).mock(return_value=httpx.Response(200, json=INTER))
        result = CliRunner().invoke(cli.app, ["call", *args, "--url", URL])
    assert result.exit_code == 0, result.output
    sent = route.calls.last.request
    assert sent.headers["x-api-key"] == "omk_test_key"
    assert json.loads(sent.content) == body
    assert json.loads(result.stdout)["state"] == "on_hold"


def test_a_refusal_exits_1_with_the_reason(monkeypatch):
    monkeypatch.setenv("OMNISDK_API_KEY", "omk_test_key")
    with respx.mock(base_url=URL) as mock:
        mock.post(f"/v1/interactions/{'0' * 32}/call/hold").mock(return_value=httpx.Response(
            409, json={"error": "conflict", "detail": "call CA1: transferred → held is not a legal transition"}))
        result = CliRunner().invoke(cli.app, ["call", "hold", "0" * 32, "--url", URL])
    assert result.exit_code == 1
    assert "409" in result.output and "not a legal transition" in result.output
