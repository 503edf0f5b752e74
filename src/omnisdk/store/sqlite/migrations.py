"""The SQLite schema's versions: a numbered list of migrations, recorded in ``PRAGMA
user_version``.

Version 1 is the schema of the releases before versioning (:data:`~omnisdk.store.sqlite.schema.SCHEMA`,
whose ``CREATE … IF NOT EXISTS`` also completes any older file).  Each later version is one
migration, applied in order inside one ``BEGIN IMMEDIATE`` transaction with the version bump,
so a crash leaves the file at the old version or the new one, never between; two processes
opening one file at once migrate it once (the second finds the version already bumped).  A
new database runs the same steps as an old one.  A file whose version is newer than this
release's is refused (:class:`~omnisdk.store.errors.StoreError`): an old release must not
write a schema it does not know.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from omnisdk.store.errors import StoreError
from omnisdk.store.sqlite.schema import SCHEMA


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``apply(conn)`` runs inside the migration's transaction."""

    version: int
    name: str
    apply: Callable[[sqlite3.Connection], None]


def _baseline(conn: sqlite3.Connection) -> None:
    for statement in _statements(SCHEMA):
        conn.execute(statement)
    columns = {r[1] for r in conn.execute("PRAGMA main.table_info(inbox)")}
    if "processed" in columns:  # a file made before the inbox had a cursor
        conn.execute(
            "INSERT OR IGNORE INTO inbox_cursor (name, seq)"
            " SELECT 'processor', COALESCE(MAX(seq), 0) FROM main.inbox WHERE processed = 1")


def _conversation_keys_with_account(conn: sqlite3.Connection) -> None:
    # "{channel}:{business}:{customer}" -> "{provider}/{account}:{channel}:{business}:{customer}";
    # the provider and account are the interaction's source "/{provider}/{account}".  Prefixing
    # keeps keys distinct (channel names hold no "/"), so the one-active index holds throughout.
    conn.execute(
        "UPDATE interactions SET conversation_key = substr(json_extract(doc, '$.source'), 2) || ':' || conversation_key"
        " WHERE substr(conversation_key, 1, length(json_extract(doc, '$.source'))) !="
        " substr(json_extract(doc, '$.source'), 2) || ':'")
    conn.execute(
        "UPDATE interactions SET doc = json_set(doc, '$.conversation_key', conversation_key)"
        " WHERE json_extract(doc, '$.conversation_key') != conversation_key")


def _outbox_scoped_keys(conn: sqlite3.Connection) -> None:
    # idempotency keys were unique across the store; now within a scope (the interaction and the
    # caller).  send_key is what the provider is given: the key itself for rows made before.
    conn.execute(
        "CREATE TABLE outbox_scoped ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " idempotency_key TEXT NOT NULL,"
        " scope TEXT NOT NULL DEFAULT '',"
        " send_key TEXT NOT NULL UNIQUE,"
        " fingerprint TEXT,"
        " plugin TEXT NOT NULL,"
        " account TEXT NOT NULL,"
        " interaction_id TEXT,"
        " payload TEXT NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_attempt_at REAL NOT NULL,"
        " provider_message_id TEXT,"
        " error TEXT)")
    conn.execute(
        "INSERT INTO outbox_scoped (id, idempotency_key, scope, send_key, fingerprint, plugin, account,"
        " interaction_id, payload, state, attempts, next_attempt_at, provider_message_id, error)"
        " SELECT id, idempotency_key, COALESCE(interaction_id, ''), idempotency_key, NULL, plugin, account,"
        " interaction_id, payload, state, attempts, next_attempt_at, provider_message_id, error FROM outbox")
    conn.execute("DROP TABLE outbox")
    conn.execute("ALTER TABLE outbox_scoped RENAME TO outbox")
    conn.execute("CREATE UNIQUE INDEX outbox_scoped_key ON outbox (scope, idempotency_key)")
    conn.execute("CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending'")


