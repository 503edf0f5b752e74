"""How SQLite's own errors reach a caller of the store: as a chained
:class:`~omnisdk.store.errors.StoreError` (``sqlite3`` errors never leave this package).

Each transaction method turns a driver error into a StoreError in an ``except`` clause, which
costs nothing until an error happens.
"""

from __future__ import annotations

import sqlite3

from omnisdk.store.errors import StoreError


def failed(exc: sqlite3.Error) -> StoreError:
    """The store's error for a driver error (chain it: ``raise failed(exc) from exc``)."""
    return StoreError(f"SQLite store failed: {type(exc).__name__}: {exc}")


def translated(exc: BaseException) -> BaseException:
    """What a caller of the store sees: a driver error becomes a chained StoreError; any other
    exception is returned unchanged."""
    if isinstance(exc, sqlite3.Error):
        error = failed(exc)
        error.__cause__ = exc
        return error
    return exc
