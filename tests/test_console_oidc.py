"""The console's OIDC sign-in, the gateway's part (``[api.oidc.console]``,
``/console/config.json``, ``POST /console/oidc/token``), against a fake identity provider served
on loopback (tests/plugins_for_tests/fake_idp.py): endpoints discovered, the code redeemed
with its PKCE verifier, the access token checked as the API checks it, and every bad exchange
a 4xx (502 when the issuer is down) that names no code or token."""

from __future__ import annotations

import logging
import os

import api_access
import pytest
from fake_idp import FakeIdP, s256

from omnisdk.config import Settings
from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime
from omnisdk.testkit.asgi_server import serve_in_task
from omnisdk.testkit.ports import free_port

VERIFIER = "dBjftJeZ4CVP-mJ92K9qXrBa1dd8yXYX5aCg8oi7sf-w"  # 43 characters of the RFC 7636 alphabet
REDIRECT = "http://127.0.0.1/console/"


def _settings(tmp_path, issuer: str, **console) -> Settings:
    env_file = os.environ.pop("OMNISDK_CONFIG_FILE", None)
    try:
        return Settings(store={"url": f"sqlite:///{tmp_path / 'oidc.db'}"},
                        routing={"queues": [{"name": "support"}], "agents": [{"id": "alice"}]},
                        api={"oidc": {"issuer": issuer, "audience": "omnisdk", "agent_claim": "preferred_username",
                                      "console": {"client_id": "omnisdk-console", **console}}})
    finally:
        if env_file is not None:
            os.environ["OMNISDK_CONFIG_FILE"] = env_file


@pytest.fixture
async def idp():
    port = free_port()
    provider = FakeIdP(issuer=f"http://127.0.0.1:{port}", client_id="omnisdk-console", redirect_uris=[REDIRECT],
                       users={"alice": {"preferred_username": "alice", "roles": ["agent"]}})
    async with serve_in_task(provider.app(), port=port):
        yield provider


@pytest.fixture
async def rt(tmp_path, idp):
    runtime = Runtime(_settings(tmp_path, idp.issuer))
    await runtime.start()
    yield runtime
    await runtime.stop()


async def test_the_page_learns_the_discovered_endpoints_and_the_code_becomes_an_access_token(rt, idp, caplog):
    caplog.set_level(logging.DEBUG)
    async with api_access.client(create_app(rt, manage_runtime=False)) as client:
        config = (await client.get("/console/config.json")).json()
        assert config["oidc"] == {"issuer": idp.issuer, "login": {
            "authorization_endpoint": f"{idp.issuer}/authorize", "client_id": "omnisdk-console",
            "scope": "openid profile"}}
        code = idp.issue_code("alice", challenge=s256(VERIFIER), redirect_uri=REDIRECT)
        resp = await client.post("/console/oidc/token", json={"code": code, "code_verifier": VERIFIER,
                                                               "redirect_uri": REDIRECT})
        assert resp.status_code == 200, resp.text
        assert resp.headers["cache-control"] == "no-store"
        doc = resp.json()
        assert doc == {"access_token": idp.issued[-1], "token_type": "Bearer", "expires_in": 300}  # no refresh token
        [sent] = idp.token_requests
        assert sent == {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                        "client_id": "omnisdk-console", "code_verifier": VERIFIER}
        me = await client.get("/v1/me", headers={"authorization": f"Bearer {doc['access_token']}"})
        assert me.status_code == 200 and me.json()["agent"] == "alice" and me.json()["role"] == "agent"
        again = await client.post("/console/oidc/token", json={"code": code, "code_verifier": VERIFIER,
                                                                "redirect_uri": REDIRECT})
        assert again.status_code == 400 and again.json()["error"] == "oidc_refused"  # a code works once
    assert doc["access_token"] not in caplog.text and code not in caplog.text


