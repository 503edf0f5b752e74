"""The PostgreSQL schema's versions: a numbered list of migrations, recorded in the table
``omnisdk_schema`` (one row per applied version).

**The rule: both stores walk the same version numbers.**  PostgreSQL version *n* brings the
tables to what SQLite version *n* (:mod:`omnisdk.store.sqlite.migrations`) brings them to, so
one release has one schema version whatever its store, and :data:`LATEST` equals SQLite's
(``tests/store/test_postgres_migrations.py`` fails while they differ).  A branch that adds a
SQLite migration adds the PostgreSQL one with the same number and name in the same commit: one
:class:`Migration` at the end of :data:`MIGRATIONS`, whose ``sql`` is plain PostgreSQL DDL (and
DML) run in order.  PostgreSQL has no file from before versioning, so a step that only rewrote
old SQLite rows (version 2) is a no-op here, and a table SQLite rebuilt to change a constraint
(version 3) is altered in place.

Migrating takes the transaction-scoped advisory lock :data:`MIGRATION_LOCK`: two processes
opening one schema at once migrate it once, and the pending versions are applied in one
transaction with their rows in ``omnisdk_schema`` (a crash leaves the old version or the new
one, never one between).  A schema
newer than this release's is refused with :class:`~omnisdk.store.errors.StoreError`.

Column types: documents and JSON lists are ``text`` (read back as the same string: the core
parses them with pydantic or orjson), times from documents RFC 3339 ``text``, timer and outbox
times epoch seconds ``double precision``; ids, keys and case numbers are ``COLLATE "C"`` so that
their order is code point order on any server locale (as SQLite's binary order).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from omnisdk.store.errors import StoreError
from omnisdk.store.postgres.errors import describe
from omnisdk.store.postgres.inbox import LOCK_SQL


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``sql`` (one or more statements separated by ``;``) runs inside the
    migration's transaction."""

    version: int
    name: str
    sql: str


_BASELINE = """
CREATE TABLE inbox (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text NOT NULL,
    id           text NOT NULL,
    type         text NOT NULL,
    partitionkey text,
    received_at  text NOT NULL,
    body         bytea NOT NULL,
    UNIQUE (source, id)
);
CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE inbox_cursor (name text PRIMARY KEY, seq bigint NOT NULL);
CREATE TABLE inbox_failures (seq bigint PRIMARY KEY, source text NOT NULL, id text NOT NULL, error text NOT NULL);
CREATE TABLE contacts (id text PRIMARY KEY, display_name text, created_at text NOT NULL);
CREATE TABLE addresses (
    channel    text NOT NULL,
    value      text NOT NULL,
    contact_id text NOT NULL,
    PRIMARY KEY (channel, value)
);
CREATE TABLE interactions (
    id               text COLLATE "C" PRIMARY KEY,
    conversation_key text NOT NULL,
    state            text NOT NULL,
    agent            text,
    channel          text NOT NULL,
    created_at       text NOT NULL,
    doc              text NOT NULL
);
CREATE UNIQUE INDEX interactions_one_active ON interactions (conversation_key) WHERE state <> 'closed';
CREATE TABLE messages (
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    source          text NOT NULL,
    message_id      text NOT NULL,
    interaction_id  text,
    direction       text NOT NULL,
    kind            text,
    body            text,
    created_at      text NOT NULL,
    status          text,
    provider_status text,
    status_at       text,
    error           text,
    PRIMARY KEY (source, message_id)
);
CREATE INDEX messages_interaction ON messages (interaction_id);
CREATE TABLE outbox (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    idempotency_key     text NOT NULL UNIQUE,
    plugin              text NOT NULL,
    account             text NOT NULL,
    interaction_id      text,
    payload             text NOT NULL,
    state               text NOT NULL DEFAULT 'pending',
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     double precision NOT NULL,
    provider_message_id text,
    error               text
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE TABLE interaction_log (
    seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    interaction_id text NOT NULL,
    at             text NOT NULL,
    from_state     text,
    to_state       text NOT NULL,
    agent          text,
    queue          text,
    note           text
);
CREATE INDEX interaction_log_by_id ON interaction_log (interaction_id, seq);
CREATE TABLE timers (
    key            text COLLATE "C" PRIMARY KEY,
    kind           text NOT NULL,
    due_at         double precision NOT NULL,
    interaction_id text,
    data           text NOT NULL DEFAULT '{}',
    state          text NOT NULL DEFAULT 'pending'
);
CREATE INDEX timers_due ON timers (due_at) WHERE state = 'pending';
CREATE INDEX timers_by_interaction ON timers (interaction_id) WHERE state = 'pending';
CREATE TABLE agents (id text COLLATE "C" PRIMARY KEY, doc text NOT NULL);
CREATE TABLE queues (seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE, name text PRIMARY KEY, doc text NOT NULL);
CREATE TABLE cases (
    id         text PRIMARY KEY,
    number     text COLLATE "C" NOT NULL UNIQUE,
    created_at text NOT NULL,
    doc        text NOT NULL
)
"""

