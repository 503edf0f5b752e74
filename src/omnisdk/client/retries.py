"""When :mod:`omnisdk.client` sends a call again, and after how long.

The *decision* (:func:`should_retry`) and the *delay* (:func:`retry_delay`) are apart, as in
:mod:`omnisdk.outbound.http`; :func:`retrying` puts them into tenacity's loop.

- Only a call that may be sent twice is retried: a ``GET``, or a call carrying an
  ``Idempotency-Key`` (``reply``).  Every other state change (accept, transfer, close …) is sent
  once: a lost answer is the caller's to check, never a second transfer.
- Only a connection error or timeout, a 429 or a 5xx is retried; every other 4xx is final.
- A 429 or 503 with ``Retry-After`` waits that long (a longer wait than
  ``RetryPolicy.max_retry_after`` fails at once); otherwise exponential back-off with full jitter.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from omnisdk.outbound.errors import APIConnectionError, APIStatusError
from omnisdk.outbound.http import RetryPolicy

DEFAULT_RETRY = RetryPolicy(max_attempts=3, initial_backoff=0.5, max_backoff=8.0, max_retry_after=60.0)
"""Three attempts in all; Retry-After honoured up to 60 s."""


def is_transient(exc: BaseException) -> bool:
    """A failure that may pass: no answer (:class:`APIConnectionError`, timeouts included),
    429, or a 5xx."""
    if isinstance(exc, APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, APIConnectionError)


def should_retry(exc: BaseException, *, resendable: bool, policy: RetryPolicy) -> bool:
    """The decision: retry ``exc`` of a call that may (``resendable``) be sent again, if it is
    transient and any ``Retry-After`` it carries is within ``policy.max_retry_after``."""
    if not resendable or not is_transient(exc):
        return False
    retry_after = getattr(exc, "retry_after", None)
    return retry_after is None or retry_after <= policy.max_retry_after


def retry_delay(exc: BaseException | None, attempt: int, policy: RetryPolicy,
                jitter: Callable[[float, float], float] = random.uniform) -> float:
    """The delay, in seconds, before attempt ``attempt + 1``: the answer's ``Retry-After`` if it
    has one, else full-jitter exponential back-off (``initial_backoff · 2^(attempt-1)``, capped
    at ``max_backoff``)."""
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        return float(retry_after)
    return jitter(0.0, min(policy.max_backoff, policy.initial_backoff * 2 ** (attempt - 1)))


def _args(policy: RetryPolicy, resendable: bool, before_sleep: Callable[[RetryCallState], None]) -> dict[str, Any]:
    def wait(state: RetryCallState) -> float:
        return retry_delay(state.outcome.exception() if state.outcome else None, state.attempt_number, policy)

    return {
        "stop": stop_after_attempt(max(1, policy.max_attempts)),
        "retry": retry_if_exception(lambda exc: should_retry(exc, resendable=resendable, policy=policy)),
        "wait": wait,
        "before_sleep": before_sleep,
        "reraise": True,
    }


def retrying(policy: RetryPolicy, *, resendable: bool, sleep: Callable[[float], None],
             before_sleep: Callable[[RetryCallState], None]) -> Retrying:
    """tenacity's sync loop for one call."""
    return Retrying(sleep=sleep, **_args(policy, resendable, before_sleep))


def async_retrying(policy: RetryPolicy, *, resendable: bool, sleep: Callable[[float], Awaitable[None]],
                   before_sleep: Callable[[RetryCallState], None]) -> AsyncRetrying:
    """tenacity's async loop for one call."""
    return AsyncRetrying(sleep=sleep, **_args(policy, resendable, before_sleep))


__all__ = ["DEFAULT_RETRY", "RetryPolicy", "async_retrying", "is_transient", "retry_delay", "retrying",
           "should_retry"]
