"""What the sync and the async client share: credentials, how a :class:`~omnisdk.client.calls.Call`
becomes an :class:`httpx.Request` (once per call), and how an answer becomes its result or its
typed error.  The two clients differ only in how they send."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import ValidationError
from tenacity import RetryCallState

from omnisdk.client.calls import Call
from omnisdk.client.errors import (
    APIConnectionError,
    APIResponseValidationError,
    status_error,
    transport_error,
)
from omnisdk.client.live_events import LiveEvent, live_event
from omnisdk.client.retries import DEFAULT_RETRY, RetryPolicy
from omnisdk.client.sse import ServerSentEvent

T = TypeVar("T")

log = logging.getLogger("omnisdk.client")

USER_AGENT = "omnisdk-client"
STREAM_READ_TIMEOUT = 45.0
"""Seconds without a byte before a live stream counts as dead (the server pings every 15 s)."""


def _problem(exc: Exception) -> str:
    """What is wrong with a body, without echoing it (no ``input``)."""
    if isinstance(exc, ValidationError):
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "the body"
        return f"{exc.error_count()} problem(s); {where}: {first['msg']}"
    return "not JSON"


class BaseAgentClient:
    """The shared half of :class:`~omnisdk.client.AgentClient` and
    :class:`~omnisdk.client.AsyncAgentClient` (see there for the arguments)."""

    def __init__(self, base_url: str, api_key: str | None = None, bearer_token: str | None = None, *,
                 timeout: float = 10.0, retry: RetryPolicy = DEFAULT_RETRY) -> None:
        if api_key and bearer_token:
            raise ValueError("give an api_key or a bearer_token, not both")
        self.base_url = str(base_url).rstrip("/")
        self.timeout = timeout
        self.retry = retry
        self._auth = "api_key" if api_key else "bearer_token" if bearer_token else None
        self._headers = {"user-agent": USER_AGENT, "accept": "application/json"}
        if api_key:
            self._headers["x-api-key"] = api_key
        elif bearer_token:
            self._headers["authorization"] = f"Bearer {bearer_token}"

    def __repr__(self) -> str:  # never the credentials
        return f"{type(self).__name__}(base_url={self.base_url!r}, auth={self._auth!r})"

    __str__ = __repr__

    def _client_args(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "headers": self._headers, "timeout": httpx.Timeout(self.timeout)}

    def _build(self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
        """The request of ``call``, built once and sent as it is on every attempt."""
        headers = dict(call.headers)
        if call.changes_state:
            headers["content-type"] = "application/json"
        return http.build_request(call.method, call.path, params=list(call.params) or None,
                                  content=call.body, headers=headers)

    def _stream_request(self, http: httpx.Client | httpx.AsyncClient, last_event_id: str | None,
                        queue: str | None, read_timeout: float | None) -> httpx.Request:
        headers = {"accept": "text/event-stream", "cache-control": "no-store"}
        if last_event_id:
            headers["last-event-id"] = last_event_id
        return http.build_request("GET", "/v1/events", params={"queue": queue} if queue else None, headers=headers,
                                  timeout=httpx.Timeout(self.timeout, read=read_timeout))

    @staticmethod
    def _decode(call: Call[T], response: httpx.Response) -> T:
        """The result of a read ``response``, or its typed error.

        Raises:
            APIStatusError: (the subclass of the status) a non-2xx answer.
            APIResponseValidationError: a 2xx whose body does not match the schema.
        """
        if not response.is_success:
            raise status_error(call.method, call.path, response)
        try:
            return call.decode(orjson.loads(response.content) if response.content else None)
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise APIResponseValidationError(
                f"{call.method} {call.path} answered {response.status_code} with a body that does not match "
                f"the API's schema ({_problem(exc)})", status=response.status_code) from None

    @staticmethod
    def _transport_error(call: Call[Any] | None, exc: httpx.TransportError) -> APIConnectionError:
        method, path = (call.method, call.path) if call else ("GET", "/v1/events")
        return transport_error(method, path, exc)

    @staticmethod
    def _live_event(sse: ServerSentEvent) -> LiveEvent:
        try:
            return live_event(sse)
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise APIResponseValidationError(
                f"GET /v1/events sent a {sse.event!r} event that does not match the API's schema "
                f"({_problem(exc)})", status=200) from None

    @staticmethod
    def _log_retry(call: Call[Any]) -> Callable[[RetryCallState], None]:
        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s %s: attempt %d failed (%s), retrying in %.2f s", call.method, call.path,
                        state.attempt_number, type(exc).__name__ if exc else "?",
                        state.next_action.sleep if state.next_action else 0.0)
        return before_sleep


__all__ = ["BaseAgentClient", "STREAM_READ_TIMEOUT", "USER_AGENT"]
