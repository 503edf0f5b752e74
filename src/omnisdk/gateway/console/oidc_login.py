"""The console's OIDC sign-in: the authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636)
for ``[api.oidc.console]``.

The page does the browser's part (``console.js``): it makes a ``code_verifier`` (32 random
bytes, base64url), keeps it and a random ``state`` in ``sessionStorage``, and sends the person to
the issuer's ``authorization_endpoint`` with ``code_challenge = BASE64URL(SHA-256(verifier))``
(``S256``) and ``redirect_uri = <origin>/console/``.  Back with ``?code=…&state=…``, it drops
them from the address bar at once (``history.replaceState``), checks ``state`` and posts
``{code, code_verifier, redirect_uri}`` to ``POST /console/oidc/token``; the gateway redeems
the code at the ``token_endpoint`` (a public client: ``client_id``, no secret), checks the access
token as the API will (:class:`omnisdk.access.oidc.OidcVerifier`) and answers only
``{access_token, token_type, expires_in}``, which the page keeps in ``sessionStorage``.

The gateway does the exchange (not the page) so that the console's Content-Security-Policy
keeps ``connect-src 'self'`` and the issuer needs no CORS.  Neither the code nor the token is
ever logged; errors name the issuer's ``error`` code only.  The endpoints come from the
settings, else from ``<issuer>/.well-known/openid-configuration`` (fetched once, again after a
failure).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omnisdk.access.settings import ConsoleLoginSettings
from omnisdk.errors import AccessError

if TYPE_CHECKING:
    from starlette.requests import Request

    from omnisdk.runtime import Runtime

log = logging.getLogger(__name__)
TIMEOUT = 10.0
"""Seconds for one call to the issuer (discovery, token)."""


class LoginError(Exception):
    """The sign-in failed: ``status`` (400 the code or token is refused, 502 the issuer cannot
    be reached or answers nonsense), ``reason`` and a ``detail`` that holds no secret."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.reason = status, reason


