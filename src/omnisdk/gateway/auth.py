"""Authentication of the agent API: FastAPI security dependencies over :mod:`omnisdk.access`.

Every ``/v1`` route depends on :func:`need` with the scope it requires.  A caller presents
either

- an **API key** (``omnisdk keys create``) in ``X-API-Key: omk_…`` (or as
  ``Authorization: Bearer omk_…``), or
- an **OIDC access token** (a JWT of the ``[api.oidc]`` issuer) in
  ``Authorization: Bearer <jwt>``.

Both appear in the OpenAPI document's ``securitySchemes`` (``ApiKey``, ``OidcBearer``) and in
every operation's ``security``.  The order of checks per request: the client address's rate
limit, the credential, the principal's rate limit, the route's scope.  The principal is left
in ``request.state.principal`` for the audit log (:mod:`omnisdk.gateway.audit`).

Errors (the API's error shape): 401 ``unauthorized`` with ``WWW-Authenticate``, 403
``forbidden``, 429 ``rate_limited`` with ``Retry-After``, 503 ``auth_unavailable``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from omnisdk.access.api_keys import PREFIX, ApiKeyVerifier
from omnisdk.access.oidc import OidcVerifier
from omnisdk.access.policy import require
from omnisdk.access.principals import Principal, Scope
from omnisdk.access.rate_limits import RateLimits
from omnisdk.errors import UnauthenticatedError

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

_API_KEY = APIKeyHeader(name="X-API-Key", scheme_name="ApiKey", auto_error=False,
                        description="An omnisdk API key (`omk_…`, from `omnisdk keys create`), for services.")
_BEARER = HTTPBearer(scheme_name="OidcBearer", bearerFormat="JWT", auto_error=False,
                     description="An access token of the configured OpenID Connect issuer, for people "
                                 "(an API key is accepted here too).")


class Authenticator:
    """The verifiers and limits of one API application.

    Args:
        runtime: its store holds the API keys; its settings' ``[api]`` configure the rest.
        http: the client the OIDC verifier fetches the issuer's keys with (its own when None).
    """

    def __init__(self, runtime: Runtime, http: Any = None) -> None:
        api = runtime.settings.api
        store = runtime.store
        self.keys = ApiKeyVerifier(lambda key_id: store.transact(lambda tx: tx.get_api_key(key_id)),
                                   cache_seconds=api.key_cache_seconds)
        self.oidc = OidcVerifier(api.oidc, client=http) if api.oidc is not None else None
        self.limits = RateLimits(api.rate_limit_per_ip, api.rate_limit_per_key)

    async def principal(self, address: str, api_key: str | None, bearer: str | None) -> Principal:
        """Who is calling.

        Raises:
            RateLimitedError: the address or the principal is over its limit.
            UnauthenticatedError: no credential, or one that does not verify.
            ForbiddenError: a token without an omnisdk role.
            AuthUnavailableError: the issuer's keys cannot be fetched.
        """
        self.limits.hit_address(address)
        if api_key is not None:
            principal = await self.keys.verify(api_key)
        elif bearer is not None and bearer.startswith(PREFIX):
            principal = await self.keys.verify(bearer)
        elif bearer is not None:
            if self.oidc is None:
                raise UnauthenticatedError("bearer tokens are not configured ([api.oidc]); use an API key")
            principal = await self.oidc.verify(bearer)
        else:
            raise UnauthenticatedError("credentials required: X-API-Key or Authorization: Bearer")
        self.limits.hit_subject(principal.subject)
        return principal


async def authenticate(
    request: Request,
    api_key: Annotated[str | None, Security(_API_KEY)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
) -> Principal:
    """The FastAPI dependency: the request's principal (also kept in ``request.state``)."""
    auth: Authenticator = request.app.state.auth
    client = request.client
    principal = await auth.principal(client.host if client else "-", api_key,
                                     bearer.credentials if bearer is not None else None)
    request.state.principal = principal
    return principal


class _Need:
    __slots__ = ("scope",)

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        require(principal, self.scope)
        return principal


def need(scope: Scope) -> Any:
    """``Depends`` on an authenticated principal holding ``scope`` (else 401 / 403)."""
    return Depends(_Need(scope))


__all__ = ["Authenticator", "authenticate", "need"]
