-- The execution event log, cancellation and thread policies.
--
-- executions.last_event_seq is the counter the log is numbered from: a write
-- allocates seqs with UPDATE … SET last_event_seq = last_event_seq + n …
-- RETURNING last_event_seq in the transaction that inserts the events, so
-- numbering is gap-free per execution and fenced like the status change it
-- goes with. Executions deployed before this migration start at 0.

-- +goose Up
ALTER TABLE executions ADD COLUMN last_event_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 0;

ALTER TABLE agents ADD COLUMN timeout_seconds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN multitask_strategy TEXT NOT NULL DEFAULT 'enqueue';

-- data is JSON text; created_at integer Unix microseconds, UTC.
CREATE TABLE execution_events (
    execution_id INTEGER NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    data         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (execution_id, seq)
) STRICT, WITHOUT ROWID;

-- A claim checks that no earlier turn of the thread is queued or running;
-- this index holds only those, so the check does not walk a long thread's
-- finished turns (executions_root_id, from 00001, still serves the rest).
CREATE INDEX executions_root_active ON executions (root_id, id)
    WHERE status IN ('queued', 'running');

-- +goose Down
DROP INDEX executions_root_active;
DROP TABLE execution_events;
ALTER TABLE agents DROP COLUMN multitask_strategy;
ALTER TABLE agents DROP COLUMN timeout_seconds;
ALTER TABLE executions DROP COLUMN timeout_ms;
ALTER TABLE executions DROP COLUMN cancel_requested;
ALTER TABLE executions DROP COLUMN last_event_seq;
