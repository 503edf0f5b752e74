"""How PostgreSQL's errors reach a caller of the store: as a chained
:class:`~omnisdk.store.errors.StoreError` (``psycopg`` errors never leave this package).

The message names the error class, its SQLSTATE and PostgreSQL's primary message only: never
the ``DETAIL`` line, which may quote row values (``Key (source, id)=(…) already exists``).
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


def failed(exc: psycopg.Error) -> StoreError:
    """The store's error for a driver error (chain it: ``raise failed(exc) from exc``)."""
    return StoreError(f"PostgreSQL store failed: {describe(exc)}")


def translated(exc: BaseException) -> BaseException:
    """What a caller of the store sees: a driver error becomes a chained StoreError; any other
    exception is returned unchanged."""
    if isinstance(exc, psycopg.Error):
        error = failed(exc)
        error.__cause__ = exc
        return error
    return exc


__all__ = ["describe", "failed", "translated"]
