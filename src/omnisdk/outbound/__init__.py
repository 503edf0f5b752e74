"""Outbound: the base provider HTTP client, its typed errors, and the outbox worker."""

from omnisdk.outbound.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    OutboundError,
    RateLimitError,
)
from omnisdk.outbound.http import ProviderClient, RetryPolicy, parse_retry_after

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "InternalServerError",
    "OutboundError",
    "ProviderClient",
    "RateLimitError",
    "RetryPolicy",
    "parse_retry_after",
]
