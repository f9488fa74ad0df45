package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Statuses of an Execution.
const (
	StatusPending   = "pending"
	StatusRunning   = "running"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
	StatusTimeout   = "timeout"
)

// Terminal reports whether status is final.
func Terminal(status string) bool {
	switch status {
	case StatusCompleted, StatusFailed, StatusCancelled, StatusTimeout:
		return true
	}
	return false
}

// Execution is an execution with its iterations (the agent-instance
// surface's AgentExecutionResponse).
type Execution struct {
	ID          int64  `json:"id"`
	AgentID     int64  `json:"agent_id"`
	TriggerType string `json:"trigger_type"`
	// TriggeredBy is the id of the API key that started it.
	TriggeredBy *int64 `json:"triggered_by"`
	// Status is pending, running, completed, failed, cancelled or timeout.
	Status          string         `json:"status"`
	InputData       map[string]any `json:"input_data"`
	OutputData      map[string]any `json:"output_data"`
	ErrorMessage    string         `json:"error_message"`
	ContextType     string         `json:"context_type"`
	ContextID       *int64         `json:"context_id"`
	StartedAt       *time.Time     `json:"started_at"`
	CompletedAt     *time.Time     `json:"completed_at"`
	ExecutionTimeMS *int64         `json:"execution_time_ms"`
	IterationCount  int            `json:"iteration_count"`
	Iterations      []Iteration    `json:"iterations"`
	ToolsUsed       []string       `json:"tools_used"`
	TotalTokens     int64          `json:"total_tokens"`
	// TotalCost is in US dollars.
	TotalCost    float64 `json:"total_cost"`
	ModelUsed    string  `json:"model_used"`
	Success      bool    `json:"success"`
	ActionsTaken int     `json:"actions_taken"`
	// ExtraMetadata holds instance_id, root_id, attempt, stop_reason,
	// credits and usage.
	ExtraMetadata map[string]any `json:"extra_metadata"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// Output returns the final answer (output_data.output).
func (e *Execution) Output() string {
	s, _ := e.OutputData["output"].(string)
	return s
}

// Terminal reports whether the execution has ended.
func (e *Execution) Terminal() bool { return Terminal(e.Status) }

// Iteration is one step of the tool loop: a tool call and what the tool
// answered, or the final answer (Action "final_answer").
type Iteration struct {
	Iteration   int             `json:"iteration"`
	Thought     string          `json:"thought"`
	Action      string          `json:"action"`
	ActionInput json.RawMessage `json:"action_input"`
	Observation string          `json:"observation"`
	// Error is set when the tool failed; the model saw it as the
	// observation.
	Error        string    `json:"error,omitempty"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	LatencyMS    int64     `json:"latency_ms"`
	Timestamp    time.Time `json:"timestamp"`
	// ProviderAttempts are the model calls of the step that failed before
	// one answered.
	ProviderAttempts []ProviderAttempt `json:"provider_attempts,omitempty"`
}

// FinalAnswer is the Action of the step that answered.
const FinalAnswer = "final_answer"

// ProviderAttempt is one failed model call of a step.
type ProviderAttempt struct {
	Attempt    int    `json:"attempt"`
	Model      string `json:"model"`
	Kind       string `json:"kind"`
	StatusCode int    `json:"status_code,omitempty"`
	Message    string `json:"message"`
	WaitMS     int64  `json:"wait_ms"`
}

// ExecutionsService reads and cancels executions
// (/api/v1/ai/agents/executions).
type ExecutionsService struct{ c *Client }

// ExecutionListOptions filters a list of executions; zero fields do not
// filter.
type ExecutionListOptions struct {
	AgentID    int64
	InstanceID int64
	// Status is pending, running, completed, failed, cancelled or timeout.
	Status string
	// TriggerType is api, manual, scheduled or event.
	TriggerType   string
	ContextType   string
	ContextID     int64
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// Skip and Limit page the list (the server's default limit is 50, at
	// most 200).
	Skip  int
	Limit int
}

func (o *ExecutionListOptions) query() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	setInt := func(k string, v int64) {
		if v > 0 {
			q.Set(k, strconv.FormatInt(v, 10))
		}
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	setTime := func(k string, t time.Time) {
		if !t.IsZero() {
			q.Set(k, t.UTC().Format(time.RFC3339))
		}
	}
	setInt("agent_id", o.AgentID)
	setInt("instance_id", o.InstanceID)
	setInt("context_id", o.ContextID)
	setInt("skip", int64(o.Skip))
	setInt("limit", int64(o.Limit))
	set("status", o.Status)
	set("trigger_type", o.TriggerType)
	set("context_type", o.ContextType)
	setTime("created_after", o.CreatedAfter)
	setTime("created_before", o.CreatedBefore)
	return q
}

// ExecutionList is one page of executions, newest first.
type ExecutionList struct {
	Items []*Execution `json:"items"`
	Total int          `json:"total"`
	Skip  int          `json:"skip"`
	Limit int          `json:"limit"`
}

// List returns executions of the workspace, newest first. A bad filter is
// a 422 *Error naming it ("query.status").
func (s *ExecutionsService) List(ctx context.Context, opts *ExecutionListOptions) (*ExecutionList, error) {
	var out ExecutionList
	if err := s.c.do(ctx, &request{method: http.MethodGet, path: "/api/v1/ai/agents/executions", query: opts.query()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get returns execution id with its iterations; 404 when there is none.
func (s *ExecutionsService) Get(ctx context.Context, id int64) (*Execution, error) {
	var e Execution
	if err := s.c.do(ctx, &request{method: http.MethodGet, path: pathf("/api/v1/ai/agents/executions/%d", id)}, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// CancelResult is the state of an execution after a cancel.
type CancelResult struct {
	ID              int64  `json:"id"`
	Status          string `json:"status"`
	CancelRequested bool   `json:"cancel_requested"`
}

// Cancel cancels a queued or running execution: a queued one ends at once,
// a running one within moments (follow its events to see it end).
// Cancelling a finished execution is a 409 *Error.
func (s *ExecutionsService) Cancel(ctx context.Context, id int64) (*CancelResult, error) {
	var out CancelResult
	if err := s.c.do(ctx, &request{method: http.MethodPost, path: pathf("/api/v1/ai/agents/executions/%d/cancel", id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
