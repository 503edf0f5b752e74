"""The ASGI application: raw webhook and health routes, then the agent API.

The outer application is a plain Starlette router.  ``/webhooks/{plugin}/{account}`` and
``/healthz`` are raw Starlette routes matched first, so a provider's webhook never passes through
FastAPI (no dependency injection, no FastAPI middleware, not in the API schema).  Every other path
goes to the FastAPI application of :mod:`omnisdk.gateway.api`: ``/v1/…``, ``/openapi.json`` and
``/docs``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from omnisdk.gateway.api import create_api, health, webhook_method_not_allowed
from omnisdk.gateway.webhooks import WebhookEndpoint

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> Starlette:
    """The ASGI app.  With ``manage_runtime`` the app's lifespan starts and stops the runtime."""
    webhooks = WebhookEndpoint(runtime)
    api = create_api(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_runtime:
            await runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                await runtime.stop()

    routes = [
        Route("/webhooks/{plugin}/{account}", webhooks.handle, methods=["GET", "POST"]),
        Route("/webhooks/{plugin}/{account}", webhook_method_not_allowed,  # not the API's 404
              methods=["PUT", "PATCH", "DELETE", "OPTIONS"]),
        Route("/healthz", health, methods=["GET"]),
    ]
    if getattr(runtime, "role", "all") != "ingress":  # an ingress has no engine to serve the API
        routes.append(Mount("", app=api))  # the agent API, /openapi.json and /docs
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.api = api
    return app
