"""``GET /readyz``: whether this process should get traffic now (``/healthz`` only says it runs).

Ready (``200 {"status": "ready", "inbox_backlog": n, "ready_max_inbox_lag": bound}``) when the
store answers a trivial read through the runtime's store (the inbox backlog: one indexed count,
of at most ``ready_max_inbox_lag`` rows, so a probe costs the same under any backlog) within
:data:`READY_TIMEOUT_SECONDS`, and fewer than ``[gateway] ready_max_inbox_lag`` inbox events
wait for the processor.  Otherwise ``503 {"error": "not_ready", "detail": …}``; the detail
says which check failed, never a store message (a DSN could be in one).

A core on a PostgreSQL store that does not lead its routing domain (:mod:`omnisdk.leadership`)
answers ``503 {"error": "standby", "detail": …}`` (its agent API answers 503 too: it has no
routing engine), whatever its store says; it turns ready once it leads and has restored the
engine.  Its 200 then also has ``leader_since`` (epoch seconds, UTC: when it took the lease) and
``leader_ready_seconds`` (how long restoring the engine and starting the leader's work took).

An ingress process (``--role ingress``) has no processor cursor: it is ready when its inbox
store answers (``200 {"status": "ready", "role": "ingress"}``); the backlog is its core's.

A gateway (``--role gateway``) has no store: it is ready while its NATS connection is up
(``200 {"status": "ready", "role": "gateway", "bus": "connected"}``), else ``503`` with the
detail ``the event bus (NATS) is not connected`` (its webhooks answer 503 meanwhile).  A core
or ``all`` process consuming the bus (``[bus] url`` set) adds ``"bus": "connected"`` or
``"reconnecting"`` to its 200: the store, not the bus, decides its readiness.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response

from omnisdk.gateway.standby_gate import standby_detail
from omnisdk.gateway.webhooks import error_response

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime

log = logging.getLogger("omnisdk.gateway")

READY_TIMEOUT_SECONDS = 5.0
"""How long ``/readyz`` waits for the store before answering 503."""


class NotReady(Exception):
    """Why the process is not ready (the ``detail`` of the 503)."""

    reason = "not_ready"


class StandingBy(NotReady):
    """A core that does not lead its routing domain (now)."""

    reason = "standby"


class Readiness:
    """The ``/readyz`` handler bound to a runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.max_lag = runtime.settings.gateway.ready_max_inbox_lag

    async def check(self) -> dict[str, object]:
        """The body of a 200.

        Raises:
            NotReady: the store did not answer, or the backlog is at or above the bound.
        """
        runtime = self.runtime
        if runtime.role == "gateway":
            if not runtime.store.connected:
                raise NotReady("the event bus (NATS) is not connected")
            return {"status": "ready", "role": "gateway", "bus": "connected"}
        ingress = runtime.role == "ingress"
        if not ingress and runtime.leadership.shared and runtime.leadership.state != "leader":
            raise StandingBy(standby_detail(runtime))
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                if ingress:
                    await runtime.store.transact(lambda tx: tx.counters())
                    return {"status": "ready", "role": "ingress"}
                backlog = await runtime.store.transact(lambda tx: tx.inbox_backlog(up_to=self.max_lag))
        except TimeoutError:
            raise NotReady(f"the store did not answer within {READY_TIMEOUT_SECONDS:g} s") from None
        except Exception as exc:
            log.warning("readyz: the store did not answer (%s)", type(exc).__name__)
            raise NotReady(f"the store did not answer ({type(exc).__name__})") from None
        if backlog >= self.max_lag:
            raise NotReady(f"{backlog} or more inbox events wait for the processor; ready below "
                           f"{self.max_lag} ([gateway] ready_max_inbox_lag)")
        body: dict[str, object] = {"status": "ready", "inbox_backlog": backlog, "ready_max_inbox_lag": self.max_lag}
        lead = runtime.leadership
        if lead.shared:  # which process leads, since when: what an operator (and the fault tests) look at
            body |= {"leader_since": lead.led_at, "leader_ready_seconds": lead.restore_seconds}
        consumer = getattr(runtime, "inbox_consumer", None)
        if consumer is not None:
            body["bus"] = "connected" if consumer.connected else "reconnecting"
        return body

    async def handle(self, request: Request) -> Response:
        try:
            body = await self.check()
        except NotReady as exc:
            return error_response(503, exc.reason, str(exc))
        return Response(orjson.dumps(body), media_type="application/json")
