-- Tessera's own tables. River migrates its river_* tables itself, and goose
-- records this file in tessera_migrations, so the two never collide.
--
-- Ids are AUTOINCREMENT so that a deleted row's id is never handed out again.
-- Times are integer Unix microseconds, UTC. JSON values are TEXT.

-- +goose Up
CREATE TABLE workspaces (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
) STRICT;

-- position orders a key's workspaces: the first one is its default.
CREATE TABLE api_key_workspaces (
    key_id       INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    position     INTEGER NOT NULL,
    PRIMARY KEY (key_id, workspace_id)
) STRICT;

CREATE INDEX api_key_workspaces_workspace_id ON api_key_workspaces (workspace_id);

CREATE TABLE agents (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id   INTEGER NOT NULL REFERENCES workspaces (id),
    slug           TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    description    TEXT    NOT NULL DEFAULT '',
    type           TEXT    NOT NULL,
    instructions   TEXT    NOT NULL DEFAULT '',
    prompt         TEXT    NOT NULL DEFAULT '',
    questions      TEXT    NOT NULL DEFAULT '[]',
    model          TEXT    NOT NULL DEFAULT '',
    temperature    REAL,
    tools          TEXT    NOT NULL DEFAULT '[]',
    max_iterations INTEGER NOT NULL,
    visibility     TEXT    NOT NULL DEFAULT '',
    source         TEXT    NOT NULL DEFAULT '',
    version        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (workspace_id, slug)
) STRICT;

-- agent_id has no foreign key on purpose: deleting an agent keeps the
-- history of its executions.
CREATE TABLE executions (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id        INTEGER NOT NULL REFERENCES workspaces (id),
    agent_id            INTEGER NOT NULL,
    root_id             INTEGER NOT NULL,
    status              TEXT    NOT NULL,
    trigger_type        TEXT    NOT NULL DEFAULT '',
    api_key_id          INTEGER,
    input               TEXT    NOT NULL DEFAULT '',
    inputs              TEXT    NOT NULL DEFAULT '{}',
    messages            TEXT    NOT NULL DEFAULT '[]',
    model               TEXT    NOT NULL DEFAULT '',
    model_used          TEXT    NOT NULL DEFAULT '',
    temperature         REAL,
    tools               TEXT    NOT NULL DEFAULT '',
    output              TEXT    NOT NULL DEFAULT '',
    error               TEXT    NOT NULL DEFAULT '',
    input_tokens        INTEGER NOT NULL DEFAULT 0,
    output_tokens       INTEGER NOT NULL DEFAULT 0,
    cached_input_tokens INTEGER NOT NULL DEFAULT 0,
    cost                REAL    NOT NULL DEFAULT 0,
    credits             REAL    NOT NULL DEFAULT 0,
    attempt             INTEGER NOT NULL DEFAULT 0,
    lease_expires_at    INTEGER,
    job_id              INTEGER NOT NULL DEFAULT 0,
    idempotency_key     TEXT    NOT NULL DEFAULT '',
    request_hash        TEXT    NOT NULL DEFAULT '',
    metadata            TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    started_at          INTEGER,
    completed_at        INTEGER
) STRICT;

CREATE INDEX executions_workspace_id ON executions (workspace_id, id);
CREATE INDEX executions_workspace_agent ON executions (workspace_id, agent_id, id);
CREATE INDEX executions_root_id ON executions (root_id, id);
-- The sweeper's scan: running executions by lease expiry.
CREATE INDEX executions_status_lease ON executions (status, lease_expires_at);
-- Idempotency is per workspace; executions without a key are not constrained.
CREATE UNIQUE INDEX executions_idempotency_key ON executions (workspace_id, idempotency_key)
    WHERE idempotency_key <> '';

-- +goose Down
DROP TABLE executions;
DROP TABLE agents;
DROP TABLE api_key_workspaces;
DROP TABLE api_keys;
DROP TABLE workspaces;
