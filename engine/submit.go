package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
)

// ExecuteRequest is a request to run an agent, built by each API surface
// from its own wire format.
type ExecuteRequest struct {
	WorkspaceID int64
	APIKeyID    *int64
	AgentID     int64
	// Inputs are the raw answers to the agent's questions.
	Inputs map[string]json.RawMessage
	// Messages as sent; nil when the request had none.
	Messages    []tessera.Message
	Temperature *float64
	Model       string
	// Tools as sent ("no-tools", "" or a tool set name).
	Tools       string
	RootID      int64
	FileIDs     []int64
	TriggerType string
	// Timeout asks for a deadline shorter than the agent's (0: the agent's).
	Timeout time.Duration
	// MultitaskStrategy overrides the agent's thread policy ("" keeps it).
	MultitaskStrategy string
	// MaxIterations overrides the agent's cap on model calls (0 keeps it).
	MaxIterations int
	// Metadata is stored on the execution (an agent tool's lineage).
	Metadata json.RawMessage
	// InstanceID, ContextType and ContextID come from seed 003's surface;
	// Instance is the instance InstanceID names, whose overrides and
	// declared tools apply.
	InstanceID  *int64
	Instance    *tessera.Instance
	ContextType string
	ContextID   *int64
	// IdempotencyKey and RequestHash deduplicate retried submissions.
	IdempotencyKey string
	RequestHash    string
}

// Submit validates req against its agent and creates the execution with
// its job. It returns ENOTFOUND for an unknown agent or root_id, EINVALID
// with per-field messages for bad input, ECONFLICT for an Idempotency-Key
// reused with another body.
func (e *Engine) Submit(ctx context.Context, req *ExecuteRequest) (*tessera.Execution, error) {
	agent, err := e.store.AgentGetByID(ctx, &tessera.AgentGetParams{ID: req.AgentID, WorkspaceID: req.WorkspaceID})
	if err != nil {
		return nil, err
	}
	prepared, err := e.prepare(ctx, agent, req)
	if err != nil {
		return nil, err
	}
	if err := e.applyThreadPolicy(ctx, agent, req, prepared.RootID); err != nil {
		return nil, err
	}
	ex, created, err := e.store.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Execution: prepared, Now: e.cfg.Now()})
	if err != nil {
		return nil, err
	}
	if created {
		e.dispatch(ex.ID)
	}
	return ex, nil
}

