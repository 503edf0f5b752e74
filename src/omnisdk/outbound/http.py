"""The one base HTTP client every plugin uses to call its provider's API.

- timeouts: connect and read, in seconds;
- retries (tenacity) on connection errors, timeouts, 408, 429, 500, 502, 503 and 504, with exponential
  back-off and jitter, honouring ``Retry-After`` (seconds or HTTP date) up to a cap;
- no retry on other 4xx;
- an idempotency key made once by the caller *before* the retry loop and sent unchanged on
  every attempt;
- errors mapped to :mod:`omnisdk.outbound.errors`, each with the provider's request id;
- while the current span is recording (the outbox's send span: :mod:`omnisdk.outbound.outbox`),
  one HTTP client span per attempt (semantic conventions: name = the method,
  ``http.request.method``, ``server.address``, ``server.port``, ``url.scheme``,
  ``http.response.status_code``, ``error.type``, ``http.request.resend_count``; never the URL's
  path or query, which may carry account ids or an access token).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from omnisdk.observability import tracing as tr
from omnisdk.outbound.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    OutboundError,
    status_error_class,
)

log = logging.getLogger("omnisdk.outbound")
_tracer = trace.get_tracer(tr.TRACER_NAME)  # the global provider's (a proxy until one is set)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable(exc: BaseException) -> bool:
    """The retry decision, kept apart from the retry delay: a connection error or timeout
    (:class:`APIConnectionError`), or a status error whose status is in
    :data:`RETRY_STATUSES`.  The outbox decides with it; a plugin whose transport is not HTTP
    (SMTP) maps its failures onto these errors and decides with it too."""
    if isinstance(exc, APIStatusError):
        return exc.status_code in RETRY_STATUSES
    return isinstance(exc, APIConnectionError)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a :class:`ProviderClient` retries.  Times in seconds.

    Attributes:
        max_attempts: attempts in all, the first included (1 = no retry).
        initial_backoff: first back-off; doubles each attempt, with full jitter.
        max_backoff: cap of the exponential back-off.
        max_retry_after: cap on a provider's ``Retry-After``; longer waits give up at once.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class ProviderClient:
    """An async HTTP client for one provider API (one per adapter, shared across sends).

    Args:
        provider: name used in errors and logs (``"whatsapp"``).
        base_url: the API root; request paths are relative to it.
        headers: default headers (e.g. ``Authorization``); never logged.
        auth: httpx auth (e.g. ``(account_sid, auth_token)`` for Basic).
        connect_timeout, read_timeout: seconds.
        retry: the :class:`RetryPolicy`.
        idempotency_header: header that carries the idempotency key.
        request_id_headers: response headers that carry the provider's request id.
        error_code: extracts the provider's error code from an error response's JSON body.
        transport: an httpx transport (tests); respx mocks work without one.
        sleep: the coroutine used to wait between attempts (tests inject a fake clock).
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        idempotency_header: str = "Idempotency-Key",
        request_id_headers: Sequence[str] = ("x-request-id",),
        error_code: Callable[[Any], str | None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.provider = provider
        self.retry = retry
        self.idempotency_header = idempotency_header
        self.request_id_headers = tuple(h.lower() for h in request_id_headers)
        self._error_code = error_code
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers=dict(headers or {}),
            auth=auth,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"ProviderClient(provider={self.provider!r}, base_url={str(self._http.base_url)!r})"

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send one request, retrying as the policy says; return the 2xx response.

        ``content`` is a raw body (bytes, sent unchanged on every attempt: an upload), instead
        of ``json`` or ``data``.

        Raises:
            APIStatusError: (a subclass by status) on a non-2xx final answer.
            APITimeoutError, APIConnectionError: when the provider could not be reached.
        """
        hdrs = dict(headers or {})
        if idempotency_key is not None:
            hdrs[self.idempotency_header] = idempotency_key  # same key on every attempt

        attempts = 0

        async def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            if not trace.get_current_span().is_recording():
                return await self._once(method, path, json=json, data=data, params=params, headers=hdrs,
                                        **({"content": content} if content is not None else {}))
            return await self._traced(attempts - 1, method, path, json=json, data=data, params=params, headers=hdrs,
                                      **({"content": content} if content is not None else {}))

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(is_retryable),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        return await retrying(attempt)

    async def _traced(self, resends: int, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = self._http.base_url
        attributes: dict[str, str | int] = {tr.HTTP_METHOD: method, tr.SERVER_ADDRESS: url.host,
                                            tr.URL_SCHEME: url.scheme, tr.PLUGIN: self.provider}
        if url.port is not None:
            attributes[tr.SERVER_PORT] = url.port
        if resends:
            attributes[tr.HTTP_RESEND_COUNT] = resends
        with _tracer.start_as_current_span(method, kind=SpanKind.CLIENT, attributes=attributes,
                                           record_exception=False, set_status_on_exception=False) as span:
            try:
                resp = await self._once(method, path, **kwargs)
            except APIStatusError as exc:
                span.set_attribute(tr.HTTP_STATUS, exc.status_code)
                span.set_attribute(tr.ERROR_TYPE, str(exc.status_code))
                span.set_status(Status(StatusCode.ERROR))
                raise
            except OutboundError as exc:
                span.set_attribute(tr.ERROR_TYPE, type(exc).__name__)
                span.set_status(Status(StatusCode.ERROR))
                raise
            span.set_attribute(tr.HTTP_STATUS, resp.status_code)
            return resp

    async def _once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = await self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise APITimeoutError(
                f"{self.provider}: {method} {path} timed out", provider=self.provider
            ) from None
        except httpx.TransportError as exc:
            raise APIConnectionError(
                f"{self.provider}: {method} {path} failed: {type(exc).__name__}",
                provider=self.provider,
            ) from None
        if resp.is_success:
            return resp
        raise self._status_error(method, path, resp)

    def request_id(self, resp: httpx.Response) -> str | None:
        """The provider's request id from a response's headers, if any."""
        for name in self.request_id_headers:
            value = resp.headers.get(name)
            if value:
                return value
        return None

    def _status_error(self, method: str, path: str, resp: httpx.Response) -> APIStatusError:
        code: str | None = None
        if self._error_code is not None:
            try:
                code = self._error_code(resp.json())
            except Exception:  # a non-JSON error body carries no code
                code = None
        cls = status_error_class(resp.status_code)
        rid = self.request_id(resp)
        msg = f"{self.provider}: {method} {path} answered {resp.status_code}"
        if code:
            msg += f" (provider code {code})"
        if rid:
            msg += f" [request id {rid}]"
        return cls(
            msg,
            provider=self.provider,
            status_code=resp.status_code,
            request_id=rid,
            error_code=code,
            retry_after=parse_retry_after(resp.headers.get("retry-after")),
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            if retry_after > self.retry.max_retry_after:
                raise exc  # waiting that long is worse than failing now
            return retry_after
        cap = min(self.retry.max_backoff, self.retry.initial_backoff * 2 ** (state.attempt_number - 1))
        return random.uniform(0, cap)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: attempt %d failed (%s), retrying",
            self.provider,
            state.attempt_number,
            type(exc).__name__ if exc else "?",
            extra={"provider_request_id": getattr(exc, "request_id", None)},
        )


__all__ = ["OutboundError", "ProviderClient", "RetryPolicy", "parse_retry_after"]