_OUTBOX_SCOPED = """
ALTER TABLE outbox ADD COLUMN scope text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN send_key text;
ALTER TABLE outbox ADD COLUMN fingerprint text;
UPDATE outbox SET scope = COALESCE(interaction_id, ''), send_key = idempotency_key;
ALTER TABLE outbox ALTER COLUMN send_key SET NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_send_key UNIQUE (send_key);
ALTER TABLE outbox DROP CONSTRAINT outbox_idempotency_key_key;
CREATE UNIQUE INDEX outbox_scoped_key ON outbox (scope, idempotency_key)
"""

_INTERACTION_LIST_COLUMNS = """
ALTER TABLE interactions ADD COLUMN queue text;
ALTER TABLE interactions ADD COLUMN updated_ts double precision;
UPDATE interactions SET queue = doc::json->>'queue',
    updated_ts = extract(epoch FROM (doc::json->>'updated_at')::timestamptz);
CREATE INDEX interactions_by_state ON interactions (state, id);
CREATE INDEX interactions_by_agent ON interactions (agent, id) WHERE agent IS NOT NULL;
CREATE INDEX interactions_by_update ON interactions (updated_ts)
"""

_EMAIL_MESSAGE_IDS = """
CREATE TABLE email_message_ids (
    message_id       text PRIMARY KEY,
    interaction_id   text NOT NULL,
    conversation_key text NOT NULL,
    direction        text NOT NULL
);
CREATE INDEX email_message_ids_by_interaction ON email_message_ids (interaction_id)
"""

_EMAIL_IDS_PER_ACCOUNT = """
CREATE TABLE email_thread_ids (
    source           text NOT NULL,
    message_id       text NOT NULL,
    interaction_id   text NOT NULL,
    conversation_key text NOT NULL,
    direction        text NOT NULL,
    PRIMARY KEY (source, message_id)
);
INSERT INTO email_thread_ids (source, message_id, interaction_id, conversation_key, direction)
    SELECT i.doc::json->>'source', e.message_id, e.interaction_id, e.conversation_key, e.direction
    FROM email_message_ids e JOIN interactions i ON i.id = e.interaction_id ON CONFLICT DO NOTHING;
DROP TABLE email_message_ids;
CREATE INDEX email_thread_ids_by_interaction ON email_thread_ids (interaction_id)
"""

_INTERACTION_CUSTOMER_COLUMNS = """
ALTER TABLE interactions ADD COLUMN customer text;
ALTER TABLE interactions ADD COLUMN source text;
UPDATE interactions SET customer = doc::json->>'customer', source = doc::json->>'source';
CREATE INDEX interactions_open_by_customer ON interactions (customer, channel) WHERE state <> 'closed'
"""

_CONSENT = """
CREATE TABLE consent (
    channel    text NOT NULL,
    value      text NOT NULL,
    opted_out  boolean NOT NULL,
    changed_at text NOT NULL,
    PRIMARY KEY (channel, value)
)
"""

_ACCESS = """
CREATE TABLE api_keys (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    role        text NOT NULL,
    scopes      text NOT NULL,
    secret_hash text NOT NULL,
    agent       text,
    queues      text,
    created_at  text NOT NULL,
    revoked_at  text
);
CREATE TABLE audit_log (
    seq     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      text NOT NULL,
    subject text NOT NULL,
    role    text,
    method  text NOT NULL,
    path    text NOT NULL,
    status  integer NOT NULL,
    remote  text
)
"""

_OUTGOING_WEBHOOKS = """
CREATE TABLE webhook_subscriptions (
    id              text PRIMARY KEY,
    url             text NOT NULL,
    event_types     text NOT NULL,
    secret          text NOT NULL,
    created_at      text NOT NULL,
    description     text,
    state           text NOT NULL,
    disabled_reason text,
    failures        integer NOT NULL DEFAULT 0
);
CREATE TABLE webhook_deliveries (
    id              text COLLATE "C" PRIMARY KEY,
    subscription_id text NOT NULL,
    event_id        text NOT NULL,
    event_type      text NOT NULL,
    payload         bytea NOT NULL,
    created_at      text COLLATE "C" NOT NULL,
    state           text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at double precision NOT NULL,
    last_status     integer,
    last_error      text,
    delivered_at    text,
    UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_of ON webhook_deliveries (subscription_id, created_at)
"""

