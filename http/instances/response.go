package instances

import (
	"encoding/json"
	"time"

	"github.com/tessera-run/tessera"
)

// IterationData is seed 003's iteration.
type IterationData struct {
	Iteration   int             `json:"iteration"`
	Thought     string          `json:"thought"`
	Action      string          `json:"action"`
	ActionInput json.RawMessage `json:"action_input"`
	Observation string          `json:"observation"`
	Timestamp   string          `json:"timestamp"`
	// Beyond the seed: what each step cost and whether its tool failed.
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	LatencyMS    int64  `json:"latency_ms"`
	Error        string `json:"error,omitempty"`
	// ProviderAttempts are the model calls of the step that failed before
	// one answered (retries, fallbacks).
	ProviderAttempts []tessera.ProviderAttempt `json:"provider_attempts,omitempty"`
}

// ExecutionResponse is seed 003's AgentExecutionResponse, every field.
type ExecutionResponse struct {
	ID              int64           `json:"id"`
	AgentID         int64           `json:"agent_id"`
	TriggerType     string          `json:"trigger_type"`
	TriggeredBy     *int64          `json:"triggered_by"`
	Status          string          `json:"status"`
	InputData       map[string]any  `json:"input_data"`
	OutputData      map[string]any  `json:"output_data"`
	ErrorMessage    *string         `json:"error_message"`
	ContextType     *string         `json:"context_type"`
	ContextID       *int64          `json:"context_id"`
	StartedAt       *string         `json:"started_at"`
	CompletedAt     *string         `json:"completed_at"`
	ExecutionTimeMS *int64          `json:"execution_time_ms"`
	IterationCount  int             `json:"iteration_count"`
	Iterations      []IterationData `json:"iterations"`
	ToolsUsed       []string        `json:"tools_used"`
	TotalTokens     int64           `json:"total_tokens"`
	TotalCost       float64         `json:"total_cost"`
	ModelUsed       *string         `json:"model_used"`
	Success         bool            `json:"success"`
	ActionsTaken    int             `json:"actions_taken"`
	ExtraMetadata   map[string]any  `json:"extra_metadata"`
	CreatedAt       string          `json:"created_at"`
	UpdatedAt       string          `json:"updated_at"`
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

func isoPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := isoTime(*t)
	return &s
}

// toResponse renders an execution and its steps in seed 003's shape.
func toResponse(ex *tessera.Execution, its []*tessera.Iteration) ExecutionResponse {
	r := ExecutionResponse{
		ID: ex.ID, AgentID: ex.AgentID, TriggerType: ex.TriggerType, TriggeredBy: ex.APIKeyID, Status: seedStatus(ex.Status),
		InputData: ex.Inputs, ContextID: ex.ContextID, StartedAt: isoPtr(ex.StartedAt), CompletedAt: isoPtr(ex.CompletedAt),
		Iterations: []IterationData{}, ToolsUsed: []string{}, TotalTokens: ex.Usage.Total(), TotalCost: ex.Cost,
		Success: ex.Status == tessera.StatusCompleted, CreatedAt: isoTime(ex.CreatedAt), UpdatedAt: isoTime(ex.UpdatedAt),
		ExtraMetadata: map[string]any{
			"instance_id": ex.InstanceID, "root_id": ex.RootID, "attempt": ex.Attempt, "stop_reason": ex.StopReason,
			"credits": ex.Credits, "usage": ex.Usage, "model": ex.Model, "tools": ex.Tools,
			"agent_version": ex.AgentVersion,
		},
	}
	// The input data as sent, kept in the metadata by buildRequest; the
	// validated answers are only the fields the agent's questions name.
	var meta struct {
		InputData map[string]any `json:"input_data"`
	}
	if json.Unmarshal(ex.Metadata, &meta) == nil && meta.InputData != nil {
		r.InputData = meta.InputData
	}
	if r.InputData == nil {
		r.InputData = map[string]any{}
	}
	if ex.ContextType != "" {
		r.ContextType = &ex.ContextType
	}
	if ex.ModelUsed != "" {
		r.ModelUsed = &ex.ModelUsed
	}
	if ex.Status.Terminal() {
		if ex.Status == tessera.StatusCompleted || ex.Output != "" {
			r.OutputData = map[string]any{"output": ex.Output}
			if ex.StructuredOutput != nil {
				// The parsed object, validated against the agent's output_schema.
				r.OutputData["parsed"] = ex.StructuredOutput
			}
		}
		if ex.Error != "" {
			r.ErrorMessage = &ex.Error
		}
	}
	if ex.StartedAt != nil && ex.CompletedAt != nil {
		ms := ex.CompletedAt.Sub(*ex.StartedAt).Milliseconds()
		r.ExecutionTimeMS = &ms
	}
	seen := map[string]bool{}
	for _, it := range its {
		r.Iterations = append(r.Iterations, IterationData{
			Iteration: it.Iteration, Thought: it.Thought, Action: it.Action, ActionInput: it.ActionInput,
			Observation: it.Observation, Timestamp: isoTime(it.Timestamp), InputTokens: it.InputTokens, ProviderAttempts: it.ProviderAttempts,
			OutputTokens: it.OutputTokens, LatencyMS: it.LatencyMS, Error: it.Error,
		})
		if it.Action != tessera.FinalAnswer {
			r.ActionsTaken++
			if !seen[it.Action] {
				seen[it.Action] = true
				r.ToolsUsed = append(r.ToolsUsed, it.Action)
			}
		}
	}
	r.IterationCount = len(r.Iterations)
	return r
}
