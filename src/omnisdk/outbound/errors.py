"""Typed errors of outbound provider calls.

Every error carries the provider name and, where the provider sent one, its request id (for
support tickets).  Messages name the method and path, never headers or bodies that could hold
credentials.
"""

from __future__ import annotations

from typing import Any

from omnisdk.errors import OmniError


class OutboundError(OmniError):
    """Base of every error of a provider API call."""

    def __init__(self, message: str, *, provider: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.provider = provider
        self.request_id = request_id


class APIConnectionError(OutboundError):
    """The provider could not be reached (DNS, refused, reset).  Retried.

    Attributes:
        cause: the name of the transport failure (``ConnectError``, ``ReadTimeout`` …), if known.
    """

    def __init__(self, message: str, *, provider: str, request_id: str | None = None,
                 cause: str | None = None) -> None:
        super().__init__(message, provider=provider, request_id=request_id)
        self.cause = cause


class APITimeoutError(APIConnectionError):
    """Connect or read timeout.  Retried."""


class APIStatusError(OutboundError):
    """The provider answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status (also as ``status``).
        error_code: the provider's own error code, when the body carries one.
        retry_after: seconds from a ``Retry-After`` header, if any.
        reason: the ``error`` field of an ``{"error": reason, "detail": text}`` answer (the agent
            API's, :mod:`omnisdk.client`), if the body is one.
        detail: its ``detail`` (text; a list of problems for a 422), or the body's text.
    """

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int,
        request_id: str | None = None,
        error_code: str | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message, provider=provider, request_id=request_id)
        self.status_code = status_code
        self.error_code = error_code
        self.retry_after = retry_after
        self.reason = reason
        self.detail = detail

    @property
    def status(self) -> int:
        """The HTTP status (the same as ``status_code``)."""
        return self.status_code


class BadRequestError(APIStatusError):
    """400: the provider refused the request as malformed.  Not retried."""


class AuthenticationError(APIStatusError):
    """401: bad or expired credentials.  Not retried."""


class PermissionDeniedError(APIStatusError):
    """403.  Not retried."""


class NotFoundError(APIStatusError):
    """404.  Not retried."""


class ConflictError(APIStatusError):
    """409.  Not retried."""


class UnprocessableEntityError(APIStatusError):
    """422.  Not retried."""


class RequestTimeoutError(APIStatusError):
    """408 from the provider.  Retried."""


class RateLimitError(APIStatusError):
    """429: rate limited.  Retried after ``Retry-After``."""


class InternalServerError(APIStatusError):
    """5xx.  Retried when 500, 502, 503 or 504 (see ``RETRY_STATUSES``)."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The error class for an HTTP status (>= 500 → InternalServerError)."""
    if status >= 500:
        return InternalServerError
    return _BY_STATUS.get(status, APIStatusError)