_CUSTOMER_WINDOWS = """
CREATE TABLE customer_windows (
    source          text NOT NULL,
    customer        text NOT NULL,
    last_inbound_at double precision NOT NULL,
    PRIMARY KEY (source, customer)
);
INSERT INTO customer_windows (source, customer, last_inbound_at)
    SELECT source, customer, MAX(extract(epoch FROM (doc::json->>'last_customer_message_at')::timestamptz))
    FROM interactions WHERE source IS NOT NULL AND customer IS NOT NULL
    AND doc::json->>'last_customer_message_at' IS NOT NULL GROUP BY source, customer
"""

_CONTACT_MERGES = """
CREATE TABLE contact_merges (
    id        text PRIMARY KEY,
    kept      text NOT NULL,
    absorbed  text NOT NULL,
    addresses text NOT NULL,
    at        text NOT NULL,
    "by"      text NOT NULL,
    undone_at text
);
CREATE INDEX addresses_of_contact ON addresses (contact_id);
CREATE INDEX interactions_by_customer ON interactions (customer, channel)
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: the schema of the releases before versioning", _BASELINE),
    Migration(2, "conversation keys include the provider and account", ""),  # rewrote SQLite rows only
    Migration(3, "outbox idempotency keys scoped to the interaction and caller", _OUTBOX_SCOPED),
    Migration(4, "interaction list columns and indexes (queue, update time)", _INTERACTION_LIST_COLUMNS),
    Migration(5, "email Message-ID index", _EMAIL_MESSAGE_IDS),
    Migration(6, "email Message-ID index per account (source, message_id)", _EMAIL_IDS_PER_ACCOUNT),
    Migration(7, "interaction customer and source columns, open interactions by customer", _INTERACTION_CUSTOMER_COLUMNS),
    Migration(8, "consent: the addresses whose customer opted out", _CONSENT),
    Migration(9, "agent API keys (hashed) and the audit log", _ACCESS),
    Migration(10, "outgoing webhooks: subscriptions and their deliveries", _OUTGOING_WEBHOOKS),
    Migration(11, "customer-service windows: when each customer last wrote to each account", _CUSTOMER_WINDOWS),
    Migration(12, "contacts across channels: merges (undoable) and a contact's interactions", _CONTACT_MERGES),
)
"""Every migration, by version (1, 2, … with no gap), the same numbers and names as SQLite's."""

LATEST = MIGRATIONS[-1].version

MIGRATION_LOCK = 0x6F6D0000
"""The first key of the advisory lock held while a schema is migrated (the second: the schema's
name hashed, :data:`~omnisdk.store.postgres.inbox.LOCK_SQL`)."""

_VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS omnisdk_schema (version integer PRIMARY KEY, name text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())")


def statements(sql: str) -> list[str]:
    """The statements of a migration's ``sql`` (split on ``;``: no statement holds one)."""
    return [s.strip() for s in sql.split(";") if s.strip()]


def schema_version(conn: psycopg.Connection) -> int:
    """The version of the connection's schema (the first of its ``search_path``); 0 when it
    has no ``omnisdk_schema`` table yet."""
    exists = conn.execute("SELECT to_regclass('omnisdk_schema') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM omnisdk_schema").fetchone()[0]


def migrate(conn: psycopg.Connection) -> list[int]:
    """Bring the schema to :data:`LATEST`; returns the versions applied (empty when it was
    current).  ``conn`` must be in autocommit mode, outside a transaction.

    Raises:
        StoreError: the schema is newer than this release, or a migration failed (nothing of
            that version is kept).
    """
    try:
        if schema_version(conn) == LATEST:  # the common case: no lock taken
            return []
        applied: list[int] = []
        with conn.transaction():  # every pending version, or none of them
            conn.execute(LOCK_SQL, (MIGRATION_LOCK,))
            conn.execute(_VERSION_TABLE)
            current = schema_version(conn)  # again, under the lock: another process may have migrated
            if current > LATEST:
                raise StoreError(f"the database has schema version {current}, newer than this release's "
                                 f"{LATEST}: upgrade omnisdk")
            for migration in MIGRATIONS:
                if migration.version > current:
                    for statement in statements(migration.sql):
                        conn.execute(statement)
                    conn.execute("INSERT INTO omnisdk_schema (version, name) VALUES (%s, %s)",
                                 (migration.version, migration.name))
                    applied.append(migration.version)
    except psycopg.Error as exc:
        raise StoreError(f"could not migrate the PostgreSQL schema: {describe(exc)}") from exc
    return applied


__all__ = ["LATEST", "MIGRATIONS", "MIGRATION_LOCK", "Migration", "migrate", "schema_version", "statements"]
