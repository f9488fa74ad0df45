-- Tools an agent declares for itself (HTTP tools and MCP servers, JSON
-- arrays of tessera.HTTPTool and tessera.MCPServer) and the JSON Schema of
-- its structured output ('' for none, else the schema's exact text: text,
-- not jsonb, so the user's key order survives); on executions, the answer
-- parsed against that schema (NULL when none; json like metadata).

-- +goose Up
ALTER TABLE agents
    ADD COLUMN http_tools    jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN mcp_servers   jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN output_schema text  NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN structured_output json;
-- Failed model calls of a step (retries, fallbacks), and the models an
-- agent falls back on.
ALTER TABLE execution_iterations ADD COLUMN provider_attempts json NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN fallback_models jsonb NOT NULL DEFAULT '[]';
-- The part of an execution's output tokens spent reasoning.
ALTER TABLE executions ADD COLUMN reasoning_tokens bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE executions DROP COLUMN reasoning_tokens;
ALTER TABLE agents DROP COLUMN fallback_models;
ALTER TABLE execution_iterations DROP COLUMN provider_attempts;
ALTER TABLE executions DROP COLUMN structured_output;
ALTER TABLE agents
    DROP COLUMN output_schema,
    DROP COLUMN mcp_servers,
    DROP COLUMN http_tools;
