"""The embedded store: SQLite (WAL), group commit on one writer thread.

Modules (importing the package registers the ``sqlite`` URL scheme):

- :mod:`~omnisdk.store.sqlite.store`: ``SQLiteStore``, the writer thread and group commit;
- :mod:`~omnisdk.store.sqlite.transaction`: ``SQLiteTransaction``, composed of one class per
  store concern: ``atomic`` (savepoints), ``inbox``, ``interactions``, ``messages``,
  ``contacts``, ``timers``, ``outbox``, ``cases``, ``counters``, ``directory`` (agents and
  queues), ``email_index`` (Message-ID to interaction);
- :mod:`~omnisdk.store.sqlite.schema` and :mod:`~omnisdk.store.sqlite.migrations`: the tables
  and their numbered versions;
- :mod:`~omnisdk.store.sqlite.errors`: driver errors as ``StoreError``;
- :mod:`~omnisdk.store.sqlite.factory`: ``open_sqlite``, the ``sqlite://`` factory.
"""

from __future__ import annotations

from omnisdk.store.idempotency import outbox_scope  # re-exported: older imports keep working
from omnisdk.store.sqlite.factory import open_sqlite
from omnisdk.store.sqlite.store import SQLiteStore
from omnisdk.store.sqlite.transaction import SQLiteTransaction

__all__ = ["SQLiteStore", "SQLiteTransaction", "open_sqlite", "outbox_scope"]
