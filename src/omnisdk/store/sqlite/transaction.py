"""``SQLiteTransaction``: :class:`omnisdk.store.protocols.Transaction` over one sqlite3
connection, composed of one class per store concern (the protocols of
:mod:`omnisdk.store.protocols`), each in its own module of this package."""

from __future__ import annotations

from omnisdk.store.sqlite.access import SQLiteAccess
from omnisdk.store.sqlite.bus_outbox import SQLiteBusOutbox
from omnisdk.store.sqlite.cases import SQLiteCases
from omnisdk.store.sqlite.contacts import SQLiteContacts
from omnisdk.store.sqlite.counters import SQLiteCounters
from omnisdk.store.sqlite.directory import SQLiteDirectory
from omnisdk.store.sqlite.email_index import SQLiteEmailIndex
from omnisdk.store.sqlite.feed import SQLiteFeed
from omnisdk.store.sqlite.inbox import SQLiteInbox
from omnisdk.store.sqlite.interactions import SQLiteInteractions
from omnisdk.store.sqlite.messages import SQLiteMessages
from omnisdk.store.sqlite.outbox import SQLiteOutbox
from omnisdk.store.sqlite.profiles import SQLiteProfiles
from omnisdk.store.sqlite.timers import SQLiteTimers
from omnisdk.store.sqlite.webhooks import SQLiteWebhooks


class SQLiteTransaction(SQLiteInbox, SQLiteInteractions, SQLiteMessages, SQLiteContacts, SQLiteProfiles, SQLiteTimers,
                        SQLiteOutbox, SQLiteCases, SQLiteCounters, SQLiteDirectory, SQLiteEmailIndex,
                        SQLiteAccess, SQLiteFeed, SQLiteWebhooks, SQLiteBusOutbox):
    """:class:`omnisdk.store.Transaction` over one sqlite3 connection (writer thread only).

    Args:
        conn: the connection (``isolation_level=None``; the store opens the transaction).
        split: the inbox is a separate file attached as ``inbox_db``.
    """


__all__ = ["SQLiteTransaction"]
