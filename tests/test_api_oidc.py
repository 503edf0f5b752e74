"""People sign in with OIDC access tokens: JWTs of the configured issuer, verified against its
JWKS (discovered, cached, rotated), with audience, issuer and expiry checked.

The identity provider is played by respx: a discovery document and a JWKS with RSA and EC
keys made here with ``cryptography``; tokens are signed with PyJWT.
"""

from __future__ import annotations

import json
import time

import api_access
import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sample_wire import make_settings

from omnisdk.access.settings import OidcSettings
from omnisdk.gateway import create_app
from omnisdk.runtime import Runtime

ISSUER = "https://login.example.test/"
DISCOVERY = "https://login.example.test/.well-known/openid-configuration"
JWKS_URL = "https://login.example.test/keys"


def new_rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_of(private, kid: str) -> dict:
    algo = jwt.algorithms.RSAAlgorithm if isinstance(private, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    doc = json.loads(algo.to_jwk(private.public_key()))
    return {**doc, "kid": kid, "use": "sig"}


class Issuer:
    """The identity provider: its keys, its discovery document, the tokens it signs."""

    def __init__(self, mock: respx.MockRouter) -> None:
        self.keys = {"k1": new_rsa()}
        self.discovery = mock.get(DISCOVERY).mock(side_effect=lambda r: httpx.Response(200, json={
            "issuer": ISSUER, "jwks_uri": JWKS_URL}))
        self.jwks = mock.get(JWKS_URL).mock(side_effect=lambda r: httpx.Response(200, json={
            "keys": [jwk_of(k, kid) for kid, k in self.keys.items()]}))

    def token(self, kid: str = "k1", alg: str | None = None, key=None, **claims) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": "omnisdk", "sub": "u-1", "iat": now, "exp": now + 300,
                "roles": ["agent"], "preferred_username": "alice", **claims}
        body = {k: v for k, v in body.items() if v is not None}
        private = key or self.keys[kid]
        alg = alg or ("RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256")
        return jwt.encode(body, private, algorithm=alg, headers={"kid": kid})


@pytest.fixture
async def idp_world(tmp_path):
    settings = make_settings(tmp_path)
    oidc = OidcSettings(issuer=ISSUER, audience="omnisdk", agent_claim="preferred_username",
                        role_map={"cx-leads": "supervisor"})
    settings = settings.model_copy(update={"api": settings.api.model_copy(update={"oidc": oidc})})
    rt = Runtime(settings)
    await rt.start()
    with respx.mock(assert_all_called=False) as mock:
        issuer = Issuer(mock)
        yield rt, create_app(rt, manage_runtime=False), issuer
    await rt.stop()


async def get(app, token: str, path: str = "/v1/interactions") -> httpx.Response:
    async with api_access.client(app) as c:
        return await c.get(path, headers={"authorization": f"Bearer {token}"})


async def test_an_agents_token_is_accepted_and_acts_as_the_claimed_agent(idp_world):
    rt, app, issuer = idp_world
    assert (await get(app, issuer.token())).status_code == 200
    async with api_access.client(app) as c:
        me = {"authorization": f"Bearer {issuer.token()}"}
        assert (await c.put("/v1/agents/alice/presence", json={"presence": "away"}, headers=me)).status_code == 200
        assert (await c.put("/v1/agents/bob/presence", json={"presence": "away"}, headers=me)).status_code == 403
        assert (await c.get("/v1/stats", headers=me)).status_code == 403
        lead = {"authorization": f"Bearer {issuer.token(roles=['cx-leads'], sub='u-2')}"}
        assert (await c.get("/v1/stats", headers=lead)).status_code == 200
    assert rt.engine.agents["alice"].presence.value == "away"
    assert issuer.discovery.call_count == 1 and issuer.jwks.call_count == 1  # cached


