"""Request and response bodies of the agent API's access routes: API keys and the audit log."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnisdk.access.principals import Role


class KeyRequest(BaseModel):
    """A new API key (``POST /v1/keys``)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the key is for (``crm-sync``).")
    role: Role = Field(description="agent, supervisor or admin.")
    agent: str | None = Field(None, min_length=1, description="The agent it acts as (required for role agent).")
    queues: list[str] | None = Field(None, description="A supervisor key's queues; omitted: every queue.")
    scopes: list[str] | None = Field(None, description="Fewer scopes than the role grants; omitted: all of them.")


class KeyInfo(BaseModel):
    """An API key as listed: never the key itself, never its hash."""

    id: str = Field(description="The key's public id (the 12 hex characters after ``omk_``).")
    name: str
    role: Role
    scopes: list[str]
    agent: str | None = None
    queues: list[str] | None = Field(None, description="A supervisor key's queues; null: every queue.")
    created_at: str = Field(description="RFC 3339 UTC.")
    revoked_at: str | None = Field(None, description="RFC 3339 UTC; null while the key works.")


class KeyCreated(KeyInfo):
    """A key just made: ``key`` is shown this once and cannot be read back."""

    key: str = Field(description="The API key (``omk_<id>_<secret>``); send it as X-API-Key.")


class AuditEntry(BaseModel):
    """One state-changing call."""

    seq: int = Field(description="Position in the log (grows with every entry).")
    at: str = Field(description="When it was answered, RFC 3339 UTC.")
    subject: str = Field(description="Who: key:<id>, oidc:<sub>, or anonymous.")
    role: Role | None = None
    method: str
    path: str
    status: int = Field(description="The HTTP status answered.")
    remote: str | None = Field(None, description="The client address the server saw.")


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page; null on the last.")
