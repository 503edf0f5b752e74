"""The errors of :mod:`omnisdk.client`: the agent API's answers mapped onto the typed hierarchy
of :mod:`omnisdk.outbound.errors` (the one provider calls raise, after the openai/anthropic SDKs).

An error answer ``{"error": reason, "detail": text}`` with status ``s`` raises the class of
``s`` (:func:`omnisdk.outbound.errors.status_error_class`) with ``status``, ``reason`` and
``detail`` set; ``retry_after`` (seconds) comes from ``Retry-After``.  Messages name the method,
the path and the server's answer, never a header: the credentials stay out of every error.

==========  ================================  ==================================================
status      class                             reasons the API gives
==========  ================================  ==================================================
400         :class:`BadRequestError`          ``bad_request``, ``malformed_payload``
401         :class:`AuthenticationError`      ``unauthorized``
403         :class:`PermissionDeniedError`    ``forbidden``
404         :class:`NotFoundError`            ``not_found``
409         :class:`ConflictError`            ``conflict``, ``no_capacity``, ``idempotency_conflict``
422         :class:`UnprocessableEntityError` ``validation_error`` (``detail`` is a list)
429         :class:`RateLimitError`           ``rate_limited`` (``retry_after``)
5xx         :class:`InternalServerError`      ``internal_error``, ``auth_unavailable`` (503)
other       :class:`APIStatusError`           ``payload_too_large`` (413), ``unsupported_media_type``
                                              (415), ``misdirected_request`` (421) …
==========  ================================  ==================================================
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from omnisdk.outbound.errors import (
    APIConnectionError,
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
    status_error_class,
)
from omnisdk.outbound.http import parse_retry_after

PROVIDER = "omnisdk-api"
"""The ``provider`` of every error the client raises (the hierarchy's field for whom was called)."""


class APIResponseValidationError(OutboundError):
    """A 2xx answer whose body is not what the API's schema says (another server version, a
    proxy's page …).  Not retried.

    Attributes:
        status: the HTTP status answered.
    """

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, provider=PROVIDER)
        self.status = status


def status_error(method: str, path: str, response: httpx.Response) -> APIStatusError:
    """The typed error of a non-2xx ``response`` (its body read) to ``method path``."""
    reason, detail = _reason_and_detail(response)
    status = response.status_code
    message = f"{method} {path} answered {status}" + (f" {reason}" if reason else "")
    if detail:
        message += f": {detail}"
    return status_error_class(status)(
        message,
        provider=PROVIDER,
        status_code=status,
        request_id=response.headers.get("x-request-id"),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        reason=reason,
        detail=detail,
    )


def transport_error(method: str, path: str, exc: httpx.TransportError) -> APIConnectionError:
    """The typed error of a request that got no answer (the httpx failure's name only: its
    message and request are left behind, so nothing of the headers travels on)."""
    cause = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{method} {path} timed out ({cause})", provider=PROVIDER, cause=cause)
    return APIConnectionError(f"{method} {path} failed: {cause}", provider=PROVIDER, cause=cause)


def _reason_and_detail(response: httpx.Response) -> tuple[str | None, Any]:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None, response.text
    if isinstance(body, dict) and ("error" in body or "detail" in body):
        reason = body.get("error")
        return (reason if isinstance(reason, str) else None), body.get("detail", response.text)
    return None, response.text


__all__ = [
    "APIConnectionError", "APIResponseValidationError", "APIStatusError", "APITimeoutError",
    "AuthenticationError", "BadRequestError", "ConflictError", "InternalServerError", "NotFoundError",
    "OutboundError", "PermissionDeniedError", "RateLimitError", "UnprocessableEntityError",
    "status_error", "transport_error",
]
