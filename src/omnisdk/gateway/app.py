"""The ASGI application: raw webhook, health, readiness and metrics routes, then the agent API.

A POST to ``/webhooks/{plugin}/{account}`` is served before any routing, straight on the ASGI
interface (:func:`omnisdk.gateway.webhooks.fast_path`).  Everything else reaches a plain
Starlette router (GET handshakes and GET webhooks among it).  ``omnisdk serve`` runs the app
under uvicorn with the options of :mod:`omnisdk.gateway.server` (a request-head deadline).
``/webhooks/{plugin}/{account}``, ``/healthz`` (alive), ``/readyz``
(:mod:`omnisdk.gateway.readiness`) and ``/metrics`` (:mod:`omnisdk.gateway.metrics`) are raw
Starlette routes matched first, in every role, so a provider's webhook never passes through
FastAPI (no dependency injection, no FastAPI middleware, not in the API schema).  Every other path
goes to the FastAPI application of :mod:`omnisdk.gateway.api`: ``/v1/…``, ``/openapi.json`` and
``/docs``.  Adapters with routes of their own (:meth:`omnisdk.adapters.ChannelAdapter.routes`,
the web chat's WebSocket) are mounted at ``/{route_prefix}/{account}`` before the agent API
(:mod:`omnisdk.gateway.plugin_routes`), in the roles that receive webhooks.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from omnisdk.gateway.api import create_api, health, route_not_found, webhook_method_not_allowed
from omnisdk.gateway.case_links import routes as case_link_routes
from omnisdk.gateway.metrics import MetricsEndpoint
from omnisdk.gateway.plugin_routes import plugin_routes
from omnisdk.gateway.readiness import Readiness
from omnisdk.gateway.standby_gate import StandbyGate
from omnisdk.gateway.webhooks import WebhookEndpoint, fast_path

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime


def create_app(runtime: Runtime, *, manage_runtime: bool = True, freeze_heap: bool = False) -> Gateway:
    """The ASGI app.  With ``manage_runtime`` the app's lifespan starts and stops the runtime.

    ``freeze_heap`` (what ``omnisdk serve`` sets; a process-wide setting, so off for an app
    embedded in someone else's server): once the runtime has started, everything allocated so
    far (modules, plugins, settings, the routing state rebuilt from the store) is moved out of
    the garbage collector's reach with :func:`gc.freeze`.  It lives as long as the process, and
    full collections no longer walk it: about 10 µs less per routed interaction with 1,000
    agents (``bench/routing.py``).
    """
    webhooks = WebhookEndpoint(runtime)
    api = create_api(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        if freeze_heap:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    routes = [
        Route("/webhooks/{plugin}/{account}", webhooks.handle, methods=["GET", "POST"]),
        Route("/webhooks/{plugin}/{account}", webhook_method_not_allowed,  # not the API's 404
              methods=["PUT", "PATCH", "DELETE", "OPTIONS"]),
        *case_link_routes(runtime),
        Route("/healthz", health, methods=["GET"]),
        Route("/readyz", Readiness(runtime).handle, methods=["GET"]),
        Route("/metrics", MetricsEndpoint(runtime).handle, methods=["GET"]),
        *plugin_routes(runtime),  # adapters' own routes, /{route_prefix}/{account}/… (a web chat's socket)
    ]
    if getattr(runtime, "role", "all") not in ("ingress", "gateway"):  # no engine to serve the API
        # the agent API, /openapi.json and /docs; /v1 answers 503 while this core stands by
        routes.append(Mount("", app=StandbyGate(api, runtime) if runtime.leadership.shared else api))
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: route_not_found})  # a path no route takes (a newline in it …)
    app.state.runtime = runtime
    app.state.api = api
    return Gateway(app, webhooks)


class Gateway:
    """The Starlette application behind the webhook fast path (:func:`fast_path`); attribute
    access (``state``, ``routes`` …) goes to the Starlette application."""

    def __init__(self, app: Starlette, webhooks: WebhookEndpoint) -> None:
        self.app = app
        self._call = fast_path(webhooks, app)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._call(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)
