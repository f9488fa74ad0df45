package tessera

import (
	"encoding/json"
	"time"
)

// Iteration is one step of the tool loop: a tool call the model asked for
// with what the tool answered, or the final answer (Action FinalAnswer).
// Iterations are persisted as they happen, so a running execution shows
// its progress.
type Iteration struct {
	ExecutionID int64 `json:"execution_id"`
	// Attempt is the attempt that ran the step; a retried execution shows
	// the steps of its latest attempt.
	Attempt int `json:"attempt"`
	// Iteration numbers the steps of an attempt from 1.
	Iteration   int             `json:"iteration"`
	Thought     string          `json:"thought"`
	Action      string          `json:"action"`
	ActionInput json.RawMessage `json:"action_input"`
	Observation string          `json:"observation"`
	// Error is set when the tool failed (the model saw it as the observation).
	Error        string    `json:"error,omitempty"`
	InputTokens  int64     `json:"input_tokens"`
	OutputTokens int64     `json:"output_tokens"`
	LatencyMS    int64     `json:"latency_ms"`
	Timestamp    time.Time `json:"timestamp"`
	// ProviderAttempts are the model calls of this step that failed before
	// one answered (retries and fallbacks); empty when the first answered.
	ProviderAttempts []ProviderAttempt `json:"provider_attempts,omitempty"`
}

// ProviderAttempt is one failed model call.
type ProviderAttempt struct {
	Attempt    int    `json:"attempt"`
	Model      string `json:"model"`
	Kind       string `json:"kind"`
	StatusCode int    `json:"status_code,omitempty"`
	Message    string `json:"message"`
	// WaitMS is how long the next call waited.
	WaitMS int64 `json:"wait_ms"`
}

// FinalAnswer is the Action of the step that answered.
const FinalAnswer = "final_answer"

// Stop reasons of an execution's tool loop.
const (
	StopFinalAnswer   = "final_answer"
	StopMaxIterations = "max_iterations"
	// StopInvalidOutput: the final answer did not satisfy the agent's
	// output_schema, even after a repair.
	StopInvalidOutput = "invalid_output"
)
