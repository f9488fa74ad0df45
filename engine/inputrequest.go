package engine

import (
	"encoding/json"
	"strings"

	"github.com/tessera-run/tessera"
)

// messageFields are the input fields that, when the agent has no prompt
// template, are the user's message (input data is free-form).
var messageFields = []string{"message", "input", "query"}

// InputRequest maps free-form input data (seed 003's execute body, a
// schedule's input, an inbound event) onto a request: the instance's input
// defaults under the input and its overrides of the agent (inst may be
// nil), and, when the agent has no prompt template, the user's message from
// a message, input or query field, else the input as JSON. The input as
// given is kept in the metadata as "input_data", with extra's keys.
func InputRequest(agent *tessera.Agent, inst *tessera.Instance, input map[string]json.RawMessage, extra map[string]any) *ExecuteRequest {
	inputs := map[string]json.RawMessage{}
	req := &ExecuteRequest{AgentID: agent.ID, WorkspaceID: agent.WorkspaceID}
	if inst != nil {
		for k, v := range inst.Config.InputDefaults {
			if b, err := json.Marshal(v); err == nil {
				inputs[k] = b
			}
		}
		req.Model, req.Temperature, req.MaxIterations = inst.Config.Model, inst.Config.Temperature, inst.Config.MaxIterations
		req.InstanceID, req.Instance = &inst.ID, inst
	}
	for k, v := range input {
		inputs[k] = v
	}
	req.Inputs = inputs
	if strings.TrimSpace(agent.Prompt) == "" {
		req.Messages = []tessera.Message{{Role: tessera.RoleUser, Content: inputMessage(inputs)}}
	}
	meta := map[string]any{"input_data": input}
	for k, v := range extra {
		meta[k] = v
	}
	if b, err := json.Marshal(meta); err == nil {
		req.Metadata = b
	}
	return req
}

func inputMessage(inputs map[string]json.RawMessage) string {
	for _, f := range messageFields {
		var s string
		if raw, ok := inputs[f]; ok && json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) != "" {
			return s
		}
	}
	b, _ := json.Marshal(inputs) // raw values came from decoded JSON
	return string(b)
}
