-- Tools an agent declares for itself (HTTP tools and MCP servers, JSON
-- arrays of tessera.HTTPTool and tessera.MCPServer) and the JSON Schema of
-- its structured output ('' for none, else the schema's exact text); on
-- executions, the answer parsed against that schema (NULL when none).

-- +goose Up
ALTER TABLE agents ADD COLUMN http_tools TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN mcp_servers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE agents ADD COLUMN output_schema TEXT NOT NULL DEFAULT '';
ALTER TABLE executions ADD COLUMN structured_output TEXT;

-- +goose Down
ALTER TABLE executions DROP COLUMN structured_output;
ALTER TABLE agents DROP COLUMN output_schema;
ALTER TABLE agents DROP COLUMN mcp_servers;
ALTER TABLE agents DROP COLUMN http_tools;
