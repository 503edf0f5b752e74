"""OpenID Connect bearer tokens (JWT) for people: verified against the issuer's JWKS.

A token is accepted when its signature verifies with a key of the issuer's JWKS (RFC 7517)
under one of the configured asymmetric algorithms, and its ``iss`` equals the configured
issuer, its ``aud`` holds the configured audience and ``exp`` has not passed (RFC 7519
§4.1; ``nbf`` and ``iat`` are checked when present; ``leeway_seconds`` of clock skew).
PyJWT does the JWS and claim checks; this module fetches and caches the keys and maps the
claims to a :class:`~omnisdk.access.principals.Principal`:

- the agent id is the ``agent_claim`` (default ``sub``);
- the role is the highest of the ``roles_claim`` values (default ``roles``: a string or a
  list), through ``role_map`` (values ``agent``, ``supervisor``, ``admin`` map to themselves);
  a token with no omnisdk role is refused (403);
- a supervisor's queues are the ``queues_claim`` list (absent: every queue).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from omnisdk.access.principals import ROLE_RANK, ROLE_SCOPES, Principal, Role
from omnisdk.access.settings import OidcSettings
from omnisdk.errors import AuthUnavailableError, ForbiddenError, UnauthenticatedError

REFETCH_AFTER = 10.0
"""Seconds between two fetches of the JWKS when tokens name unknown key ids (rotation)."""
CACHE_SIZE = 10_000


class OidcVerifier:
    """Verifies bearer tokens of one issuer.

    Args:
        settings: ``[api.oidc]``.
        client: the HTTP client the keys are fetched with (the verifier's own when None).
        clock: epoch seconds, UTC (tests pass a fake one).
    """

    def __init__(self, settings: OidcSettings, *, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._client = client
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._verified: dict[bytes, tuple[Principal, float]] = {}

    async def verify(self, token: str) -> Principal:
        """The principal of a bearer token.

        Raises:
            UnauthenticatedError: malformed, badly signed, expired, not yet valid, another
                issuer or audience, an algorithm not allowed, or a key id the issuer does
                not publish.
            ForbiddenError: a valid token with no omnisdk role, or an agent role without the
                agent claim.
            AuthUnavailableError: the issuer's keys cannot be fetched and none are cached.
        """
        digest = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        hit = self._verified.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise UnauthenticatedError("malformed bearer token") from None
        alg = header.get("alg")
        if alg not in self.settings.algorithms:
            raise UnauthenticatedError("bearer token signed with an algorithm this API does not accept")
        key = await self._key(str(header.get("kid") or ""))
        try:
            claims = jwt.decode(
                token, key, algorithms=self.settings.algorithms, audience=self.settings.audience,
                issuer=self.settings.issuer, leeway=self.settings.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]})
        except jwt.ExpiredSignatureError:
            raise UnauthenticatedError("bearer token expired") from None
        except jwt.InvalidAudienceError:
            raise UnauthenticatedError("bearer token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise UnauthenticatedError("bearer token is from another issuer") from None
        except jwt.PyJWTError as exc:
            raise UnauthenticatedError(f"bearer token refused: {type(exc).__name__}") from None
        principal = self._principal(claims)
        if len(self._verified) >= CACHE_SIZE:
            self._verified.clear()
        self._verified[digest] = (principal, min(float(claims["exp"]), now + 60.0))
        return principal

    def _principal(self, claims: dict[str, Any]) -> Principal:
        s = self.settings
        raw = claims.get(s.roles_claim)
        values = [raw] if isinstance(raw, str) else [v for v in raw if isinstance(v, str)] if isinstance(raw, list) else []
        roles = [r for r in (s.role_map.get(v) or _own_role(v) for v in values) if r is not None]
        if not roles:
            raise ForbiddenError(f"the token's {s.roles_claim!r} claim names no omnisdk role")
        role = max(roles, key=ROLE_RANK.__getitem__)
        agent = claims.get(s.agent_claim)
        agent = agent if isinstance(agent, str) and agent else None
        if role is Role.AGENT and agent is None:
            raise ForbiddenError(f"an agent token needs the {s.agent_claim!r} claim")
        queues = claims.get(s.queues_claim)
        supervised = (frozenset(q for q in queues if isinstance(q, str)) if isinstance(queues, list) else None)
        return Principal(subject=f"oidc:{claims.get('sub', agent)}", role=role, scopes=ROLE_SCOPES[role],
                         agent=agent, queues=supervised if role is Role.SUPERVISOR else None, via="oidc")

    async def _key(self, kid: str) -> jwt.PyJWK:
        now = self._clock()
        stale = now - self._fetched_at > self.settings.jwks_cache_seconds
        if stale or (kid not in self._keys and now - self._fetched_at > REFETCH_AFTER):
            async with self._lock:
                if self._fetched_at < now - min(REFETCH_AFTER, self.settings.jwks_cache_seconds):
                    await self._refresh(now)
        key = self._keys.get(kid) if kid else (next(iter(self._keys.values())) if len(self._keys) == 1 else None)
        if key is None:
            raise UnauthenticatedError("bearer token signed with a key the issuer does not publish")
        return key

    async def _refresh(self, now: float) -> None:
        try:
            keys = await self._fetch()
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            if not self._keys:
                raise AuthUnavailableError(f"cannot fetch the issuer's keys: {type(exc).__name__}") from None
            self._fetched_at = now - self.settings.jwks_cache_seconds + REFETCH_AFTER  # try again soon
            return
        self._keys = keys
        self._fetched_at = now

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        client = self._client or httpx.AsyncClient(timeout=5.0)
        try:
            url = str(self.settings.jwks_url) if self.settings.jwks_url else None
            if url is None:
                discovery = self.settings.issuer.rstrip("/") + "/.well-known/openid-configuration"
                resp = await client.get(discovery)
                resp.raise_for_status()
                url = resp.json().get("jwks_uri")
                if not isinstance(url, str):
                    raise ValueError("the discovery document has no jwks_uri")
            resp = await client.get(url)
            resp.raise_for_status()
            jwks = jwt.PyJWKSet.from_dict(resp.json())
        finally:
            if self._client is None:
                await client.aclose()
        return {k.key_id or "": k for k in jwks.keys}


def _own_role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


__all__ = ["OidcVerifier"]
