"""The ids of what is being handled now, for every log record emitted meanwhile.

One :class:`~contextvars.ContextVar` holds a small dict (``request_id``, ``plugin``, ``account``,
``interaction_id``, ``event_id``, ``trace_id``: whichever are known).  :func:`bind` sets a new
dict, the old one's fields plus the given ones, and returns a token for :func:`unbind`; one set
and one reset per request (:func:`bind_fields`: about 0.3 µs), no allocation beyond the dict.  The log handler's
:class:`~omnisdk.observability.logs.ContextFilter` copies the fields onto each record.

Asyncio tasks copy the context they are created in, so a field bound in a request's task is
seen by every record of that request; a thread (the store's writer) has a context of its own,
where the processor binds the event it applies.
"""

from __future__ import annotations

import itertools
import random
import re
from contextvars import ContextVar, Token
from typing import Any

FIELDS = ("request_id", "plugin", "account", "interaction_id", "event_id", "trace_id")
"""The context fields a log record may carry, in the order a JSON line shows them."""

_EMPTY: dict[str, Any] = {}
_current: ContextVar[dict[str, Any]] = ContextVar("omnisdk_log_context", default=_EMPTY)

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:=+/@-]{0,127}")
"""A request id taken from a client: 1-128 characters, letters, digits and ``._:=+/@-``
(UUIDs, hex, ``Root=1-…`` style ids); anything else (spaces, quotes, control characters, a
longer one) is replaced by a new id, so a caller cannot write into the log lines."""


def bind(**fields: Any) -> Token[dict[str, Any]]:
    """Add ``fields`` (None values are left out) to the current context; returns the token
    for :func:`unbind`."""
    merged = {**_current.get(), **{k: v for k, v in fields.items() if v is not None}}
    return _current.set(merged)


def bind_fields(fields: dict[str, Any]) -> Token[dict[str, Any]]:
    """:func:`bind` for a hot path: ``fields`` is a fresh dict without None values, taken over
    (not copied) when nothing is bound yet (about 0.3 µs with the reset, :func:`bind` 2 µs)."""
    outer = _current.get()
    return _current.set({**outer, **fields} if outer else fields)


def unbind(token: Token[dict[str, Any]]) -> None:
    """Restore the context :func:`bind` replaced."""
    _current.reset(token)


def add(**fields: Any) -> None:
    """Add those of ``fields`` not bound yet to the innermost :func:`bind` in force (its own
    dict, so they go when it is unbound); nothing outside any bind."""
    bound = _current.get()
    if bound is not _EMPTY:
        for key, value in fields.items():
            if value is not None and key not in bound:
                bound[key] = value


def current() -> dict[str, Any]:
    """The fields bound now (do not change the dict)."""
    return _current.get()


_PREFIX = f"{random.SystemRandom().getrandbits(64):016x}"
_serial = itertools.count(1)


def new_request_id() -> str:
    """A fresh request id: 32 hex digits, 64 random bits chosen once per process then a 64-bit
    counter, so ids never repeat within a process and do not collide across processes.  Not a
    secret (it is echoed and logged); about 0.2 µs (:func:`uuid.uuid4`: 2.7 µs)."""
    return f"{_PREFIX}{next(_serial):016x}"


def request_id_from(value: str | None) -> str:
    """``value`` if it is a valid request id (:data:`_VALID_REQUEST_ID`), else a new one."""
    if value and _VALID_REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


__all__ = ["FIELDS", "REQUEST_ID_HEADER", "add", "bind", "bind_fields", "current", "new_request_id", "request_id_from", "unbind"]
