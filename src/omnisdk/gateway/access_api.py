"""The agent API's access routes: API keys (``/v1/keys``) and the audit log (``/v1/audit``).

Both need an admin's scopes (``keys:admin``, ``audit:read``).  A key made here is shown once
in the answer of ``POST /v1/keys``; ``DELETE /v1/keys/{key_id}`` revokes it, at once on this
process (its cached verification is dropped) and within ``[api] key_cache_seconds`` on others.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from omnisdk.access.api_keys import new_api_key
from omnisdk.access.principals import Principal, Scope
from omnisdk.errors import NotFoundError
from omnisdk.events import now_rfc3339
from omnisdk.gateway.access_schemas import AuditPage, KeyCreated, KeyInfo, KeyRequest
from omnisdk.gateway.auth import need
from omnisdk.store.queries import DEFAULT_LIMIT, MAX_LIMIT
from omnisdk.store.rows import ApiKeyRow

router = APIRouter(tags=["access"])

KeysAdmin = Annotated[Principal, need(Scope.KEYS_ADMIN)]
AuditReader = Annotated[Principal, need(Scope.AUDIT_READ)]


def key_info(row: ApiKeyRow) -> dict[str, Any]:
    """A stored key as the API and the CLI show it (no hash)."""
    doc = asdict(row)
    doc.pop("secret_hash")
    doc["scopes"] = list(row.scopes)
    doc["queues"] = list(row.queues) if row.queues is not None else None
    return doc


@router.get("/keys", response_model=list[KeyInfo])
async def list_keys(request: Request, principal: KeysAdmin) -> Any:
    """Every API key, oldest first, revoked ones included."""
    rows = await request.app.state.runtime.store.transact(lambda tx: tx.list_api_keys())
    return [key_info(r) for r in rows]


@router.post("/keys", status_code=201, response_model=KeyCreated)
async def create_key(request: Request, principal: KeysAdmin, body: KeyRequest) -> Any:
    """Make an API key; the answer holds it, this once (store it in a secret manager)."""
    key, row = new_api_key(name=body.name, role=body.role, agent=body.agent, created_at=now_rfc3339(),
                           queues=tuple(body.queues) if body.queues is not None else None,
                           scopes=frozenset(body.scopes) if body.scopes is not None else None)
    await request.app.state.runtime.store.transact(lambda tx: tx.save_api_key(row))
    return {**key_info(row), "key": key}


@router.delete("/keys/{key_id}", status_code=204, response_class=Response)
async def revoke_key(request: Request, principal: KeysAdmin,
                     key_id: Annotated[str, Path(description="The key's id.", max_length=64)]) -> Response:
    """Revoke a key: it authenticates no more (404 if there is no such key or it was revoked)."""
    at = now_rfc3339()
    if not await request.app.state.runtime.store.transact(lambda tx: tx.revoke_api_key(key_id, at)):
        raise NotFoundError(f"no active API key {key_id}")
    request.app.state.auth.keys.forget(key_id)
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPage)
async def read_audit(
    request: Request, principal: AuditReader,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (1–{MAX_LIMIT}).")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(min_length=1, max_length=400, description="The previous page's next_cursor.")] = None,
) -> Any:
    """The audit log, newest first, one page at a time."""
    page = await request.app.state.runtime.store.transact(lambda tx: tx.page_audit(limit=limit, cursor=cursor))
    return {"items": [asdict(r) for r in page.items], "next_cursor": page.next_cursor}


__all__ = ["key_info", "router"]