class CodeExchange(BaseModel):
    """What the page posts back: the code the issuer sent, its verifier, the redirect URI used."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    code: str = Field(min_length=1, max_length=4096)
    code_verifier: str = Field(min_length=43, max_length=128, pattern=r"^[A-Za-z0-9\-._~]+$")  # RFC 7636 §4.1
    redirect_uri: str = Field(min_length=1, max_length=2048)


@dataclass(frozen=True, slots=True)
class Endpoints:
    authorization: str
    token: str


class ConsoleLogin:
    """The sign-in of one gateway (``issuer``, ``[api.oidc.console]``, the Host names it serves)."""

    def __init__(self, issuer: str, settings: ConsoleLoginSettings, hosts: frozenset[str]) -> None:
        self.issuer = issuer
        self.settings = settings
        self.hosts = hosts
        self._endpoints: Endpoints | None = None
        if settings.authorization_endpoint is not None and settings.token_endpoint is not None:
            self._endpoints = Endpoints(str(settings.authorization_endpoint), str(settings.token_endpoint))
        self._lock = asyncio.Lock()

    async def endpoints(self) -> Endpoints:
        """The issuer's authorization and token endpoints (settings, else discovery).

        Raises:
            LoginError: 502, the discovery document cannot be fetched or names neither.
        """
        if self._endpoints is not None:
            return self._endpoints
        async with self._lock:
            if self._endpoints is None:
                url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
                try:
                    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                        resp = await client.get(url)
                    doc = resp.json() if resp.status_code == 200 else None
                except (httpx.HTTPError, ValueError):
                    doc = None
                doc = doc if isinstance(doc, dict) else {}
                auth = str(self.settings.authorization_endpoint or doc.get("authorization_endpoint") or "")
                token = str(self.settings.token_endpoint or doc.get("token_endpoint") or "")
                if not (_is_http(auth) and _is_http(token)):
                    raise LoginError(502, "oidc_unavailable", f"the issuer's discovery document ({url}) names no "
                                     "authorization_endpoint and token_endpoint")
                self._endpoints = Endpoints(auth, token)
        return self._endpoints

    async def page_config(self) -> dict[str, Any] | None:
        """``{"authorization_endpoint", "client_id", "scope"}`` for the page; None when the
        endpoints cannot be found now (the page then offers the pasted token only)."""
        try:
            found = await self.endpoints()
        except LoginError as exc:
            log.warning("console sign-in unavailable: %s", exc)
            return None
        return {"authorization_endpoint": found.authorization, "client_id": self.settings.client_id,
                "scope": " ".join(self.settings.scopes)}

    def check_redirect(self, redirect_uri: str) -> None:
        """Raises LoginError (400): not ``http(s)://<a host the gateway serves>/console/``."""
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in self.hosts \
                or parts.path != "/console/" or parts.query or parts.fragment:
            raise LoginError(400, "bad_request", "redirect_uri is not this gateway's /console/")

    async def redeem(self, exchange: CodeExchange) -> dict[str, Any]:
        """Redeem the code at the token endpoint; ``{"access_token", "token_type", "expires_in"}``.

        Raises:
            LoginError: 400 a redirect URI not ours, or the issuer refuses the code (its
                ``error`` code is named); 502 it cannot be reached or answers no access token.
        """
        self.check_redirect(exchange.redirect_uri)
        found = await self.endpoints()
        form = {"grant_type": "authorization_code", "code": exchange.code, "redirect_uri": exchange.redirect_uri,
                "client_id": self.settings.client_id, "code_verifier": exchange.code_verifier}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                resp = await client.post(found.token, data=form, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise LoginError(502, "oidc_unavailable", f"the token endpoint cannot be reached ({type(exc).__name__})") \
                from None
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise LoginError(502, "oidc_unavailable", f"the token endpoint answered {resp.status_code} without JSON")
        if resp.status_code != 200:
            code = doc.get("error") if isinstance(doc.get("error"), str) else "error"
            raise LoginError(400, "oidc_refused", f"the issuer refused the sign-in: {code[:100]}")
        token = doc.get("access_token")
        if not isinstance(token, str) or not token or str(doc.get("token_type", "")).lower() != "bearer":
            raise LoginError(502, "oidc_unavailable", "the token endpoint answered no bearer access token")
        expires = doc.get("expires_in")
        return {"access_token": token, "token_type": "Bearer",
                "expires_in": expires if isinstance(expires, int) and expires > 0 else None}


def _is_http(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https") and bool(urlsplit(url).hostname)


def make_login(runtime: Runtime) -> ConsoleLogin | None:
    """The sign-in of ``runtime``'s gateway, or None without ``[api.oidc.console]``."""
    oidc = runtime.settings.api.oidc
    if oidc is None or oidc.console is None:
        return None
    public = runtime.settings.gateway.public_url
    return ConsoleLogin(oidc.issuer, oidc.console, runtime.settings.api.hosts(urlsplit(str(public)).hostname
                                                                              if public else None))


async def token_endpoint(login: ConsoleLogin | None, request: Request) -> tuple[int, dict[str, Any]]:
    """``POST /console/oidc/token``: ``(status, JSON body)``; the access token only once it
    verifies as the API's bearer tokens do (else 400 ``oidc_refused`` with the reason)."""
    if login is None:
        return 404, {"error": "not_found", "detail": "the console's OIDC sign-in is not configured ([api.oidc.console])"}
    try:
        exchange = CodeExchange.model_validate(orjson.loads(await request.body()))
    except (orjson.JSONDecodeError, ValidationError):
        return 400, {"error": "bad_request", "detail": "expected {code, code_verifier, redirect_uri}"}
    try:
        answer = await login.redeem(exchange)
        verifier = request.app.state.auth.oidc
        if verifier is not None:
            await verifier.verify(answer["access_token"])
    except LoginError as exc:
        return exc.status, {"error": exc.reason, "detail": str(exc)}
    except AccessError as exc:
        return 400, {"error": "oidc_refused", "detail": f"the issuer's token is not accepted here: {exc}"}
    return 200, answer


__all__ = ["CodeExchange", "ConsoleLogin", "LoginError", "make_login", "token_endpoint"]
