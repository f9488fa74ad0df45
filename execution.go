package tessera

import (
	"encoding/json"
	"time"
)

// Status is the one internal state machine of an execution:
// queued → running → completed | failed | cancelled | timeout.
// Each API surface maps it to its own vocabulary.
type Status string

const (
	StatusQueued    Status = "queued"
	StatusRunning   Status = "running"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusCancelled Status = "cancelled"
	StatusTimeout   Status = "timeout"
)

// Terminal reports whether s is final: a terminal execution never changes
// status again.
func (s Status) Terminal() bool {
	switch s {
	case StatusCompleted, StatusFailed, StatusCancelled, StatusTimeout:
		return true
	}
	return false
}

// Trigger types (seed 003's trigger_type).
const (
	TriggerAPI       = "api"
	TriggerManual    = "manual"
	TriggerScheduled = "scheduled"
	TriggerEvent     = "event"
)

// Message roles.
const (
	RoleDeveloper = "developer"
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Message is one chat message of a turn.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Usage is the token usage of an execution, summed over its model calls.
type Usage struct {
	InputTokens       int64 `json:"input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens"`
	// ReasoningTokens are the part of OutputTokens spent thinking, where
	// the provider reports them.
	ReasoningTokens int64 `json:"reasoning_tokens"`
}

// Total returns input plus output tokens.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Execution is one run of an agent (Tess: an agent response).
type Execution struct {
	ID          int64 `json:"id"`
	WorkspaceID int64 `json:"workspace_id"`
	AgentID     int64 `json:"agent_id"`
	// RootID names the thread: the first execution of a thread is its own root.
	RootID      int64  `json:"root_id"`
	Status      Status `json:"status"`
	TriggerType string `json:"trigger_type"`
	// AgentVersion is the version of its agent the execution ran.
	AgentVersion int    `json:"agent_version"`
	APIKeyID     *int64 `json:"api_key_id,omitempty"`
	// InstanceID is set for executions of an agent instance (seed 003).
	InstanceID *int64 `json:"instance_id,omitempty"`
	// ContextType and ContextID tie the execution to a business object
	// (seed 003: deal, contact, lead); they reach the model and the tools.
	ContextType string `json:"context_type,omitempty"`
	ContextID   *int64 `json:"context_id,omitempty"`
	// MaxIterations caps the tool loop of this execution.
	MaxIterations int `json:"max_iterations"`
	// StopReason says why the tool loop ended.
	StopReason string `json:"stop_reason,omitempty"`
	// Input is the display form of the input: the last user message for chat
	// agents, the rendered prompt for text agents.
	Input string `json:"input"`
	// Inputs holds the validated answers to the agent's questions.
	Inputs map[string]any `json:"inputs"`
	// Messages are the messages this turn added (an optional leading
	// developer message, then alternating user and assistant messages ending
	// with the user's). Earlier turns of the thread are not repeated here.
	Messages []Message `json:"messages"`
	// Model is the model as requested (alias or name); ModelUsed is the
	// provider/model that ran.
	Model       string   `json:"model"`
	ModelUsed   string   `json:"model_used"`
	Temperature *float64 `json:"temperature"`
	Tools       string   `json:"tools"`
	Output      string   `json:"output"`
	// StructuredOutput is the final answer parsed and validated against
	// the agent's output_schema; nil when the agent declares none.
	StructuredOutput json.RawMessage `json:"structured_output,omitempty"`
	Error            string          `json:"error"`
	Usage            Usage           `json:"usage"`
	// Cost is in US dollars; Credits is Cost times the model's multiplier.
	Cost    float64 `json:"cost"`
	Credits float64 `json:"credits"`
	// TimeoutMS is this execution's deadline in milliseconds; 0 means the
	// server's default.
	TimeoutMS int64 `json:"timeout_ms"`
	// CancelRequested is set by a cancel while the execution runs; its
	// worker stops and ends it as cancelled.
	CancelRequested bool `json:"cancel_requested"`
	// LastEventSeq is the Seq of the execution's latest event.
	LastEventSeq int64 `json:"last_event_seq"`
	// Attempt counts claims; writes by a worker are fenced by it.
	Attempt        int        `json:"attempt"`
	LeaseExpiresAt *time.Time `json:"lease_expires_at,omitempty"`
	JobID          int64      `json:"job_id"`
	// IdempotencyKey and RequestHash make retried submissions return the
	// execution they created the first time.
	IdempotencyKey string          `json:"-"`
	RequestHash    string          `json:"-"`
	Metadata       json.RawMessage `json:"metadata,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	StartedAt      *time.Time      `json:"started_at,omitempty"`
	CompletedAt    *time.Time      `json:"completed_at,omitempty"`
}
