"""The SQLite schema (also the reference for other stores' tables)."""

INBOX_SCHEMA = """
-- the inbox: an append-only log of durable webhook events, deduplicated on (source, id)
CREATE TABLE IF NOT EXISTS {db}inbox (
    seq          INTEGER PRIMARY KEY,  -- rowid: grows with every append, never reused
    source       TEXT NOT NULL,
    id           TEXT NOT NULL,
    type         TEXT NOT NULL,
    partitionkey TEXT,
    received_at  TEXT NOT NULL,
    body         BLOB NOT NULL,
    UNIQUE (source, id)
);
CREATE TABLE IF NOT EXISTS {db}counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
"""The inbox file's tables (``{db}`` is ``""`` or ``"inbox_db."`` when it is a separate file).
Its counters hold what the gateway counts (accepted, deduplicated, rejected)."""

SCHEMA = """
-- how far the processor has read the inbox (exactly once: moved in the same transaction as
-- the work), and the events it could not apply
CREATE TABLE IF NOT EXISTS inbox_cursor (
    name TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS inbox_failures (
    seq    INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    id     TEXT NOT NULL,
    error  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS contacts (
    id           TEXT PRIMARY KEY,
    display_name TEXT,
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS addresses (
    channel    TEXT NOT NULL,
    value      TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    PRIMARY KEY (channel, value)
);

CREATE TABLE IF NOT EXISTS interactions (
    id               TEXT PRIMARY KEY,
    conversation_key TEXT NOT NULL,
    state            TEXT NOT NULL,
    agent            TEXT,
    channel          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    doc              TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS interactions_one_active
    ON interactions (conversation_key) WHERE state != 'closed';
DROP INDEX IF EXISTS interactions_queued;

CREATE TABLE IF NOT EXISTS messages (
    source          TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    interaction_id  TEXT,
    direction       TEXT NOT NULL,
    kind            TEXT,
    body            TEXT,
    created_at      TEXT NOT NULL,
    status          TEXT,
    provider_status TEXT,
    status_at       TEXT,
    error           TEXT,
    PRIMARY KEY (source, message_id)
);
CREATE INDEX IF NOT EXISTS messages_interaction ON messages (interaction_id);

CREATE TABLE IF NOT EXISTS outbox (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key     TEXT NOT NULL UNIQUE,
    plugin              TEXT NOT NULL,
    account             TEXT NOT NULL,
    interaction_id      TEXT,
    payload             TEXT NOT NULL,
    state               TEXT NOT NULL DEFAULT 'pending',
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     REAL NOT NULL,
    provider_message_id TEXT,
    error               TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS interaction_log (
    seq            INTEGER PRIMARY KEY,
    interaction_id TEXT NOT NULL,
    at             TEXT NOT NULL,
    from_state     TEXT,
    to_state       TEXT NOT NULL,
    agent          TEXT,
    queue          TEXT,
    note           TEXT
);
CREATE INDEX IF NOT EXISTS interaction_log_by_id ON interaction_log (interaction_id, seq);

CREATE TABLE IF NOT EXISTS timers (
    key            TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    due_at         REAL NOT NULL,
    interaction_id TEXT,
    data           TEXT NOT NULL DEFAULT '{}',
    state          TEXT NOT NULL DEFAULT 'pending'
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS timers_due ON timers (due_at) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS timers_by_interaction ON timers (interaction_id) WHERE state = 'pending';

CREATE TABLE IF NOT EXISTS agents (
    id  TEXT PRIMARY KEY,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    doc  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS cases (
    id         TEXT PRIMARY KEY,
    number     TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    doc        TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
