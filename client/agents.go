package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Agent is an agent as the native API shows it: its definition plus
// identity, version and timestamps.
type Agent struct {
	ID          int64  `json:"id"`
	WorkspaceID int64  `json:"workspace_id"`
	Slug        string `json:"slug"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Type is "chat" or "text".
	Type       string `json:"type"`
	Visibility string `json:"visibility"`
	// Instructions are the system instructions; Prompt the template that
	// text agents render from their inputs.
	Instructions string     `json:"instructions"`
	Prompt       string     `json:"prompt"`
	Questions    []Question `json:"questions"`
	Model        string     `json:"model"`
	Temperature  *float64   `json:"temperature"`
	// Tools are built-in tool names, "agent:<slug>", declared HTTP tool
	// names and "mcp:<server>".
	Tools             []string        `json:"tools"`
	MaxIterations     int             `json:"max_iterations"`
	TimeoutSeconds    int             `json:"timeout_seconds"`
	MultitaskStrategy string          `json:"multitask_strategy"`
	HTTPTools         []HTTPTool      `json:"http_tools"`
	MCPServers        []MCPServer     `json:"mcp_servers"`
	OutputSchema      json.RawMessage `json:"output_schema"`
	FallbackModels    []string        `json:"fallback_models"`
	// Version counts the writes of the definition.
	Version int `json:"version"`
	// Source is where the agent was defined: "api" or "config".
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Question is one input of an agent.
type Question struct {
	Name string `json:"name"`
	// Type is text, textarea, select, multiselect, number, boolean, array,
	// object or file.
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Required    bool     `json:"required,omitempty"`
	Options     []string `json:"options,omitempty"`
	Default     any      `json:"default,omitempty"`
	Placeholder string   `json:"placeholder,omitempty"`
}

// HTTPTool is a declared HTTP tool; see the server's API documentation for
// the {{arg}} and {{secret.NAME}} templates.
type HTTPTool struct {
	Name           string            `json:"name"`
	Description    string            `json:"description"`
	Parameters     json.RawMessage   `json:"parameters,omitempty"`
	Method         string            `json:"method"`
	URL            string            `json:"url"`
	Body           string            `json:"body,omitempty"`
	Headers        map[string]string `json:"headers,omitempty"`
	TimeoutSeconds int               `json:"timeout_seconds,omitempty"`
}

// MCPServer is a Model Context Protocol server: a URL, or a command when
// the operator allows stdio servers.
type MCPServer struct {
	Name         string            `json:"name"`
	URL          string            `json:"url,omitempty"`
	Command      []string          `json:"command,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	Env          map[string]string `json:"env,omitempty"`
	AllowedTools []string          `json:"allowed_tools,omitempty"`
}

// AgentSpec is the writable part of an agent, as Create and Update send
// it. Zero fields are not sent: the server's defaults apply (type chat,
// visibility private, 10 iterations, …). Its JSON keys are the native
// API's, so an agent file decodes into it.
type AgentSpec struct {
	Title             string          `json:"title"`
	Slug              string          `json:"slug,omitempty"`
	Description       string          `json:"description,omitempty"`
	Type              string          `json:"type,omitempty"`
	Visibility        string          `json:"visibility,omitempty"`
	Instructions      string          `json:"instructions,omitempty"`
	Prompt            string          `json:"prompt,omitempty"`
	Questions         []Question      `json:"questions,omitempty"`
	Model             string          `json:"model,omitempty"`
	Temperature       *float64        `json:"temperature,omitempty"`
	Tools             []string        `json:"tools,omitempty"`
	MaxIterations     int             `json:"max_iterations,omitempty"`
	TimeoutSeconds    int             `json:"timeout_seconds,omitempty"`
	MultitaskStrategy string          `json:"multitask_strategy,omitempty"`
	HTTPTools         []HTTPTool      `json:"http_tools,omitempty"`
	MCPServers        []MCPServer     `json:"mcp_servers,omitempty"`
	OutputSchema      json.RawMessage `json:"output_schema,omitempty"`
	FallbackModels    []string        `json:"fallback_models,omitempty"`
}

// AgentsService manages agents (/api/v1/agents).
type AgentsService struct{ c *Client }

// AgentListOptions filters a list of agents.
type AgentListOptions struct {
	// Query matches the title, description and slug.
	Query string
	// Type is "chat" or "text".
	Type string
}

