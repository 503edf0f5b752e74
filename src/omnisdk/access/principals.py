"""Who calls the agent API: roles, scopes and the authenticated :class:`Principal`.

A role is a named bundle of scopes (:data:`ROLE_SCOPES`); an API key may carry fewer scopes
than its role grants, never more.  Each route of the API needs one scope; what a principal
may then touch (which interactions, agents and queues) is decided by
:mod:`omnisdk.access.policy`.

============================  =====  ==========  =====  =======================================
scope                         agent  supervisor  admin  what it allows
============================  =====  ==========  =====  =======================================
``interactions:read``         yes    yes         yes    list and read interactions, summaries
``interactions:work``         yes    yes         yes    accept, reject, hold, resume, wrap up,
                                                        close, reply, drafts, outbound, transfer
                                                        what one holds, cases from interactions
``interactions:assign``       no     yes         yes    offer queued work to a named agent
``cases:read``                yes    yes         yes    list cases
``cases:write``               yes    yes         yes    move a case through its lifecycle
``agents:read``               yes    yes         yes    list agents with presence and load
``agents:presence``           yes    yes         yes    set presence (an agent: their own)
``agents:admin``              no     no          yes    add or replace agents
``queues:read``               yes    yes         yes    list queues (their own ones)
``queues:admin``              no     no          yes    add or replace queues
``stats:read``                no     yes         yes    runtime counters
``audit:read``                no     no          yes    the audit log
``keys:admin``                no     no          yes    create, list and revoke API keys
``webhooks:admin``            no     no          yes    outgoing-webhook subscriptions
``contacts:merge``            yes    yes         yes    merge two contacts, undo a merge, link
                                                        a messaging profile to its requester
============================  =====  ==========  =====  =======================================
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Role(StrEnum):
    """The three roles of a contact centre's workspace, least to most powerful."""

    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Scope(StrEnum):
    """What one API route needs (the table of :mod:`omnisdk.access.principals`)."""

    INTERACTIONS_READ = "interactions:read"
    INTERACTIONS_WORK = "interactions:work"
    INTERACTIONS_ASSIGN = "interactions:assign"
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    AGENTS_READ = "agents:read"
    AGENTS_PRESENCE = "agents:presence"
    AGENTS_ADMIN = "agents:admin"
    QUEUES_READ = "queues:read"
    QUEUES_ADMIN = "queues:admin"
    STATS_READ = "stats:read"
    AUDIT_READ = "audit:read"
    KEYS_ADMIN = "keys:admin"
    WEBHOOKS_ADMIN = "webhooks:admin"
    CONTACTS_MERGE = "contacts:merge"


_AGENT = frozenset({Scope.INTERACTIONS_READ, Scope.INTERACTIONS_WORK, Scope.CASES_READ, Scope.CASES_WRITE,
                    Scope.AGENTS_READ, Scope.AGENTS_PRESENCE, Scope.QUEUES_READ, Scope.CONTACTS_MERGE})
_SUPERVISOR = _AGENT | {Scope.INTERACTIONS_ASSIGN, Scope.STATS_READ}

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.AGENT: frozenset(s.value for s in _AGENT),
    Role.SUPERVISOR: frozenset(s.value for s in _SUPERVISOR),
    Role.ADMIN: frozenset(s.value for s in Scope),
}
"""The scopes each role grants."""

ROLE_RANK = {Role.AGENT: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}
"""Order of the roles: when a token claims several, the highest applies."""


def scopes_for(role: Role, scopes: frozenset[str] | None = None) -> frozenset[str]:
    """The scopes a principal of ``role`` holds: the role's, or the subset ``scopes`` of them.

    Raises:
        ValueError: a scope that is unknown or that the role does not grant (an API key is
            never created with more than its role).
    """
    granted = ROLE_SCOPES[role]
    if scopes is None:
        return granted
    unknown = sorted(s for s in scopes if s not in {x.value for x in Scope})
    if unknown:
        raise ValueError(f"unknown scope{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    beyond = sorted(scopes - granted)
    if beyond:
        raise ValueError(f"role {role.value} does not grant {', '.join(beyond)}")
    return frozenset(scopes)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller of the agent API.

    Attributes:
        subject: who, as the audit log writes it: ``key:<key id>`` for an API key, the
            token's ``iss`` + ``sub`` (``oidc:<sub>``) for a person.
        role: the role (for a token, the highest one its roles claim names).
        scopes: what it may call (:class:`Scope` values).
        agent: the agent it acts as.  Required for the agent role; a supervisor or admin
            token may carry one too (then it is the default acting agent).
        queues: the queues a supervisor supervises; ``None`` means every queue.  Unused for
            other roles (an agent's queues are the agent's routing configuration).
        via: how it authenticated.
    """

    subject: str
    role: Role
    scopes: frozenset[str]
    agent: str | None = None
    queues: frozenset[str] | None = None
    via: Literal["api_key", "oidc"] = "api_key"

    def has(self, scope: Scope) -> bool:
        return scope.value in self.scopes


__all__ = ["ROLE_RANK", "ROLE_SCOPES", "Principal", "Role", "Scope", "scopes_for"]
