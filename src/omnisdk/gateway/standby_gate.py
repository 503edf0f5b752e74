"""The agent API on a standby core: ``503 {"error": "standby"}`` until this process leads.

A standby (roles ``all`` and ``core`` on a PostgreSQL store, while another process holds the
routing domain's lease: :mod:`omnisdk.leadership`) has no routing engine to answer from, so
every ``/v1`` request (the live feed ``/v1/events`` too) gets ``503`` with ``Retry-After: 1``
and ``{"error": "standby", "detail": …}``, a WebSocket under ``/v1`` is closed (code 1013, try
again later); ``/openapi.json`` and ``/docs`` are served.  A load balancer that sends agents to the process whose ``/readyz``
answers 200 never meets it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omnisdk.gateway.webhooks import RETRY_AFTER_SECONDS, error_response

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

WS_TRY_AGAIN_LATER = 1013


def standby_detail(runtime: Runtime) -> str:
    """Why this process does not serve routing now (the ``detail`` of its 503s)."""
    lead = runtime.leadership
    if lead.state == "starting":
        return (f"this core took the lead of routing domain {lead.lease.domain!r} and is restoring "
                "the routing engine: ready in a moment")
    return (f"this core stands by for routing domain {lead.lease.domain!r}: another process leads it; "
            f"this one takes over when the lease is free (tried every {lead.retry_interval:g} s)")


class StandbyGate:
    """ASGI wrapper of the agent API: ``/v1`` answers 503 while the runtime does not lead."""

    def __init__(self, app: Any, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (scope["type"] in ("http", "websocket") and scope.get("path", "").startswith("/v1")
                and self.runtime.leadership.state != "leader"):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": WS_TRY_AGAIN_LATER})
                return
            resp = error_response(503, "standby", standby_detail(self.runtime))
            resp.headers["retry-after"] = str(RETRY_AFTER_SECONDS)
            await resp(scope, receive, send)
            return
        await self.app(scope, receive, send)
