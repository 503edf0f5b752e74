"""The Starlette application."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.routing import Route

from omnisdk.gateway.api import Api
from omnisdk.gateway.webhooks import WebhookEndpoint

if TYPE_CHECKING:
    from omnisdk.runtime import Runtime


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> Starlette:
    """The ASGI app.  With ``manage_runtime`` the app's lifespan starts and stops the runtime."""
    api = Api(runtime)
    webhooks = WebhookEndpoint(runtime)

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
        Route("/healthz", api.health, methods=["GET"]),
        Route("/v1/interactions", api.interactions, methods=["GET"]),
        Route("/v1/interactions/{id}/reply", api.reply, methods=["POST"]),
        Route("/v1/interactions/{id}/close", api.close, methods=["POST"]),
        Route("/v1/stats", api.stats, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
