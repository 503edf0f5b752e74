"""The plugin's typed errors: the messaging window refused before any I/O, and Graph API
error bodies mapped onto the core's outbound errors (:mod:`omnisdk.outbound.errors`).

Graph API errors (https://developers.facebook.com/docs/graph-api/guides/error-handling;
https://developers.facebook.com/docs/messenger-platform/error-codes) come as
``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}`` and, for several
codes, with an HTTP status that does not say what happened (a rate limit answered 400).  The
core decides retries by ``status_code`` (:func:`omnisdk.outbound.is_retryable`), so a mapped
error's ``status_code`` is the status the failure *means*; ``http_status`` keeps what Graph
answered.

=========================  ======================================  =============  =========
Graph ``code`` / subcode   meaning                                 error          retried
=========================  ======================================  =============  =========
4, 17, 32, 613             rate limits (app, user, page, API)      GraphRateLimitError (429)  yes
1, 2                       unknown / temporary Graph failure       GraphUnavailableError (503)  yes
10 / 2018278               outside the allowed messaging window    GraphWindowError               no
551; 100 / 2018001         the person is not available / unknown   UserUnavailableError           no
190                        invalid or expired access token         GraphAuthenticationError (401) no
anything else              unchanged (the class of its HTTP status)
=========================  ======================================  =============  =========

Messages name the code and subcode, never the body, the token or Graph's message text.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from omnisdk.errors import StateError
from omnisdk.outbound.errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    RateLimitError,
)
from omnisdk.outbound.http import RETRY_STATUSES


class WindowClosedError(StateError, ValueError):
    """The send is outside every messaging window the account may use
    (:func:`omnisdk_messenger.window.messaging_type`); raised before any I/O.

    A :class:`~omnisdk.errors.StateError` (the conversation's state forbids it: HTTP 409 over
    the agent API) and a :class:`ValueError`, so the outbox fails the row at once instead of
    retrying a send that can never succeed.

    Attributes:
        elapsed: time since the person's last message (None: they never wrote).
        human_agent_tag: whether the account may use the HUMAN_AGENT tag.
    """

    def __init__(self, message: str, *, elapsed: timedelta | None, human_agent_tag: bool) -> None:
        super().__init__(message)
        self.elapsed = elapsed
        self.human_agent_tag = human_agent_tag


class GraphError:
    """Mixin of the mapped Graph errors: ``graph_code``, ``graph_subcode``, ``http_status``."""

    graph_code: int | None = None
    graph_subcode: int | None = None
    http_status: int = 0


class GraphRateLimitError(GraphError, RateLimitError):
    """A Graph rate limit (codes 4, 17, 32, 613): ``status_code`` 429, retried by the outbox."""


class GraphUnavailableError(GraphError, InternalServerError):
    """A temporary Graph failure (codes 1, 2): ``status_code`` 503, retried."""


class GraphWindowError(GraphError, BadRequestError):
    """Meta refused the message as outside the allowed window (code 10, subcode 2018278).
    Not retried: a later attempt is no closer to the window."""


class UserUnavailableError(GraphError, BadRequestError):
    """The person cannot be messaged (code 551, or 100/2018001 "no matching user").  Not
    retried."""


class GraphAuthenticationError(GraphError, AuthenticationError):
    """The Page access token is invalid or expired (code 190): ``status_code`` 401."""


RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
UNAVAILABLE_CODES = frozenset({1, 2})


def graph_codes(doc: Any) -> tuple[int | None, int | None]:
    """``(error.code, error.error_subcode)`` of a Graph error body (None where absent)."""
    err = doc.get("error") if type(doc) is dict else None
    if type(err) is not dict:
        return None, None
    code, sub = err.get("code"), err.get("error_subcode")
    return (code if type(code) is int else None), (sub if type(sub) is int else None)


def error_code(doc: Any) -> str | None:
    """The provider code the core's client records: ``"613"``, ``"10/2018278"``, or None."""
    code, sub = graph_codes(doc)
    if code is None:
        return None
    return f"{code}/{sub}" if sub is not None else str(code)


def _class_for(code: int | None, sub: int | None) -> tuple[type[APIStatusError] | None, int | None, str]:
    """The mapped class, the status it means (None: keep the HTTP status) and what it is."""
    if code in RATE_LIMIT_CODES:
        return GraphRateLimitError, 429, "rate limited"
    if code in UNAVAILABLE_CODES:
        return GraphUnavailableError, 503, "temporary Graph failure"
    if code == 10 and sub == 2018278:
        return GraphWindowError, None, "outside the allowed messaging window"
    if code == 551 or (code == 100 and sub == 2018001):
        return UserUnavailableError, None, "the person is not available"
    if code == 190:
        return GraphAuthenticationError, 401, "invalid or expired access token"
    return None, None, ""


def parse_code(text: str | None) -> tuple[int | None, int | None]:
    """``(code, subcode)`` back from :func:`error_code`'s text (what the core's client keeps
    of the error body as ``APIStatusError.error_code``)."""
    head, _, tail = (text or "").partition("/")
    if not head.isdigit() or (tail and not tail.isdigit()):
        return None, None
    return int(head), (int(tail) if tail else None)


def map_error(exc: APIStatusError) -> APIStatusError:
    """``exc`` (raised by the core's client for a non-2xx answer, its ``error_code`` made by
    :func:`error_code`) as the mapped Graph error; ``exc`` itself when the code is not one of
    the table's."""
    code, sub = parse_code(exc.error_code)
    cls, meant, label = _class_for(code, sub)
    if cls is None:
        return exc
    status = meant if meant is not None else (exc.status_code if exc.status_code not in RETRY_STATUSES else 400)
    mapped = cls(f"{exc}: {label}", provider=exc.provider, status_code=status, request_id=exc.request_id,
                 error_code=exc.error_code, retry_after=exc.retry_after)
    mapped.graph_code, mapped.graph_subcode, mapped.http_status = code, sub, exc.status_code  # type: ignore[attr-defined]
    return mapped


__all__ = [
    "GraphAuthenticationError", "GraphError", "GraphRateLimitError", "GraphUnavailableError",
    "GraphWindowError", "UserUnavailableError", "WindowClosedError", "error_code", "graph_codes",
    "map_error", "parse_code",
]
