"""``GET /v1/me``: who the credential of the call is (what a console shows and acts as).

Any authenticated caller may ask about themself (scope ``interactions:read``); the answer never
holds the key or the token, only what the server derived from it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from omnisdk.access.principals import Principal, Role, Scope
from omnisdk.gateway.auth import need

router = APIRouter(tags=["access"])


class Me(BaseModel):
    """The caller as the API sees them."""

    subject: str = Field(description="``key:<id>`` for an API key, ``oidc:<sub>`` for a bearer token.")
    role: Role = Field(description="agent, supervisor or admin.")
    agent: str | None = Field(description="The agent the caller acts as (an agent key or token); null otherwise.")
    queues: list[str] | None = Field(description="A supervisor's queues; null: every queue.")
    scopes: list[str] = Field(description="The scopes the credential holds, sorted.")
    via: Literal["api_key", "oidc"] = Field(description="How the caller signed in.")


@router.get("/me", response_model=Me)
async def me(principal: Annotated[Principal, need(Scope.INTERACTIONS_READ)]) -> Any:
    """The authenticated caller: subject, role, agent, queues and scopes."""
    return {"subject": principal.subject, "role": principal.role, "agent": principal.agent,
            "queues": sorted(principal.queues) if principal.queues is not None else None,
            "scopes": sorted(principal.scopes), "via": principal.via}


__all__ = ["Me", "router"]
