"""Durable storage behind one interface: :class:`~omnisdk.store.base.Store`.

The embedded default is :class:`~omnisdk.store.sqlite.SQLiteStore` (WAL, group commit).
"""

from omnisdk.store.base import InboxResult, Store, Transaction, open_store

__all__ = ["InboxResult", "Store", "Transaction", "open_store"]
