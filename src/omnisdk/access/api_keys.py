"""API keys for services calling the agent API: made once, shown once, stored hashed.

A key reads ``omk_<id>_<secret>``: ``id`` is 12 hex characters (public: the CLI and the audit
log name a key by it), ``secret`` 43 URL-safe characters (256 random bits).  The store keeps
the id and an **argon2id** hash of the secret (argon2-cffi, OWASP's minimum parameters:
19 MiB, 2 passes), never the key.

Verifying the hash takes tens of milliseconds by design, so :class:`ApiKeyVerifier` keeps a
key it has verified for ``cache_seconds`` (keyed by the SHA-256 of the whole presented key;
a wrong secret is never cached): a request with a known key costs one hash and one dict
lookup, about a microsecond.  A key revoked through the API stops working at once on the
process that revoked it, and within ``cache_seconds`` on every other one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from omnisdk.access.principals import Principal, Role, scopes_for
from omnisdk.errors import UnauthenticatedError
from omnisdk.store.rows import ApiKeyRow

PREFIX = "omk_"
_SHAPE = re.compile(r"omk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
CACHE_SIZE = 10_000
"""Verified keys kept at most (the oldest half is dropped when full)."""


def new_api_key(*, name: str, role: Role, created_at: str, agent: str | None = None,
                queues: tuple[str, ...] | None = None, scopes: frozenset[str] | None = None) -> tuple[str, ApiKeyRow]:
    """A new key and the row to store for it: ``(key, row)``.  Show ``key`` once; it cannot be
    read back.

    Args:
        name: what the key is for (``"crm-sync"``), shown by ``omnisdk keys list``.
        role: its role; ``scopes`` narrows it (None: every scope of the role).
        agent: the agent it acts as (required for the agent role).
        queues: a supervisor key's queues (None: every queue).
        created_at: RFC 3339 UTC.

    Raises:
        ValueError: an empty name, an agent-role key without an agent, or scopes the role does
            not grant.
    """
    if not name.strip():
        raise ValueError("an API key needs a non-empty name")
    if role is Role.AGENT and not agent:
        raise ValueError("an agent key needs the agent it acts as (--agent)")
    granted = scopes_for(role, scopes)
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    row = ApiKeyRow(id=key_id, name=name.strip(), role=role.value, scopes=tuple(sorted(granted)),
                    secret_hash=_HASHER.hash(secret), created_at=created_at, agent=agent,
                    queues=tuple(sorted(queues)) if queues is not None else None)
    return f"{PREFIX}{key_id}_{secret}", row


def key_id_of(key: str) -> str:
    """The id part of a key.

    Raises:
        UnauthenticatedError: not shaped like an omnisdk API key.
    """
    m = _SHAPE.fullmatch(key)
    if m is None:
        raise UnauthenticatedError("malformed API key")
    return m.group(1)


def principal_of(row: ApiKeyRow) -> Principal:
    """The principal a stored key authenticates as."""
    return Principal(subject=f"key:{row.id}", role=Role(row.role), scopes=frozenset(row.scopes), agent=row.agent,
                     queues=frozenset(row.queues) if row.queues is not None else None, via="api_key")


class ApiKeyVerifier:
    """Checks presented keys against the store, with a short cache of verified ones.

    Args:
        load: ``key_id → row`` (None when there is none), e.g. a store read.
        cache_seconds: how long a verified key is trusted without reading the store again.
        clock: monotonic seconds (tests pass a fake one).
    """

    def __init__(self, load: Callable[[str], Awaitable[ApiKeyRow | None]], *, cache_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._ttl = cache_seconds
        self._clock = clock
        self._verified: dict[bytes, tuple[Principal, float, str]] = {}

    async def verify(self, key: str) -> Principal:
        """The principal of ``key``.

        Raises:
            UnauthenticatedError: malformed, unknown, revoked, or a wrong secret (the message
                never contains the key).
        """
        digest = hashlib.sha256(key.encode()).digest()
        hit = self._verified.get(digest)
        now = self._clock()
        if hit is not None and hit[1] > now:
            return hit[0]
        key_id = key_id_of(key)
        row = await self._load(key_id)
        if row is None:
            raise UnauthenticatedError("unknown API key")
        if row.revoked_at is not None:
            self._verified.pop(digest, None)
            raise UnauthenticatedError(f"API key {key_id} was revoked")
        secret = key[len(PREFIX) + 13:]
        if not await asyncio.to_thread(_matches, row.secret_hash, secret):
            raise UnauthenticatedError(f"API key {key_id} does not verify")
        principal = principal_of(row)
        if len(self._verified) >= CACHE_SIZE:
            for stale in list(self._verified)[: CACHE_SIZE // 2]:
                del self._verified[stale]
        self._verified[digest] = (principal, now + self._ttl, key_id)
        return principal

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (it was revoked here)."""
        for digest in [d for d, (_, _, kid) in self._verified.items() if kid == key_id]:
            del self._verified[digest]


def _matches(secret_hash: str, secret: str) -> bool:
    try:
        return _HASHER.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


__all__ = ["PREFIX", "ApiKeyVerifier", "key_id_of", "new_api_key", "principal_of"]