def _interaction_list_columns(conn: sqlite3.Connection) -> None:
    # lists filter and page in SQL, newest (highest id: ids sort by creation time) first.  Each
    # index costs every save of an interaction, so only the filters that are selective alone
    # get one: state (queued and offered work on a busy day), the holding agent (only held
    # interactions have one) and the update time (polling for changes); queue and channel are
    # evaluated on the rows these indexes or the id order yield.
    conn.execute("ALTER TABLE interactions ADD COLUMN queue TEXT")
    conn.execute("ALTER TABLE interactions ADD COLUMN updated_ts REAL")
    conn.execute(
        "UPDATE interactions SET queue = json_extract(doc, '$.queue'),"
        " updated_ts = (julianday(json_extract(doc, '$.updated_at')) - 2440587.5) * 86400.0")
    for statement in (
        "CREATE INDEX interactions_by_state ON interactions (state, id)",
        "CREATE INDEX interactions_by_agent ON interactions (agent, id) WHERE agent IS NOT NULL",
        "CREATE INDEX interactions_by_update ON interactions (updated_ts)",
    ):
        conn.execute(statement)


def _email_message_ids(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE email_message_ids ("
        " message_id TEXT PRIMARY KEY,"
        " interaction_id TEXT NOT NULL,"
        " conversation_key TEXT NOT NULL,"
        " direction TEXT NOT NULL) WITHOUT ROWID")
    conn.execute("CREATE INDEX email_message_ids_by_interaction ON email_message_ids (interaction_id)")


def _email_ids_per_account(conn: sqlite3.Connection) -> None:
    # A Message-ID is unique per mail, not per account: one mail sent to two accounts' addresses
    # reaches both, and each must thread it into its own interaction (an account acts only for
    # its own addresses), so the key is (source, message_id).  Rows of version 5 take the
    # source of their interaction.
    conn.execute(
        "CREATE TABLE email_thread_ids ("
        " source TEXT NOT NULL,"
        " message_id TEXT NOT NULL,"
        " interaction_id TEXT NOT NULL,"
        " conversation_key TEXT NOT NULL,"
        " direction TEXT NOT NULL,"
        " PRIMARY KEY (source, message_id)) WITHOUT ROWID")
    conn.execute(
        "INSERT OR IGNORE INTO email_thread_ids (source, message_id, interaction_id, conversation_key, direction)"
        " SELECT json_extract(i.doc, '$.source'), e.message_id, e.interaction_id, e.conversation_key, e.direction"
        " FROM email_message_ids e JOIN interactions i ON i.id = e.interaction_id")
    conn.execute("DROP TABLE email_message_ids")
    conn.execute("CREATE INDEX email_thread_ids_by_interaction ON email_thread_ids (interaction_id)")


def _interaction_customer_columns(conn: sqlite3.Connection) -> None:
    # email threading reads one contact's open interactions for every new mail: an index on
    # (customer, channel) over the open rows keeps that a lookup, not a scan of the open ones
    conn.execute("ALTER TABLE interactions ADD COLUMN customer TEXT")
    conn.execute("ALTER TABLE interactions ADD COLUMN source TEXT")
    conn.execute("UPDATE interactions SET customer = json_extract(doc, '$.customer'),"
                 " source = json_extract(doc, '$.source')")
    conn.execute("CREATE INDEX interactions_open_by_customer ON interactions (customer, channel)"
                 " WHERE state != 'closed'")


def _consent(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE consent ("
        " channel TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " opted_out INTEGER NOT NULL,"
        " changed_at TEXT NOT NULL,"
        " PRIMARY KEY (channel, value)) WITHOUT ROWID")


def _access(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE api_keys ("
        " id TEXT PRIMARY KEY,"
        " name TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " scopes TEXT NOT NULL,"  # JSON list
        " secret_hash TEXT NOT NULL,"  # argon2id; the key itself is never stored
        " agent TEXT,"
        " queues TEXT,"  # JSON list, NULL for every queue
        " created_at TEXT NOT NULL,"
        " revoked_at TEXT)")
    conn.execute(
        "CREATE TABLE audit_log ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " at TEXT NOT NULL,"
        " subject TEXT NOT NULL,"
        " role TEXT,"
        " method TEXT NOT NULL,"
        " path TEXT NOT NULL,"
        " status INTEGER NOT NULL,"
        " remote TEXT)")


def _outgoing_webhooks(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE webhook_subscriptions ("
        " id TEXT PRIMARY KEY,"
        " url TEXT NOT NULL,"
        " event_types TEXT NOT NULL,"  # JSON list
        " secret TEXT NOT NULL,"  # whsec_…: it signs, so it is kept (the store is the trust boundary)
        " created_at TEXT NOT NULL,"
        " description TEXT,"
        " state TEXT NOT NULL,"
        " disabled_reason TEXT,"
        " failures INTEGER NOT NULL DEFAULT 0)")
    conn.execute(
        "CREATE TABLE webhook_deliveries ("
        " id TEXT PRIMARY KEY,"
        " subscription_id TEXT NOT NULL,"
        " event_id TEXT NOT NULL,"
        " event_type TEXT NOT NULL,"
        " payload BLOB NOT NULL,"
        " created_at TEXT NOT NULL,"
        " state TEXT NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_attempt_at REAL NOT NULL,"
        " last_status INTEGER,"
        " last_error TEXT,"
        " delivered_at TEXT,"
        " UNIQUE (subscription_id, event_id))")
    conn.execute("CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)"
                 " WHERE state = 'pending'")
    conn.execute("CREATE INDEX webhook_deliveries_of ON webhook_deliveries (subscription_id, created_at)")


def _customer_windows(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE customer_windows ("
        " source TEXT NOT NULL,"  # the account: /{plugin}/{account}
        " customer TEXT NOT NULL,"
        " last_inbound_at REAL NOT NULL,"  # epoch seconds: when we received their last message
        " PRIMARY KEY (source, customer)) WITHOUT ROWID")
    # what the interactions already know: each customer's last message to each account
    conn.execute(
        "INSERT INTO customer_windows (source, customer, last_inbound_at)"
        " SELECT source, customer, MAX((julianday(json_extract(doc, '$.last_customer_message_at'))"
        " - 2440587.5) * 86400.0) FROM interactions"
        " WHERE source IS NOT NULL AND customer IS NOT NULL"
        " AND json_extract(doc, '$.last_customer_message_at') IS NOT NULL GROUP BY source, customer")


def _contact_merges(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE contact_merges ("
        " id TEXT PRIMARY KEY,"
        " kept TEXT NOT NULL,"
        " absorbed TEXT NOT NULL,"
        " addresses TEXT NOT NULL,"  # JSON list of [channel, value]: what moved
        " at TEXT NOT NULL,"
        " by TEXT NOT NULL,"
        " undone_at TEXT)")
    conn.execute("CREATE INDEX addresses_of_contact ON addresses (contact_id)")
    # a contact's interactions on every channel, also the closed ones
    conn.execute("CREATE INDEX interactions_by_customer ON interactions (customer, channel)")


def _messaging_profiles(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE directory_users ("
        " id TEXT PRIMARY KEY,"
        " name TEXT,"
        " phones TEXT NOT NULL,"  # JSON list of E.164 numbers
        " emails TEXT NOT NULL)")  # JSON list, lower-cased
    conn.execute(
        "CREATE TABLE directory_phones ("  # the directory by phone: a lookup per inbound number
        " phone TEXT NOT NULL,"
        " user_id TEXT NOT NULL,"
        " PRIMARY KEY (phone, user_id)) WITHOUT ROWID")
    conn.execute("CREATE INDEX directory_phones_of_user ON directory_phones (user_id)")
    conn.execute(
        "CREATE TABLE messaging_profiles ("
        " id TEXT PRIMARY KEY,"  # new_id(): sorts by creation time, so lists go newest first by id
        " channel TEXT NOT NULL,"
        " address TEXT NOT NULL,"
        " user_id TEXT,"  # NULL: an anonymous (guest) requester
        " active INTEGER NOT NULL,"
        " conflict TEXT,"  # why an agent must check it; NULL when nothing to check
        " created_at TEXT NOT NULL,"
        " deactivated_at TEXT,"
        " verified_by TEXT) WITHOUT ROWID")  # who linked it by hand (their choice stands against the directory)
    conn.execute("CREATE UNIQUE INDEX messaging_profiles_active ON messaging_profiles (channel, address)"
                 " WHERE active = 1")
    conn.execute("CREATE INDEX messaging_profiles_of_address ON messaging_profiles (channel, address)")
    conn.execute("CREATE INDEX messaging_profiles_flagged ON messaging_profiles (id) WHERE conflict IS NOT NULL")


def _bus_outbox(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE bus_outbox ("  # core events waiting for NATS JetStream (events out)
        " seq INTEGER PRIMARY KEY,"  # commit order: the rowid, always above every queued row's
        " msg_id TEXT NOT NULL UNIQUE,"  # Nats-Msg-Id: sha256(source NUL id), hex
        " event_type TEXT NOT NULL,"
        " payload BLOB NOT NULL,"  # the CloudEvent, JSON format (structured mode)
        " created_at REAL NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_attempt_at REAL NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'pending',"  # pending, or failed (refused for good by the bus)
        " last_error TEXT)")


def _recent_by_customer(conn: sqlite3.Connection) -> None:
    # a caller's recent interactions (the offer's context) read newest first straight off the
    # index, LIMIT n, instead of sorting every past interaction of theirs
    conn.execute("DROP INDEX IF EXISTS interactions_by_customer")
    conn.execute("CREATE INDEX interactions_recent_by_customer ON interactions (customer, channel, id)")


def _summary_columns(conn: sqlite3.Connection) -> None:
    # the offer's caller context reads a past interaction's summary from columns, not by
    # parsing its whole document (~4.5 µs each, 20 per incoming call: bench/voice.py)
    conn.execute("ALTER TABLE interactions ADD COLUMN wrap_up_code TEXT")
    conn.execute("ALTER TABLE interactions ADD COLUMN case_id TEXT")
    conn.execute("UPDATE interactions SET wrap_up_code = json_extract(doc, '$.wrap_up_code'),"
                 " case_id = json_extract(doc, '$.case_id')")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: the schema of the releases before versioning", _baseline),
    Migration(2, "conversation keys include the provider and account", _conversation_keys_with_account),
    Migration(3, "outbox idempotency keys scoped to the interaction and caller", _outbox_scoped_keys),
    Migration(4, "interaction list columns and indexes (queue, update time)", _interaction_list_columns),
    Migration(5, "email Message-ID index", _email_message_ids),
    Migration(6, "email Message-ID index per account (source, message_id)", _email_ids_per_account),
    Migration(7, "interaction customer and source columns, open interactions by customer", _interaction_customer_columns),
    Migration(8, "consent: the addresses whose customer opted out", _consent),
    Migration(9, "agent API keys (hashed) and the audit log", _access),
    Migration(10, "outgoing webhooks: subscriptions and their deliveries", _outgoing_webhooks),
    Migration(11, "customer-service windows: when each customer last wrote to each account", _customer_windows),
    Migration(12, "contacts across channels: merges (undoable) and a contact's interactions", _contact_merges),
    Migration(13, "the user directory and messaging profiles (address -> requester)", _messaging_profiles),
    Migration(14, "events out: the bus outbox (core events waiting for NATS JetStream)", _bus_outbox),
    Migration(15, "a customer's interactions newest first (customer, channel, id)", _recent_by_customer),
    Migration(16, "interaction summary columns (wrap_up_code, case_id)", _summary_columns),
)
"""Every migration, by version (1, 2, … with no gap)."""

LATEST = MIGRATIONS[-1].version


def _statements(script: str) -> list[str]:
    """The statements of a schema script (one per ``;``; the script holds no string with one)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def schema_version(conn: sqlite3.Connection) -> int:
    """The version of the main database file (0: a new file, or one made before versioning)."""
    return conn.execute("PRAGMA main.user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Bring the main database file to :data:`LATEST`; returns the versions applied (empty when
    it was current already).  ``conn`` must be in autocommit mode (``isolation_level=None``).

    Raises:
        StoreError: the file is newer than this release, or a migration failed (nothing of it
            is kept).
    """
    if schema_version(conn) == LATEST:  # the common case: no write lock taken
        return []
    applied: list[int] = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn)  # again, under the lock: another process may have migrated
            if current > LATEST:
                raise StoreError(f"the database has schema version {current}, newer than this release's "
                                 f"{LATEST}: upgrade omnisdk")
            for migration in MIGRATIONS:
                if migration.version > current:
                    migration.apply(conn)
                    applied.append(migration.version)
            conn.execute(f"PRAGMA main.user_version = {LATEST}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except sqlite3.Error as exc:
        raise StoreError(f"could not migrate the database schema: {exc}") from exc
    return applied


__all__ = ["LATEST", "MIGRATIONS", "Migration", "migrate", "schema_version"]
