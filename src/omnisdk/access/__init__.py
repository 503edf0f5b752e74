"""Access to the agent API: principals, roles and scopes, API keys, OIDC tokens, the rules of
what a caller may touch, and rate limits.  The gateway applies them
(:mod:`omnisdk.gateway.auth`); nothing here knows HTTP."""

from omnisdk.access.principals import ROLE_SCOPES, Principal, Role, Scope

__all__ = ["ROLE_SCOPES", "Principal", "Role", "Scope"]
