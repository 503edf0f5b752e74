"""The leader lease of a store: :func:`lease_for`."""

from __future__ import annotations

from typing import Any

from omnisdk.leadership.lease import LeaderLease, LocalLease


def lease_for(store: Any) -> LeaderLease:
    """The lease of ``store``'s routing domain: a PostgreSQL store (one with ``conninfo``, the
    server, and ``schema``, the domain) gets a
    :class:`~omnisdk.leadership.postgres_lease.PostgresLease` on its server; any other store is
    one process's (SQLite: one process per file) and gets the always-held
    :class:`~omnisdk.leadership.lease.LocalLease`."""
    conninfo = getattr(store, "conninfo", None)
    if not isinstance(conninfo, str):
        return LocalLease(str(getattr(store, "location", "local")))
    # psycopg is imported for a PostgreSQL store only
    from omnisdk.leadership.postgres_lease import PostgresLease

    return PostgresLease(conninfo, getattr(store, "schema", None))
