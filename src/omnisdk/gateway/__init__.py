"""The ASGI gateway: provider webhooks in, a small JSON API for interactions."""

from omnisdk.gateway.app import create_app

__all__ = ["create_app"]
