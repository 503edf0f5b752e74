"""``PostgresTransaction``: :class:`omnisdk.store.protocols.Transaction` over one psycopg
connection, composed of one class per store concern, each in its own module of this package
(the same split as :mod:`omnisdk.store.sqlite`)."""

from __future__ import annotations

from omnisdk.store.postgres.access import PostgresAccess
from omnisdk.store.postgres.bus_outbox import PostgresBusOutbox
from omnisdk.store.postgres.cases import PostgresCases
from omnisdk.store.postgres.contacts import PostgresContacts
from omnisdk.store.postgres.counters import PostgresCounters
from omnisdk.store.postgres.directory import PostgresDirectory
from omnisdk.store.postgres.email_index import PostgresEmailIndex
from omnisdk.store.postgres.feed import PostgresFeed
from omnisdk.store.postgres.inbox import PostgresInbox
from omnisdk.store.postgres.interactions import PostgresInteractions
from omnisdk.store.postgres.messages import PostgresMessages
from omnisdk.store.postgres.outbox import PostgresOutbox
from omnisdk.store.postgres.profiles import PostgresProfiles
from omnisdk.store.postgres.timers import PostgresTimers
from omnisdk.store.postgres.webhooks import PostgresWebhooks


class PostgresTransaction(PostgresInbox, PostgresInteractions, PostgresMessages, PostgresContacts, PostgresTimers,
                          PostgresOutbox, PostgresCases, PostgresCounters, PostgresDirectory, PostgresEmailIndex,
                          PostgresAccess, PostgresFeed, PostgresWebhooks, PostgresProfiles, PostgresBusOutbox):
    """:class:`omnisdk.store.Transaction` over one psycopg connection (writer thread only).

    Args:
        conn: the connection, in autocommit mode (the store sends ``BEGIN`` and ``COMMIT``).
    """


__all__ = ["PostgresTransaction"]
