"""The PostgreSQL store (psycopg 3 with a connection pool): ``[store] url = "postgresql://…"``.

It implements every protocol of :mod:`omnisdk.store.protocols` with the SQLite store's promises
and threading model (one writer thread, group commit, a savepoint per job), and passes the same
contract suite (``tests/store/store_contract.py``).  Modules:

- :mod:`~omnisdk.store.postgres.factory`: ``open_postgres``, the ``postgresql://`` factory (it
  imports psycopg only when a store is opened: ``pip install 'omnisdk[postgres]'``);
- :mod:`~omnisdk.store.postgres.store`: ``PostgresStore``, the pool, the writer thread;
- :mod:`~omnisdk.store.postgres.transaction`: ``PostgresTransaction``, one class per concern as
  in SQLite: ``atomic``, ``inbox``, ``interactions``, ``messages``, ``contacts``, ``timers``,
  ``outbox``, ``cases``, ``counters``, ``directory``, ``email_index``, ``access``, ``feed``,
  ``webhooks``;
- :mod:`~omnisdk.store.postgres.migrations`: the versions, numbered as SQLite's (the rule for
  adding one is there);
- :mod:`~omnisdk.store.postgres.errors`: driver errors as ``StoreError``.

Importing this package does not import psycopg (only :mod:`.factory` is loaded).
"""

from __future__ import annotations

from omnisdk.store.postgres.factory import SCHEMES, open_postgres
from omnisdk.store.registry import register_store

for _scheme in SCHEMES:
    register_store(_scheme, open_postgres)

__all__ = ["open_postgres"]