// List returns the workspace's agents (at most 100), newest first.
func (s *AgentsService) List(ctx context.Context, opts *AgentListOptions) ([]*Agent, error) {
	q := url.Values{}
	if opts != nil {
		if opts.Query != "" {
			q.Set("q", opts.Query)
		}
		if opts.Type != "" {
			q.Set("type", opts.Type)
		}
	}
	var out struct {
		Data []*Agent `json:"data"`
	}
	if err := s.c.do(ctx, &request{method: http.MethodGet, path: "/api/v1/agents", query: q}, &out); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// Get returns the agent named by ref: its id when ref is an integer, else
// its slug. A missing agent is an *Error with status 404.
func (s *AgentsService) Get(ctx context.Context, ref string) (*Agent, error) {
	if id, ok := parseID(ref); ok {
		return s.GetByID(ctx, id)
	}
	return s.GetBySlug(ctx, ref)
}

// GetByID returns the agent with id; 404 when there is none.
func (s *AgentsService) GetByID(ctx context.Context, id int64) (*Agent, error) {
	var a Agent
	if err := s.c.do(ctx, &request{method: http.MethodGet, path: pathf("/api/v1/agents/%d", id)}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// GetBySlug returns the workspace's agent with slug; an *Error with status
// 404 when there is none. The native API has no slug lookup, so it lists
// the agents matching the slug (the first 100) and picks the exact one.
func (s *AgentsService) GetBySlug(ctx context.Context, slug string) (*Agent, error) {
	list, err := s.List(ctx, &AgentListOptions{Query: slug})
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		if a.Slug == slug {
			return a, nil
		}
	}
	return nil, &Error{Status: http.StatusNotFound, Message: fmt.Sprintf("No agent has the slug %q.", slug)}
}

// Resolve returns the id of the agent named by ref (an id or a slug),
// without a request when ref is an id.
func (s *AgentsService) Resolve(ctx context.Context, ref string) (int64, error) {
	if id, ok := parseID(ref); ok {
		return id, nil
	}
	a, err := s.GetBySlug(ctx, ref)
	if err != nil {
		return 0, err
	}
	return a.ID, nil
}

// Create creates an agent. Without a slug the server makes one from the
// title. A 422 *Error lists the invalid fields.
func (s *AgentsService) Create(ctx context.Context, spec *AgentSpec) (*Agent, error) {
	var a Agent
	if err := s.c.do(ctx, &request{method: http.MethodPost, path: "/api/v1/agents", body: spec}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Update replaces the definition of agent id with spec (a PUT: fields
// that spec leaves zero go back to their defaults).
func (s *AgentsService) Update(ctx context.Context, id int64, spec *AgentSpec) (*Agent, error) {
	var a Agent
	if err := s.c.do(ctx, &request{method: http.MethodPut, path: pathf("/api/v1/agents/%d", id), body: spec}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// Patch changes only the given fields of agent id (native API keys, for
// example {"model": "tess-5"}).
func (s *AgentsService) Patch(ctx context.Context, id int64, fields map[string]any) (*Agent, error) {
	var a Agent
	if err := s.c.do(ctx, &request{method: http.MethodPatch, path: pathf("/api/v1/agents/%d", id), body: fields}, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// ApplyResult says what Apply did.
type ApplyResult string

const (
	Created ApplyResult = "created"
	Updated ApplyResult = "updated"
)

// ErrNoSlug is returned by Apply for a spec without a slug.
var ErrNoSlug = errors.New("an applied agent needs a slug")

// Apply creates the agent spec describes, or replaces the definition of
// the workspace's agent with its slug: applying the same spec again
// leaves one agent with the same id and definition. The spec must have a
// slug (ErrNoSlug).
func (s *AgentsService) Apply(ctx context.Context, spec *AgentSpec) (*Agent, ApplyResult, error) {
	if spec.Slug == "" {
		return nil, "", ErrNoSlug
	}
	existing, err := s.GetBySlug(ctx, spec.Slug)
	var e *Error
	var a *Agent
	result := Updated
	switch {
	case errors.As(err, &e) && e.Status == http.StatusNotFound:
		a, err = s.Create(ctx, spec)
		result = Created
	case err == nil:
		a, err = s.Update(ctx, existing.ID, spec)
	}
	if err != nil {
		return nil, "", err
	}
	return a, result, nil
}

// Delete deletes the agent named by ref (an id or a slug). Its executions
// are kept.
func (s *AgentsService) Delete(ctx context.Context, ref string) error {
	id, err := s.Resolve(ctx, ref)
	if err != nil {
		return err
	}
	return s.c.do(ctx, &request{method: http.MethodDelete, path: pathf("/api/v1/agents/%d", id)}, nil)
}

// parseID reads a positive integer id.
func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}