async def test_bad_exchanges_are_refused_without_echoing_the_code(rt, idp):
    async with api_access.client(create_app(rt, manage_runtime=False)) as client:
        url = "/console/oidc/token"
        code = idp.issue_code("alice", challenge=s256(VERIFIER), redirect_uri=REDIRECT)
        wrong = await client.post(url, json={"code": code, "code_verifier": "x" * 43, "redirect_uri": REDIRECT})
        assert wrong.status_code == 400
        assert wrong.json() == {"error": "oidc_refused", "detail": "the issuer refused the sign-in: invalid_grant"}
        for body in ({"code": "c", "code_verifier": "short", "redirect_uri": REDIRECT},
                     {"code": "c", "code_verifier": VERIFIER}, {"code": "c", "code_verifier": VERIFIER + "!",
                                                                  "redirect_uri": REDIRECT}):
            resp = await client.post(url, json=body)
            assert resp.status_code == 400 and resp.json()["error"] == "bad_request", body
        assert (await client.post(url, content=b"{not json", headers={"content-type": "application/json"})).status_code == 400
        for foreign in ("https://evil.example/console/", "http://127.0.0.1/console/?next=x", "http://127.0.0.1/v1/"):
            code = idp.issue_code("alice", challenge=s256(VERIFIER), redirect_uri=foreign)
            resp = await client.post(url, json={"code": code, "code_verifier": VERIFIER, "redirect_uri": foreign})
            assert resp.status_code == 400 and "redirect_uri" in resp.json()["detail"], foreign
        assert len(idp.token_requests) == 1  # only the first reached the issuer
        # a token the API would refuse (another audience) is not handed to the page
        idp.audience = "someone-else"
        code = idp.issue_code("alice", challenge=s256(VERIFIER), redirect_uri=REDIRECT)
        resp = await client.post(url, json={"code": code, "code_verifier": VERIFIER, "redirect_uri": REDIRECT})
        assert resp.status_code == 400 and "not accepted here" in resp.json()["detail"]
        assert idp.issued[-1] not in resp.text


async def test_without_the_console_setting_or_with_the_issuer_down(tmp_path):
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    runtime = Runtime(_settings(tmp_path, down))
    await runtime.start()
    try:
        async with api_access.client(create_app(runtime, manage_runtime=False)) as client:
            assert (await client.get("/console/config.json")).json()["oidc"] == {"issuer": down, "login": None}
            resp = await client.post("/console/oidc/token", json={"code": "c", "code_verifier": VERIFIER,
                                                                   "redirect_uri": REDIRECT})
            assert resp.status_code == 502 and resp.json()["error"] == "oidc_unavailable"
    finally:
        await runtime.stop()
    plain = Runtime(Settings(store={"url": f"sqlite:///{tmp_path / 'plain.db'}"}))
    await plain.start()
    try:
        async with api_access.client(create_app(plain, manage_runtime=False)) as client:
            assert (await client.get("/console/config.json")).json()["oidc"] is None
            resp = await client.post("/console/oidc/token", json={"code": "c", "code_verifier": VERIFIER,
                                                                   "redirect_uri": REDIRECT})
            assert resp.status_code == 404
    finally:
        await plain.stop()


async def test_configured_endpoints_need_no_discovery(tmp_path):
    settings = _settings(tmp_path, "https://login.example.test", authorization_endpoint="https://login.example.test/a",
                         token_endpoint="https://login.example.test/t", scopes=["openid", "omnisdk"])
    runtime = Runtime(settings)
    await runtime.start()
    try:
        async with api_access.client(create_app(runtime, manage_runtime=False)) as client:
            login = (await client.get("/console/config.json")).json()["oidc"]["login"]
            assert login == {"authorization_endpoint": "https://login.example.test/a", "client_id": "omnisdk-console",
                             "scope": "openid omnisdk"}
    finally:
        await runtime.stop()
    with pytest.raises(ValueError, match="not a scope token"):
        _settings(tmp_path, "https://x.example", scopes=["openid profile"])
