"""``GET /metrics``: the runtime's registry in the Prometheus text format (version 0.0.4).

Each scrape first reads what the store and the routing engine hold now, in one store
transaction (:func:`read_state`, run through ``runtime.store.transact`` like the agent API's
reads, so the engine is read where it is written), then renders the runtime's own registry
(:class:`omnisdk.metrics.RuntimeMetrics`) in a worker thread: the event loop only waits.

An ingress process (``--role ingress``) has no cursor, interactions or engine: its scrape reads
nothing from the store and shows the webhook counts and the process's histograms only.  A
store that does not answer leaves the state families out of that scrape and sets
``omnisdk_store_up`` to 0.

``[gateway] metrics_token`` (a secret) makes the route require ``Authorization: Bearer
<token>`` (401 otherwise); unset, it is open, and ``omnisdk serve`` warns at start-up when it
binds off loopback.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from omnisdk.metrics import AgentOccupancy, StateSnapshot
from omnisdk.model import InteractionState
from omnisdk.routing.model import size_of
from omnisdk.store.protocols import Transaction

if TYPE_CHECKING:
    from omnisdk.routing.engine import RoutingEngine
    from omnisdk.runtime import Runtime

log = logging.getLogger("omnisdk.gateway")

OPEN_STATES = tuple(s.value for s in InteractionState if s is not InteractionState.CLOSED)
"""The states ``omnisdk_interactions`` reports (closed interactions grow without bound, and
counting them would read them all)."""
SCRAPE_TIMEOUT_SECONDS = 5.0
"""How long a scrape waits for the store before answering without the state families."""


def read_state(runtime: Runtime, tx: Transaction) -> StateSnapshot:
    """What the store and the engine hold now (on the store's writer thread, inside ``tx``):
    the inbox backlog and its oldest event's age (seconds, by the processor's clock), pending
    sends, the events-out backlog and its oldest event's age, the ``outbound.*`` counters,
    open interactions per state, and each agent's occupancy."""
    now = runtime.processor.clock().timestamp()
    oldest = tx.oldest_unprocessed_at()
    events_waiting, events_oldest = tx.bus_backlog()
    counters = tx.counters()
    return StateSnapshot(
        store_up=True,
        inbox_backlog=tx.inbox_backlog(),
        inbox_oldest_age_seconds=_age(oldest, now),
        outbox_pending=tx.outbox_pending(),
        events_out_backlog=events_waiting,
        events_out_oldest_age_seconds=_since(events_oldest, now),
        outbound={k: counters.get(f"outbound.{k}", 0) for k in ("sent", "failed", "retried")},
        interactions={s: 0 for s in OPEN_STATES} | tx.count_interactions_in(OPEN_STATES),
        agents=occupancy(runtime.engine),
    )


def _age(received_at: str | None, now: float) -> float | None:
    """Seconds from ``received_at`` (ISO 8601) to ``now`` (epoch seconds); 0 for None."""
    try:
        return _since(None if received_at is None else datetime.fromisoformat(received_at).timestamp(), now)
    except ValueError:  # not a time this release wrote: no age rather than a wrong one
        return None


def _since(at: float | None, now: float) -> float:
    """Seconds from ``at`` to ``now`` (both epoch seconds), never below 0; 0 for None (nothing waits)."""
    return 0.0 if at is None else max(0.0, now - at)


def occupancy(engine: RoutingEngine) -> list[AgentOccupancy]:
    """Every agent the engine knows, by id, with its capacity and the items it holds."""
    out = []
    for agent_id in sorted(engine.agents):
        agent = engine.agents[agent_id]
        held = {ch: n for ch, n in engine.load.get(agent_id, {}).items() if n}
        used = sum(n * size_of(ch, engine.item_size) for ch, n in held.items())
        out.append(AgentOccupancy(agent_id, dict(agent.capacity), held, agent.max_units, used))
    return out


class MetricsEndpoint:
    """The ``/metrics`` handler bound to a runtime.

    With ``[gateway] metrics_token`` set, a scrape must send ``Authorization: Bearer <token>``
    (compared in constant time); anything else is ``401 {"error": "unauthorized"}`` with
    ``WWW-Authenticate: Bearer realm="omnisdk-metrics"``, and reads nothing.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        token = runtime.settings.gateway.metrics_token
        self._token = token.get_secret_value().encode() if token is not None else None

    def _allowed(self, request: Request) -> bool:
        if self._token is None:
            return True
        given = request.headers.get("authorization", "")
        scheme, _, credentials = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credentials.strip().encode(), self._token)

    async def handle(self, request: Request) -> Response:
        if not self._allowed(request):
            return JSONResponse({"error": "unauthorized", "detail": "GET /metrics needs the metrics token"}, 401,
                                headers={"WWW-Authenticate": 'Bearer realm="omnisdk-metrics"',
                                         "Cache-Control": "no-store"})
        runtime = self.runtime
        snapshot = StateSnapshot()
        if runtime.role not in ("ingress", "gateway"):  # no processor state (a gateway: no store)
            try:
                async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
                    snapshot = await runtime.store.transact(lambda tx: read_state(runtime, tx))
            except Exception as exc:  # a scrape never fails because the store did
                log.warning("metrics: the store did not answer (%s)", type(exc).__name__)
                snapshot = StateSnapshot(store_up=False)
        runtime.metrics.state.snapshot = snapshot
        body = await asyncio.to_thread(generate_latest, runtime.metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