// prepare turns a request into the execution row to insert.
func (e *Engine) prepare(ctx context.Context, agent *tessera.Agent, req *ExecuteRequest) (*tessera.Execution, error) {
	var v tessera.ValidationErrors
	inputs, err := ValidateInputs(agent.Questions, req.Inputs)
	if err != nil {
		v.Merge(err)
	}
	temp := agent.Temperature
	if req.Temperature != nil {
		temp = req.Temperature
		if *temp < 0 || *temp > 2 {
			v.Add("temperature", "The temperature must be between 0 and 2.")
		}
	}
	model := req.Model
	if model == "" {
		model = agent.Model
	}
	if _, err := e.cfg.Registry.Resolve(model); err != nil {
		v.Add("model", "%s", err.Error())
	}
	tools, err := e.effectiveTools(agent, req.Instance, req.Tools)
	if err != nil {
		v.Add("tools", "%s", tessera.ErrorMessage(err))
	}
	maxIter := agent.MaxIterations
	if req.MaxIterations != 0 {
		if req.MaxIterations < 1 || req.MaxIterations > tessera.MaxIterationsCap {
			v.Add("max_iterations", "The max_iterations must be between 1 and %d.", tessera.MaxIterationsCap)
		}
		maxIter = req.MaxIterations
	}
	for _, id := range req.FileIDs {
		// There is no file store yet, so every id is unknown: refusing is
		// better than silently running without the files.
		v.Add("file_ids", "The file %d does not exist.", id)
	}
	timeout := e.cfg.Timeout
	if agent.TimeoutSeconds > 0 {
		timeout = time.Duration(agent.TimeoutSeconds) * time.Second
	}
	switch {
	case req.Timeout < 0:
		v.Add("timeout", "The timeout must be positive.")
	case req.Timeout > 0 && req.Timeout > timeout:
		v.Add("timeout", "The timeout may not be longer than the agent's (%s).", timeout)
	case req.Timeout > 0:
		timeout = req.Timeout
	}
	timeout = min(timeout, e.cfg.MaxTimeout)
	if req.MultitaskStrategy != "" && !tessera.ValidMultitask(req.MultitaskStrategy) {
		v.Add("multitask_strategy", "The multitask_strategy must be one of: enqueue, reject, interrupt.")
	}
	var history []tessera.Message
	rootID := int64(0)
	if req.RootID != 0 {
		root, turns, err := e.thread(ctx, req.WorkspaceID, agent.ID, req.RootID)
		if err != nil {
			return nil, err
		}
		history = historyOf(turns, 0)
		rootID = root
	}
	msgs, input, err := turnMessages(agent, inputs, req.Messages, history)
	if err != nil {
		v.Merge(err)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	trigger := req.TriggerType
	if trigger == "" {
		trigger = tessera.TriggerAPI
	}
	return &tessera.Execution{
		WorkspaceID: req.WorkspaceID, AgentID: agent.ID, RootID: rootID, Status: tessera.StatusQueued,
		TriggerType: trigger, AgentVersion: agent.Version, APIKeyID: req.APIKeyID, Input: input, Inputs: inputs, Messages: msgs,
		Model: model, Temperature: temp, Tools: tools, TimeoutMS: timeout.Milliseconds(), MaxIterations: maxIter,
		InstanceID: req.InstanceID, ContextType: req.ContextType, ContextID: req.ContextID,
		IdempotencyKey: req.IdempotencyKey, RequestHash: req.RequestHash, Metadata: req.Metadata,
	}, nil
}

// effectiveTools is the tool set an execution runs with, as names joined
// by commas: the request's Tess value ("no-tools", "internet", a site
// name, declared tool names…), or for "agent" or nothing the agent's own
// set (see ownTools). Unknown names are EINVALID.
func (e *Engine) effectiveTools(agent *tessera.Agent, inst *tessera.Instance, requested string) (string, error) {
	names := toolNames(requested)
	if requested == "" || (len(names) == 1 && names[0] == "agent") {
		names = ownTools(agent, inst)
	}
	if len(names) == 0 {
		return "no-tools", nil
	}
	if _, err := e.plan(names, declared(agent, inst)); err != nil {
		return "", err
	}
	return strings.Join(names, ","), nil
}

// applyThreadPolicy handles a new turn of a busy thread: enqueue lets it
// wait its turn (the claim refuses to run it before the earlier ones end),
// reject refuses it, interrupt cancels the earlier turns.
func (e *Engine) applyThreadPolicy(ctx context.Context, agent *tessera.Agent, req *ExecuteRequest, rootID int64) error {
	policy := cmp.Or(req.MultitaskStrategy, agent.MultitaskStrategy, tessera.MultitaskEnqueue)
	if rootID == 0 || policy == tessera.MultitaskEnqueue {
		return nil
	}
	active, _, err := e.store.ExecutionList(ctx, &tessera.ExecutionListParams{
		WorkspaceID: req.WorkspaceID, RootID: rootID, Statuses: []tessera.Status{tessera.StatusQueued, tessera.StatusRunning}, Limit: 100,
	})
	if err != nil {
		return err
	}
	if len(active) == 0 {
		return nil
	}
	if policy == tessera.MultitaskReject {
		return tessera.Errorf(tessera.ECONFLICT, "The thread %d is busy: execution %d has not finished (multitask_strategy is reject).", rootID, active[0].ID)
	}
	for _, ex := range active {
		if _, err := e.Cancel(ctx, req.WorkspaceID, ex.ID); err != nil && tessera.ErrorCode(err) != tessera.ECONFLICT {
			return err
		}
	}
	return nil
}

// thread returns the root and the turns of the thread that execution
// rootID belongs to, checking that it exists in the workspace and belongs to
// the same agent. A root_id may name any turn of a thread.
func (e *Engine) thread(ctx context.Context, workspaceID, agentID, rootID int64) (int64, []*tessera.Execution, error) {
	root, err := e.store.ExecutionGetByID(ctx, &tessera.ExecutionGetParams{ID: rootID, WorkspaceID: workspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		return 0, nil, invalidField("root_id", fmt.Sprintf("The root_id %d does not name an execution of this workspace.", rootID))
	}
	if err != nil {
		return 0, nil, err
	}
	if root.AgentID != agentID {
		return 0, nil, invalidField("root_id", fmt.Sprintf("The root_id %d belongs to another agent.", rootID))
	}
	turns, err := e.store.ExecutionThread(ctx, &tessera.ExecutionThreadParams{WorkspaceID: workspaceID, RootID: root.RootID, BeforeID: 1 << 62})
	return root.RootID, turns, err
}

// turnMessages builds the messages this turn adds, and the display input.
func turnMessages(agent *tessera.Agent, inputs map[string]any, sent, history []tessera.Message) ([]tessera.Message, string, error) {
	known := questionSet(agent)
	prompt := strings.TrimSpace(Render(agent.Prompt, inputs, known))
	if agent.Type == tessera.AgentTypeText {
		if prompt == "" {
			prompt = listInputs(agent, inputs)
		}
		if prompt == "" && len(sent) > 0 && sent[len(sent)-1].Role == tessera.RoleUser {
			// No template and no answers: the caller's message is the prompt.
			prompt = sent[len(sent)-1].Content
		}
		if prompt == "" {
			return nil, "", invalidField("prompt", "This text agent has no prompt template and no inputs were given.")
		}
		return []tessera.Message{{Role: tessera.RoleUser, Content: prompt}}, prompt, nil
	}
	if len(sent) == 0 {
		if prompt == "" {
			return nil, "", invalidMessages("The messages field is required.")
		}
		// A chat agent with a prompt template may run from its inputs alone.
		return []tessera.Message{{Role: tessera.RoleUser, Content: prompt}}, prompt, nil
	}
	if err := CheckMessages(sent); err != nil {
		return nil, "", err
	}
	var dev []tessera.Message
	rest := sent
	if rest[0].Role == tessera.RoleDeveloper {
		dev, rest = rest[:1], rest[1:]
	}
	rest = dropHistoryPrefix(history, rest)
	msgs := append(append([]tessera.Message{}, dev...), rest...)
	return msgs, rest[len(rest)-1].Content, nil
}

func questionSet(agent *tessera.Agent) func(string) bool {
	return func(name string) bool {
		for _, q := range agent.Questions {
			if q.Name == name {
				return true
			}
		}
		return false
	}
}

// listInputs writes the inputs as "name: value" lines, in question order,
// for text agents without a prompt template.
func listInputs(agent *tessera.Agent, inputs map[string]any) string {
	var b strings.Builder
	for _, q := range agent.Questions {
		if v, ok := inputs[q.Name]; ok {
			fmt.Fprintf(&b, "%s: %s\n", q.Name, FormatValue(v))
		}
	}
	return strings.TrimSpace(b.String())
}

func invalidField(field, msg string) error {
	return &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{field: {msg}}}
}
