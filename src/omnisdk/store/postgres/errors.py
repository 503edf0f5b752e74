"""How PostgreSQL's errors reach a caller of the store: as a chained
:class:`~omnisdk.store.errors.StoreError` (``psycopg`` errors never leave this package).

The message names the error class, its SQLSTATE and PostgreSQL's primary message only: never
the ``DETAIL`` line, which may quote row values (``Key (source, id)=(…) already exists``).

A value PostgreSQL cannot hold (a NUL character in a text column, a number out of its range:
``psycopg.DataError``) is bad data, not a failing store: it becomes :class:`UnstorableValue`, a
``ValueError``, so that the inbox processor marks that one event failed instead of retrying its
batch for ever (SQLite stores such values; the inbox's own columns are made storable instead:
:mod:`omnisdk.store.postgres.inbox`).
"""

from __future__ import annotations

import psycopg

from omnisdk.store.errors import StoreError


def describe(exc: psycopg.Error) -> str:
    """``Class (SQLSTATE): primary message`` of a driver error, without row data."""
    primary = exc.diag.message_primary if exc.sqlstate else None
    text = primary or (str(exc).splitlines() or [""])[0]
    state = f" ({exc.sqlstate})" if exc.sqlstate else ""
    return f"{type(exc).__name__}{state}: {text}"


class UnstorableValue(ValueError):
    """A value PostgreSQL cannot store (NUL in text, a number out of range): the item is bad,
    the store is fine.  The message says which kind of value, never the value."""


def failed(exc: psycopg.Error) -> StoreError | UnstorableValue:
    """The store's error for a driver error (chain it: ``raise failed(exc) from exc``):
    :class:`UnstorableValue` for bad data, else StoreError."""
    if isinstance(exc, psycopg.DataError):
        return UnstorableValue(f"PostgreSQL cannot store a value: {describe(exc)}")
    return StoreError(f"PostgreSQL store failed: {describe(exc)}")


def translated(exc: BaseException) -> BaseException:
    """What a caller of the store sees: a driver error becomes a chained StoreError; any other
    exception is returned unchanged."""
    if isinstance(exc, psycopg.Error):
        error = failed(exc)
        error.__cause__ = exc
        return error
    return exc


__all__ = ["UnstorableValue", "describe", "failed", "translated"]
