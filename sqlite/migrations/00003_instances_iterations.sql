-- Agent instances, the steps of the tool loop, and the execution columns
-- that go with them (seed 003).
--
-- executions.instance_id has no foreign key, as agent_id has none: deleting
-- an instance keeps the history of its executions. An instance goes with its
-- agent (ON DELETE CASCADE): it means nothing without it.

-- +goose Up
ALTER TABLE executions ADD COLUMN instance_id INTEGER;
ALTER TABLE executions ADD COLUMN context_type TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN context_id INTEGER;
ALTER TABLE executions ADD COLUMN max_iterations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN stop_reason TEXT NOT NULL DEFAULT '';

-- ExecutionList's instance filter; most executions have no instance, and
-- the index holds only those that have one.
CREATE INDEX executions_workspace_instance ON executions (workspace_id, instance_id, id)
    WHERE instance_id IS NOT NULL;
-- ExecutionList's created_at bounds.
CREATE INDEX executions_workspace_created ON executions (workspace_id, created_at);

-- config is JSON text (tessera.InstanceConfig).
CREATE TABLE agent_instances (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
    agent_id     INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    config       TEXT    NOT NULL DEFAULT '{}',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX agent_instances_workspace_id ON agent_instances (workspace_id, id);
-- InstanceList's agent filter, and the cascade of an agent's delete.
CREATE INDEX agent_instances_agent_id ON agent_instances (agent_id, id);

-- One row per step of an attempt's tool loop. action_input is JSON text;
-- timestamp integer Unix microseconds, UTC.
CREATE TABLE execution_iterations (
    execution_id  INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    attempt       INTEGER NOT NULL,
    iteration     INTEGER NOT NULL,
    thought       TEXT    NOT NULL DEFAULT '',
    action        TEXT    NOT NULL DEFAULT '',
    action_input  TEXT    NOT NULL DEFAULT '{}',
    observation   TEXT    NOT NULL DEFAULT '',
    error         TEXT    NOT NULL DEFAULT '',
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms    INTEGER NOT NULL DEFAULT 0,
    timestamp     INTEGER NOT NULL,
    PRIMARY KEY (execution_id, attempt, iteration)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE execution_iterations;
DROP INDEX agent_instances_agent_id;
DROP INDEX agent_instances_workspace_id;
DROP TABLE agent_instances;
DROP INDEX executions_workspace_created;
DROP INDEX executions_workspace_instance;
ALTER TABLE executions DROP COLUMN stop_reason;
ALTER TABLE executions DROP COLUMN max_iterations;
ALTER TABLE executions DROP COLUMN context_id;
ALTER TABLE executions DROP COLUMN context_type;
ALTER TABLE executions DROP COLUMN instance_id;