@pytest.mark.parametrize("change, why", [
    ({"exp": int(time.time()) - 3600}, "expired"),
    ({"aud": "another-api"}, "another audience"),
    ({"iss": "https://evil.example.test/"}, "another issuer"),
    ({"exp": None}, "MissingRequiredClaimError"),
])
async def test_a_token_with_a_bad_claim_is_401(idp_world, change, why):
    rt, app, issuer = idp_world
    resp = await get(app, issuer.token(**change))
    assert resp.status_code == 401 and why in resp.json()["detail"]


async def test_tokens_signed_otherwise_are_401(idp_world):
    rt, app, issuer = idp_world
    forged = await get(app, issuer.token(key=new_rsa()))  # kid k1, another key
    assert forged.status_code == 401 and "InvalidSignatureError" in forged.json()["detail"]
    hs = jwt.encode({"iss": ISSUER, "aud": "omnisdk", "exp": int(time.time()) + 60, "roles": "admin"},
                    "k" * 32, algorithm="HS256", headers={"kid": "k1"})
    resp = await get(app, hs)
    assert resp.status_code == 401 and "algorithm" in resp.json()["detail"]
    unsigned = jwt.encode({"iss": ISSUER, "aud": "omnisdk", "exp": int(time.time()) + 60, "roles": "admin"},
                          None, algorithm="none")
    assert (await get(app, unsigned)).status_code == 401
    assert (await get(app, "a.b.c")).status_code == 401


async def test_a_rotated_key_is_fetched_once_and_unknown_ids_do_not_hammer_the_issuer(idp_world):
    rt, app, issuer = idp_world
    assert (await get(app, issuer.token())).status_code == 200
    issuer.keys["k2"] = new_rsa()  # the issuer rotates: k2 signs from now on
    verifier = app.state.api.state.auth.oidc
    verifier._fetched_at -= 11  # the refetch interval (10 s) has passed since the first fetch
    assert (await get(app, issuer.token("k2"))).status_code == 200
    assert issuer.jwks.call_count == 2
    for _ in range(3):  # a token naming a key nobody publishes: refused without a fetch each time
        resp = await get(app, issuer.token(key=new_rsa(), kid="k9"))
        assert resp.status_code == 401 and "does not publish" in resp.json()["detail"]
    assert issuer.jwks.call_count == 2


async def test_an_ec_key_of_the_issuer_verifies_es256_tokens(idp_world):
    rt, app, issuer = idp_world
    issuer.keys["ec"] = ec.generate_private_key(ec.SECP256R1())
    app.state.api.state.auth.oidc._fetched_at -= 11
    assert (await get(app, issuer.token("ec"))).status_code == 200


async def test_a_token_without_an_omnisdk_role_is_403(idp_world):
    rt, app, issuer = idp_world
    resp = await get(app, issuer.token(roles=["payroll"]))
    assert resp.status_code == 403 and "names no omnisdk role" in resp.json()["detail"]
    resp = await get(app, issuer.token(preferred_username=None))
    assert resp.status_code == 403 and "preferred_username" in resp.json()["detail"]


async def test_an_unreachable_issuer_is_503_not_401(tmp_path):
    settings = make_settings(tmp_path)
    oidc = OidcSettings(issuer=ISSUER, audience="omnisdk", jwks_url=JWKS_URL)
    rt = Runtime(settings.model_copy(update={"api": settings.api.model_copy(update={"oidc": oidc})}))
    await rt.start()
    try:
        with respx.mock() as mock:
            mock.get(JWKS_URL).mock(side_effect=httpx.ConnectError("down"))
            token = jwt.encode({"iss": ISSUER, "aud": "omnisdk", "exp": int(time.time()) + 60}, new_rsa(),
                               algorithm="RS256", headers={"kid": "k1"})
            resp = await get(create_app(rt, manage_runtime=False), token)
        assert resp.status_code == 503 and resp.json()["error"] == "auth_unavailable"
    finally:
        await rt.stop()


def test_symmetric_algorithms_are_refused_in_the_configuration():
    with pytest.raises(ValueError, match="not an asymmetric JWS algorithm: HS256"):
        OidcSettings(issuer=ISSUER, audience="omnisdk", algorithms=["HS256"])
