package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
)

// agentToolPrefix names another agent of the workspace as a tool:
// "agent:<slug>".
const agentToolPrefix = "agent:"

// MaxAgentDepth bounds agents calling agents calling agents.
const MaxAgentDepth = 3

var agentToolRE = regexp.MustCompile(`^agent:[a-z0-9]+(-[a-z0-9]+)*$`)

// lineage is what an execution started by an agent tool records of its
// parent, in its metadata.
type lineage struct {
	ParentExecutionID int64 `json:"parent_execution_id,omitempty"`
	AgentDepth        int   `json:"agent_depth,omitempty"`
}

func lineageOf(ex *tessera.Execution) lineage {
	var l lineage
	_ = json.Unmarshal(ex.Metadata, &l) // metadata without lineage is depth 0
	return l
}

// rollup sums what the sub-agents of one run cost, to add to the run's own.
type rollup struct {
	mu      sync.Mutex
	usage   tessera.Usage
	cost    float64
	credits float64
}

func (r *rollup) add(ex *tessera.Execution) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.usage.InputTokens += ex.Usage.InputTokens
	r.usage.OutputTokens += ex.Usage.OutputTokens
	r.usage.CachedInputTokens += ex.Usage.CachedInputTokens
	r.usage.ReasoningTokens += ex.Usage.ReasoningTokens
	r.cost += ex.Cost
	r.credits += ex.Credits
}

func (r *rollup) apply(o *outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o.usage.InputTokens += r.usage.InputTokens
	o.usage.OutputTokens += r.usage.OutputTokens
	o.usage.CachedInputTokens += r.usage.CachedInputTokens
	o.usage.ReasoningTokens += r.usage.ReasoningTokens
	o.cost += r.cost
	o.credits += r.credits
}

// agentTools builds the tools that call other agents of the workspace.
func (e *Engine) agentTools(ctx context.Context, parent *tessera.Execution, names []string, acc *rollup) ([]tool.Tool, error) {
	var out []tool.Tool
	for _, n := range names {
		slug := strings.TrimPrefix(n, agentToolPrefix)
		a, err := e.store.AgentGetBySlug(ctx, parent.WorkspaceID, slug)
		if tessera.ErrorCode(err) == tessera.ENOTFOUND {
			return nil, tessera.Errorf(tessera.EINVALID, "The agent tool %q names no agent of this workspace.", n)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, &agentTool{e: e, parent: parent, agent: a, acc: acc})
	}
	return out, nil
}

// agentTool runs another agent as a tool: a child execution whose answer is
// the observation and whose cost is added to the parent's.
type agentTool struct {
	e      *Engine
	parent *tessera.Execution
	agent  *tessera.Agent
	acc    *rollup
}

func (t *agentTool) Name() string {
	name := "agent_" + strings.ReplaceAll(t.agent.Slug, "-", "_")
	return name[:min(len(name), 64)]
}

func (t *agentTool) Description() string {
	d := "Ask the agent \"" + t.agent.Title + "\""
	if t.agent.Description != "" {
		d += ": " + t.agent.Description
	}
	return d + ". Give it the request as input."
}

func (t *agentTool) Parameters() json.RawMessage {
	return json.RawMessage(`{"type":"object","properties":{"input":{"type":"string","description":"what to ask the agent"}},"required":["input"]}`)
}

func (t *agentTool) Call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	var in map[string]json.RawMessage
	if err := json.Unmarshal(args, &in); err != nil {
		return tool.Result{}, fmt.Errorf("the arguments must be a JSON object with an input")
	}
	var input string
	if json.Unmarshal(in["input"], &input) != nil || strings.TrimSpace(input) == "" {
		return tool.Result{}, fmt.Errorf("the input argument (a string) is required")
	}
	depth := lineageOf(t.parent).AgentDepth + 1
	if depth > MaxAgentDepth {
		return tool.Result{}, fmt.Errorf("agents may call agents at most %d deep", MaxAgentDepth)
	}
	meta, _ := json.Marshal(lineage{ParentExecutionID: t.parent.ID, AgentDepth: depth})
	child, err := t.e.Submit(ctx, &ExecuteRequest{
		WorkspaceID: t.parent.WorkspaceID, AgentID: t.agent.ID, APIKeyID: t.parent.APIKeyID, Inputs: in,
		Messages: []tessera.Message{{Role: tessera.RoleUser, Content: input}}, TriggerType: t.parent.TriggerType, Metadata: meta,
	})
	if err != nil {
		return tool.Result{}, fmt.Errorf("the agent %q refused the request: %s", t.agent.Slug, tessera.ErrorMessage(err))
	}
	done, err := t.e.Wait(ctx, child.WorkspaceID, child.ID, t.e.cfg.MaxWait)
	if err != nil || ctx.Err() != nil || !done.Status.Terminal() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = t.e.Cancel(cctx, child.WorkspaceID, child.ID) // the caller gave up on it
		if ctx.Err() != nil {
			return tool.Result{}, ctx.Err()
		}
		return tool.Result{}, fmt.Errorf("the agent %q did not answer in time", t.agent.Slug)
	}
	t.acc.add(done)
	if done.Status != tessera.StatusCompleted {
		return tool.Result{}, fmt.Errorf("the agent %q failed: %s", t.agent.Slug, done.Error)
	}
	return tool.Result{Content: done.Output}, nil
}
