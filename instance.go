package tessera

import "time"

// Instance is seed 003's agent instance: an agent bound into a workspace
// with its own overrides.
type Instance struct {
	ID          int64          `json:"id"`
	WorkspaceID int64          `json:"workspace_id"`
	AgentID     int64          `json:"agent_id"`
	Name        string         `json:"name"`
	Config      InstanceConfig `json:"config"`
	// TriggerSecret verifies the instance's signed inbound events; empty
	// until one is made. Never shown by the API after it is made.
	TriggerSecret string    `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// InstanceConfig overrides the agent's definition for one instance.
type InstanceConfig struct {
	Model         string   `json:"model,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	Tools         []string `json:"tools,omitempty"`
	MaxIterations int      `json:"max_iterations,omitempty"`
	// HTTPTools and MCPServers join the agent's; one with the name of an
	// agent's replaces it.
	HTTPTools  []HTTPTool  `json:"http_tools,omitempty"`
	MCPServers []MCPServer `json:"mcp_servers,omitempty"`
	// InputDefaults fill inputs an execution does not give.
	InputDefaults map[string]any `json:"input_defaults,omitempty"`
	// Credentials are secret values for tools (header values of HTTP
	// tools, MCP tokens). They are stored, used, and never returned by the
	// API.
	Credentials map[string]string `json:"credentials,omitempty"`
}

// Validate checks the config's declared tools. It returns an EINVALID
// error listing every problem, with fields under "config.".
func (c *InstanceConfig) Validate() error {
	var v ValidationErrors
	validateHTTPTools(&v, "config.http_tools", c.HTTPTools, nil)
	validateMCPServers(&v, "config.mcp_servers", c.MCPServers)
	return v.Err()
}
