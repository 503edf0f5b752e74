"""A typed Python client of the agent API (``/v1``): :class:`AgentClient` (sync) and
:class:`AsyncAgentClient` (asyncio), over httpx.

.. code-block:: python

    from omnisdk.client import AgentClient, ConflictError

    with AgentClient("http://127.0.0.1:8080", api_key=os.environ["OMNISDK_API_KEY"]) as api:
        for item in api.iter_interactions(state="offered", agent="alice"):
            api.accept(item.id, agent="alice")
            api.reply(item.id, "Hello! How can I help?", agent="alice")

Results are the API's own models (:mod:`omnisdk.gateway.schemas`, :mod:`omnisdk.gateway.access_schemas`)
and the core's (:class:`omnisdk.model.Interaction`, :class:`omnisdk.routing.model.Agent` …); errors
are the typed hierarchy of :mod:`omnisdk.outbound.errors`, re-exported here, each with ``status``,
``reason`` and ``detail`` (:mod:`omnisdk.client.errors`); the live stream's events are in
:mod:`omnisdk.client.live_events`.
"""

from omnisdk.client.async_client import AsyncAgentClient
from omnisdk.client.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OutboundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)
from omnisdk.client.live_events import (
    InteractionStateChanged,
    LiveEvent,
    MessageAdded,
    Ready,
    Reset,
    UnknownEvent,
)
from omnisdk.client.retries import DEFAULT_RETRY, RetryPolicy
from omnisdk.client.sse import ServerSentEvent
from omnisdk.client.sync_client import AgentClient

__all__ = [
    "APIConnectionError", "APIResponseValidationError", "APIStatusError", "APITimeoutError", "AgentClient",
    "AsyncAgentClient", "AuthenticationError", "BadRequestError", "ConflictError", "DEFAULT_RETRY",
    "InteractionStateChanged", "InternalServerError", "LiveEvent", "MessageAdded", "NotFoundError",
    "OutboundError", "PermissionDeniedError", "RateLimitError", "Ready", "Reset", "RetryPolicy",
    "ServerSentEvent", "UnknownEvent", "UnprocessableEntityError",
]
