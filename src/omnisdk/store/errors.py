"""The store's own errors.

:class:`StoreError` means the store failed (disk, lock, corrupt file): the work is retried, it
says nothing about the item being processed.  Illegal moves the store refuses (two active
interactions for one conversation) stay :class:`~omnisdk.errors.StateError`.
"""

from __future__ import annotations

from omnisdk.errors import OmniError, StateError


class StoreError(OmniError):
    """The store could not do what was asked (I/O, locking, a damaged or foreign file).  The
    driver's own exception is chained as ``__cause__``; the message never holds row data."""


class StoreNotFound(StoreError):
    """There is no store at the configured location, and the operation does not create one
    (:meth:`~omnisdk.store.base.Store.read`: the CLI's inspection commands)."""


class IdempotencyConflict(StateError):
    """An idempotency key was used again, in the same scope, for a different request (the
    agent API answers 409 ``idempotency_conflict``, as Stripe does)."""


__all__ = ["IdempotencyConflict", "StoreError", "StoreNotFound"]
