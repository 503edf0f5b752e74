"""The ASGI gateway: provider webhooks in, the agent REST API (``/v1``, ``/openapi.json``).

``create_app`` is imported when first used (PEP 562), so that importing the API's schema
modules (``omnisdk.gateway.schemas``, as the Python client does) does not import FastAPI,
Starlette and the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnisdk.gateway.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from omnisdk.gateway.app import create_app

        return create_app
    raise AttributeError(f"module 'omnisdk.gateway' has no attribute {name!r}")
