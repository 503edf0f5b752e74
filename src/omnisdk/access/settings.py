"""``[api]`` in the configuration: who may call the agent API, from where, how often.

Example::

    [api]
    allowed_hosts = ["cx.example.com"]        # plus 127.0.0.1, localhost, ::1 and public_url's host
    cors_origins = ["https://console.example.com"]
    rate_limit_per_key = "1200/minute"
    rate_limit_per_ip = "600/minute"

    [api.oidc]                                 # people sign in with the company's identity provider
    issuer = "https://login.example.com/"
    audience = "omnisdk"
    agent_claim = "preferred_username"
"""

from __future__ import annotations

import re

from limits import parse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from omnisdk.access.principals import Role
from omnisdk.urls import HttpURL

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Host names always served (a server on the loopback interface is reached by them)."""


def _check_rate(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parse(value)
    except ValueError:
        raise ValueError("a rate limit reads like '600/minute' or '10 per second'") from None
    return value


class ConsoleLoginSettings(BaseModel):
    """``[api.oidc.console]``: the agent console signs people in at the issuer itself, with the
    OAuth 2.0 authorization code flow and PKCE (RFC 6749 §4.1, RFC 7636 ``S256``) as a public
    client (no client secret).  The endpoints are discovered from
    ``<issuer>/.well-known/openid-configuration`` (``authorization_endpoint``,
    ``token_endpoint``: OpenID Connect Discovery 1.0 §3) unless set here.  Register
    ``<gateway public URL>/console/`` as the client's redirect URI at the identity provider.
    """

    model_config = ConfigDict(extra="forbid")

    client_id: str = Field(min_length=1, max_length=200, description="The console's client id at the issuer.")
    authorization_endpoint: HttpURL | None = Field(None, description="Where people sign in; None: discovered.")
    token_endpoint: HttpURL | None = Field(None, description="Where the gateway redeems the code; None: discovered.")
    scopes: list[str] = Field(["openid", "profile"], min_length=1, description=(
        "The scopes asked for (the access token must still carry [api.oidc] audience and the roles claim)."))

    @field_validator("scopes")
    @classmethod
    def _scope_tokens(cls, scopes: list[str]) -> list[str]:
        bad = [s for s in scopes if not re.fullmatch(r"[\x21\x23-\x5b\x5d-\x7e]+", s)]
        if bad:  # RFC 6749 §3.3 scope-token
            raise ValueError(f"not a scope token: {', '.join(map(repr, bad))}")
        return scopes


class OidcSettings(BaseModel):
    """``[api.oidc]``: bearer tokens (JWT) from an OpenID Connect issuer, for people.

    The issuer's signing keys come from ``jwks_url``, or from the ``jwks_uri`` of
    ``<issuer>/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4); they are
    cached for ``jwks_cache_seconds`` and fetched again at once (at most every 10 s) when a
    token names a key id not among them (the issuer rotated its keys).
    """

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, description="The tokens' ``iss``, exactly (RFC 7519 §4.1.1).")
    audience: str = Field(min_length=1, description="The ``aud`` tokens must carry (RFC 7519 §4.1.3).")
    jwks_url: HttpURL | None = Field(None, description="The issuer's JWKS; None: discovered from the issuer.")
    algorithms: list[str] = Field(["RS256", "ES256"], min_length=1,
                                  description="Signature algorithms accepted (never 'none', never HS*).")
    agent_claim: str = Field("sub", min_length=1, description="The claim holding the agent id.")
    roles_claim: str = Field("roles", min_length=1,
                             description="The claim holding the roles (a string or a list of strings).")
    queues_claim: str = Field("omnisdk_queues", min_length=1,
                              description="A supervisor's queues (a list); absent: every queue.")
    role_map: dict[str, Role] = Field(default_factory=dict, description=(
        "Roles claim value → omnisdk role (e.g. {\"cx-leads\" = \"supervisor\"}); the values agent, "
        "supervisor and admin are taken as they are."))
    jwks_cache_seconds: float = Field(300.0, gt=0, description="Seconds the keys are kept before a refresh.")
    leeway_seconds: float = Field(30.0, ge=0, le=300, description="Clock skew allowed on exp/nbf/iat (seconds).")
    console: ConsoleLoginSettings | None = Field(None, description=(
        "The console's own sign-in at the issuer (authorization code + PKCE); None: people paste a token."))

    @field_validator("algorithms")
    @classmethod
    def _asymmetric_only(cls, algorithms: list[str]) -> list[str]:
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
        bad = sorted(set(algorithms) - allowed)
        if bad:
            raise ValueError(f"not an asymmetric JWS algorithm: {', '.join(bad)}")
        return algorithms


class ApiSettings(BaseModel):
    """``[api]``: the agent API's access controls (authentication is always on)."""

    model_config = ConfigDict(extra="forbid")

    allowed_hosts: list[str] = Field(default_factory=list, description=(
        "Host names the API answers to, beside 127.0.0.1, localhost, ::1 and the host of "
        "[gateway] public_url; any other Host header gets 421 (DNS rebinding)."))
    cors_origins: list[str] = Field(default_factory=list, description=(
        "Origins allowed to call the API from a browser (exact, e.g. https://console.example.com); "
        "empty: no CORS headers at all."))
    rate_limit_per_key: str | None = Field("6000/minute", description=(
        "Requests one API key or token subject may make (None: no limit)."))
    rate_limit_per_ip: str | None = Field("6000/minute", description=(
        "Requests one client address may make, credentials or not (None: no limit)."))
    key_cache_seconds: float = Field(30.0, ge=0, le=3600, description=(
        "Seconds a verified API key is trusted without reading the store again (a key revoked "
        "from another process stops working within this)."))
    oidc: OidcSettings | None = None

    _rates = field_validator("rate_limit_per_key", "rate_limit_per_ip")(_check_rate)

    def hosts(self, public_host: str | None) -> frozenset[str]:
        """Every Host name served (lower case, no port)."""
        names = {*LOOPBACK_HOSTS, *(h.lower() for h in self.allowed_hosts)}
        if public_host:
            names.add(public_host.lower())
        return frozenset(names)


__all__ = ["LOOPBACK_HOSTS", "ApiSettings", "ConsoleLoginSettings", "OidcSettings"]
