-- Tools an agent declares for itself (HTTP tools and MCP servers, JSON
-- arrays of tessera.HTTPTool and tessera.MCPServer) and the JSON Schema of
-- its structured output ('' for none, else the schema's exact text); on
-- executions, the answer parsed against that schema (NULL when none).

-- +goose Up
ALTER TABLE agents ADD COLUMN http_tools TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN mcp_servers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN output_schema TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN structured_output TEXT;
-- Failed model calls of a step (retries, fallbacks), and the models an
-- agent falls back on.
ALTER TABLE execution_iterations ADD COLUMN provider_attempts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN fallback_models TEXT NOT NULL DEFAULT '[]';
-- The part of an execution's output tokens spent reasoning.
ALTER TABLE executions ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE executions DROP COLUMN reasoning_tokens;
ALTER TABLE agents DROP COLUMN fallback_models;
ALTER TABLE execution_iterations DROP COLUMN provider_attempts;
ALTER TABLE executions DROP COLUMN structured_output;
ALTER TABLE agents DROP COLUMN output_schema;
ALTER TABLE agents DROP COLUMN mcp_servers;
ALTER TABLE agents DROP COLUMN http_tools;
