"""The audit log of the agent API: one entry per state-changing call (pure ASGI middleware).

For every POST, PUT, PATCH and DELETE that passes the browser-safety checks
(:mod:`omnisdk.gateway.browser_safety`), an :class:`~omnisdk.store.rows.AuditRow` is written —
who (the principal's subject and role; ``anonymous`` when the call had no valid credentials),
what (method and path; never the body, which may hold customers' messages or a new key),
when (RFC 3339 UTC), from where (the client address as the server saw it) and the status
answered, refusals (401, 403, 409 …) included.  It is written *before* the answer leaves, so
a caller that got an answer finds the entry; a crash between the change and that write loses
the entry, not the change (whose own history rows are in the store).  ``GET /v1/audit``
(scope ``audit:read``) reads it, newest first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from omnisdk.access.principals import Principal
from omnisdk.events import now_rfc3339
from omnisdk.gateway.browser_safety import STATE_CHANGING
from omnisdk.store.errors import StoreError
from omnisdk.store.rows import AuditRow

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

log = logging.getLogger("omnisdk.audit")


class AuditLog:
    """Writes the audit entry of each state-changing call through ``runtime.store``."""

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in STATE_CHANGING:
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        written = False

        async def audited(message: Message) -> None:
            nonlocal written
            if message["type"] == "http.response.start" and not written:
                written = True
                await self._write(scope, state, message["status"])
            await send(message)

        try:
            await self.app(scope, receive, audited)
        except Exception:
            if not written:
                written = True
                await self._write(scope, state, 500)
            raise

    async def _write(self, scope: Scope, state: dict[str, object], status: int) -> None:
        principal = state.get("principal")
        client = scope.get("client")
        row = AuditRow(at=now_rfc3339(),
                       subject=principal.subject if isinstance(principal, Principal) else "anonymous",
                       role=principal.role.value if isinstance(principal, Principal) else None,
                       method=scope["method"], path=scope["path"], status=status,
                       remote=client[0] if client else None)
        try:
            await self.runtime.store.transact(lambda tx: tx.append_audit(row))
        except StoreError as exc:  # the answer still goes out; the log says what was not kept
            log.error("audit entry not written (%s %s %s): %s", row.subject, row.method, row.path, exc)


__all__ = ["AuditLog"]
