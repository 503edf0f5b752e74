"""What makes an outbox request the same request, for every store: the scope its idempotency key
is unique in, and the fingerprint of what the caller asked (the same key with another
fingerprint is :class:`~omnisdk.store.errors.IdempotencyConflict`)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson


def outbox_scope(interaction_id: str | None, caller: str | None) -> str:
    """The scope an idempotency key is unique in: the interaction, and the caller if any
    (``"<interaction id>|<caller>"``; ``""`` for a send outside any interaction)."""
    scope = interaction_id or ""
    return f"{scope}|{caller}" if caller else scope


def request_fingerprint(request: dict[str, Any]) -> str:
    """32 hex characters of SHA-256 over the request's JSON with sorted keys: equal requests,
    equal fingerprints, whatever their key order."""
    return hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def scoped_send_key(idempotency_key: str, scope: str) -> str:
    """The key sent to the provider when another scope sent ``idempotency_key`` first: the key
    with 16 hex characters of SHA-256 over the scope (``"r-1~3f…"``), so two interactions'
    ``r-1`` are two sends at the provider too.  The first scope to use a key sends it as is."""
    return f"{idempotency_key}~{hashlib.sha256(scope.encode()).hexdigest()[:16]}"


__all__ = ["outbox_scope", "request_fingerprint", "scoped_send_key"]
