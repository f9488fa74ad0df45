-- Agent versions, outbound webhooks and their deliveries, inbound event
-- triggers, and schedules (issue 8). Times are Unix microseconds, as
-- elsewhere.

-- +goose Up
-- snapshot is the JSON of the agent's definition at that version.
CREATE TABLE agent_versions (
    agent_id       INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    version        INTEGER NOT NULL,
    workspace_id   INTEGER NOT NULL,
    snapshot       TEXT    NOT NULL,
    published_by   TEXT    NOT NULL DEFAULT '',
    rollback_from  INTEGER,
    change_summary TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (agent_id, version)
) STRICT;

-- The version of its agent an execution ran.
ALTER TABLE executions ADD COLUMN agent_version INTEGER NOT NULL DEFAULT 0;

CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces (id),
    agent_id      INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    url           TEXT    NOT NULL,
    method        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    secret        TEXT    NOT NULL,
    success_count INTEGER NOT NULL DEFAULT 0,
    failure_count INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    deleted_at    INTEGER
) STRICT;
CREATE INDEX webhooks_agent ON webhooks (agent_id) WHERE deleted_at IS NULL;
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, id);

-- One row per execution and webhook, queued by ExecutionFinish.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id       INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    execution_id     INTEGER NOT NULL,
    workspace_id     INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    next_attempt_at  INTEGER,
    lease_until      INTEGER,
    delivered_at     INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (webhook_id, execution_id)
) STRICT;
-- DeliveryClaim's scan: only pending rows are indexed.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);

-- An instance's secret for signed inbound events ('' for none), and the
-- signatures seen within the replay window.
ALTER TABLE agent_instances ADD COLUMN trigger_secret TEXT NOT NULL DEFAULT '';
CREATE TABLE trigger_signatures (
    instance_id INTEGER NOT NULL,
    signature   TEXT    NOT NULL,
    seen_at     INTEGER NOT NULL,
    PRIMARY KEY (instance_id, signature)
) STRICT;
CREATE INDEX trigger_signatures_seen ON trigger_signatures (seen_at);

-- input is JSON text; next_run_at is NULL when disabled.
CREATE TABLE schedules (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id      INTEGER NOT NULL REFERENCES workspaces (id),
    agent_id          INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    instance_id       INTEGER REFERENCES agent_instances (id) ON DELETE CASCADE,
    name              TEXT    NOT NULL,
    cron              TEXT    NOT NULL,
    timezone          TEXT    NOT NULL,
    input             TEXT    NOT NULL DEFAULT '{}',
    enabled           INTEGER NOT NULL,
    next_run_at       INTEGER,
    last_run_at       INTEGER,
    last_execution_id INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX schedules_workspace ON schedules (workspace_id, id);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE enabled = 1;

-- +goose Down
DROP TABLE schedules;
DROP TABLE trigger_signatures;
ALTER TABLE agent_instances DROP COLUMN trigger_secret;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
ALTER TABLE executions DROP COLUMN agent_version;
DROP TABLE agent_versions;
