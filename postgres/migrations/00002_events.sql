-- The execution event log, cancellation and thread policies, as the SQLite
-- store's 00002.
--
-- executions.last_event_seq is the counter the log is numbered from: a write
-- allocates seqs with UPDATE … SET last_event_seq = last_event_seq + n …
-- RETURNING last_event_seq in the transaction that inserts the events, so
-- numbering is gap-free per execution and fenced like the status change it
-- goes with; the row lock of that update serialises an execution's writers
-- across nodes. Executions deployed before this migration start at 0.

-- +goose Up
ALTER TABLE executions
    ADD COLUMN last_event_seq   bigint  NOT NULL DEFAULT 0,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false,
    ADD COLUMN timeout_ms       bigint  NOT NULL DEFAULT 0;

ALTER TABLE agents
    ADD COLUMN timeout_seconds    integer NOT NULL DEFAULT 0,
    ADD COLUMN multitask_strategy text    NOT NULL DEFAULT 'enqueue';

-- data is json, not jsonb: it keeps the bytes the store wrote (the stream a
-- client reads is the same on both backends, key order included), accepts
-- the \u0000 escape that jsonb refuses, and costs only a syntax check on the
-- hottest write path. Nothing queries inside it.
CREATE TABLE execution_events (
    execution_id bigint      NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    seq          bigint      NOT NULL,
    type         text        NOT NULL,
    data         json        NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (execution_id, seq)
);

-- A claim checks that no earlier turn of the thread is queued or running;
-- this index holds only those, so the check does not walk a long thread's
-- finished turns (executions_root_id, from 00001, still serves the rest).
CREATE INDEX executions_root_active ON executions (root_id, id)
    WHERE status IN ('queued', 'running');

-- +goose Down
DROP INDEX executions_root_active;
DROP TABLE execution_events;
ALTER TABLE agents
    DROP COLUMN multitask_strategy,
    DROP COLUMN timeout_seconds;
ALTER TABLE executions
    DROP COLUMN timeout_ms,
    DROP COLUMN cancel_requested,
    DROP COLUMN last_event_seq;
