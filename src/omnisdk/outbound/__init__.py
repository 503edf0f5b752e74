"""Outbound: the base provider HTTP client, its typed errors, and the outbox worker.

Putting a message in the outbox is :func:`omnisdk.outbound.enqueue.enqueue_text` (imported from
its module: it works inside the core's store transactions, which plugins importing the HTTP
client from here do not need).
"""

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
from omnisdk.outbound.http import ProviderClient, RetryPolicy, is_retryable, parse_retry_after

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
    "is_retryable",
    "parse_retry_after",
]
