"""Durable storage behind one interface: :class:`~omnisdk.store.base.Store`.

- :mod:`~omnisdk.store.protocols`: the domain operations, one protocol per concern;
  :class:`Transaction` is their union.
- :mod:`~omnisdk.store.rows`: the typed rows they return; :mod:`~omnisdk.store.queries`: list
  filters and page bounds.
- :mod:`~omnisdk.store.registry`: :func:`open_store` by URL scheme (entry-point group
  ``omnisdk.stores`` for third-party stores).
- :mod:`~omnisdk.store.errors`: :class:`StoreError` (the store failed) and
  :class:`IdempotencyConflict`.

The embedded default is :class:`~omnisdk.store.sqlite.SQLiteStore` (WAL, group commit; its
schema is versioned, :mod:`~omnisdk.store.sqlite.migrations`), registered for ``sqlite://``.
:class:`~omnisdk.store.postgres.store.PostgresStore` (psycopg 3, a pool; the ``postgres`` extra)
is registered for ``postgresql://`` and ``postgres://``, with the same promises and schema
versions (:mod:`omnisdk.store.postgres`).
"""

from omnisdk.store import postgres as _postgres  # noqa: F401  (registers postgresql://; psycopg loads on use)
from omnisdk.store import sqlite as _sqlite  # noqa: F401  (registers the sqlite:// scheme)
from omnisdk.store.base import Store
from omnisdk.store.errors import IdempotencyConflict, StoreError, StoreNotFound
from omnisdk.store.protocols import Transaction
from omnisdk.store.queries import DEFAULT_LIMIT, MAX_LIMIT, InteractionQuery
from omnisdk.store.registry import ENTRY_POINT_GROUP, open_store, register_store
from omnisdk.store.rows import (
    EmailLink,
    HistoryRow,
    InboxItem,
    InboxResult,
    LastServed,
    MessageRow,
    OutboxRow,
    Page,
    TimerRow,
)

__all__ = [
    "DEFAULT_LIMIT", "ENTRY_POINT_GROUP", "MAX_LIMIT", "EmailLink", "HistoryRow", "IdempotencyConflict",
    "InboxItem", "InboxResult", "InteractionQuery", "LastServed", "MessageRow", "OutboxRow", "Page", "Store",
    "StoreError", "StoreNotFound", "TimerRow", "Transaction", "open_store", "register_store",
]
