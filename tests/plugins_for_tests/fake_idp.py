"""A small OpenID Connect identity provider for tests of the console's sign-in: a Starlette app
served on loopback, with a discovery document, a JWKS (one RSA key made here with
``cryptography``), an authorization endpoint (a page with one button per known user) and a
token endpoint that redeems a code once, checking the PKCE verifier (RFC 7636 ``S256``), the
client id and the redirect URI.  Access tokens are RS256 JWTs signed with PyJWT."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA-256(ASCII(code_verifier))), no padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass
class FakeIdP:
    """The provider at ``issuer``; ``users`` are the claims of each user who may sign in;
    ``audience`` the ``aud`` of its access tokens."""

    issuer: str
    client_id: str
    redirect_uris: list[str]
    users: dict[str, dict[str, Any]]
    audience: str = "omnisdk"
    key: Any = field(default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048))
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)

    def access_token(self, user: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": self.audience, "sub": f"u-{user}", "iat": now, "exp": now + 300,
                **self.users[user], **claims}
        token = jwt.encode(body, self.key, algorithm="RS256", headers={"kid": "k1"})
        self.issued.append(token)
        return token

    def issue_code(self, user: str, *, challenge: str, redirect_uri: str, client_id: str | None = None) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = {"user": user, "challenge": challenge, "redirect_uri": redirect_uri,
                            "client_id": client_id or self.client_id}
        return code

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            return JSONResponse({"issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
                                 "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/keys",
                                 "code_challenge_methods_supported": ["S256"]})

        async def keys(request: Request) -> Response:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return JSONResponse({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})

        async def authorize(request: Request) -> Response:
            q = dict(request.query_params)
            self.authorize_requests.append(q)
            if (q.get("response_type") != "code" or q.get("client_id") != self.client_id
                    or q.get("redirect_uri") not in self.redirect_uris or q.get("code_challenge_method") != "S256"
                    or not q.get("code_challenge")):
                return HTMLResponse("<p>invalid request</p>", status_code=400)
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                             for k, v in q.items())
            buttons = "".join(f'<button name="user" value="{html.escape(u)}">Sign in as {html.escape(u)}</button>'
                              for u in self.users)
            return HTMLResponse(f'<!doctype html><title>Fake IdP</title><h1>Fake IdP</h1>'
                                f'<form method="post" action="/authorize">{hidden}{buttons}</form>')

        async def approve(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            code = self.issue_code(str(form["user"]), challenge=str(form["code_challenge"]),
                                   redirect_uri=str(form["redirect_uri"]))
            return RedirectResponse(f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form.get('state', '')})}",
                                    status_code=303)

        async def token(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            self.token_requests.append(form)
            grant = self.codes.pop(form.get("code", ""), None)  # a code works once
            if form.get("grant_type") != "authorization_code" or grant is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            if (form.get("client_id") != grant["client_id"] or form.get("redirect_uri") != grant["redirect_uri"]
                    or s256(form.get("code_verifier", "")) != grant["challenge"]):
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE or client mismatch"},
                                    status_code=400)
            return JSONResponse({"access_token": self.access_token(grant["user"]), "token_type": "Bearer",
                                 "expires_in": 300, "refresh_token": "rt-never-handed-to-the-page"})

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/keys", keys),
                                 Route("/authorize", authorize, methods=["GET"]),
                                 Route("/authorize", approve, methods=["POST"]),
                                 Route("/token", token, methods=["POST"])])
