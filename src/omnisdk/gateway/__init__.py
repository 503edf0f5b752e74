"""The ASGI gateway: provider webhooks in, the agent REST API (``/v1``, ``/openapi.json``)."""

from omnisdk.gateway.app import create_app

__all__ = ["create_app"]
