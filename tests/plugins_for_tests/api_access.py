"""Credentials for tests of the agent API: API keys stored in a runtime's store, and clients
that send them."""

from __future__ import annotations

import httpx

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Role
from omnisdk.events import now_rfc3339

BASE_URL = "http://127.0.0.1"
"""A Host the API serves by default (loopback)."""


async def api_key(runtime, role: str = "admin", *, agent: str | None = None, queues=None, scopes=None,
                  name: str = "tests") -> str:
    """A new key of ``role`` in ``runtime``'s store (the runtime is started)."""
    key, row = new_api_key(name=name, role=Role(role), agent=agent, created_at=now_rfc3339(),
                           queues=tuple(queues) if queues is not None else None,
                           scopes=frozenset(scopes) if scopes is not None else None)
    await runtime.store.transact(lambda tx: tx.save_api_key(row))
    return key


def headers(key: str) -> dict[str, str]:
    """What an API client sends on every call: the key, and JSON as the content type."""
    return {"x-api-key": key, "content-type": "application/json"}


def client(app, key: str | None = None, base_url: str = BASE_URL) -> httpx.AsyncClient:
    """An ASGI client of ``app`` sending ``key`` (no credentials when None)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url,
                             headers=headers(key) if key else {"content-type": "application/json"})
