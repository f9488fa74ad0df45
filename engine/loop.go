package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/tool"
)

// ToolResolver turns the tool names of an execution into tools.
type ToolResolver interface {
	Resolve(names []string) ([]tool.Tool, error)
}

// toolNames splits an execution's Tools ("no-tools", "internet",
// "calculator,web_search").
func toolNames(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" && part != "no-tools" {
			out = append(out, part)
		}
	}
	return out
}

// loop runs the ReAct loop with native tool calls: the model answers or
// asks for tools; the tools run (in parallel when it asks for several) and
// their observations — errors and panics included, never a stack — go back
// to it; every step is recorded as an iteration as it happens. It stops at
// the final answer or after MaxIterations model calls.
//
// schema, when set, is the output_schema handed to the provider.
func (e *Engine) loop(ctx context.Context, ex *tessera.Execution, res *llm.Resolved, msgs []llm.Message, tools []tool.Tool, schema json.RawMessage, out *output) outcome {
	defs := make([]llm.ToolDef, len(tools))
	byName := make(map[string]tool.Tool, len(tools))
	for i, t := range tools {
		defs[i] = llm.ToolDef{Name: t.Name(), Description: t.Description(), Parameters: t.Parameters()}
		byName[t.Name()] = t
	}
	maxIter := ex.MaxIterations
	if maxIter <= 0 {
		maxIter = tessera.DefaultMaxIterations
	}
	m := newMeter(res)
	step := 0 // iteration numbers: one per tool call, plus the final answer
	last := ""
	for turn := 1; turn <= maxIter; turn++ {
		e.appendEvent(ex, tessera.EventIterationStarted, map[string]int{"turn": turn, "iteration": step + 1})
		start := time.Now()
		resp, err := res.Provider.Generate(ctx, &llm.Request{Model: res.Model, Messages: msgs, Temperature: ex.Temperature, Tools: defs, OutputSchema: schema}, streamFor(res, out))
		if err != nil {
			return e.callFailed(ctx, ex, err, out, m)
		}
		m.add(res, resp)
		latency := time.Since(start).Milliseconds()
		last = clean(resp.Content)
		if len(resp.ToolCalls) == 0 {
			step++
			e.record(ex, &tessera.Iteration{
				Iteration: step, Action: tessera.FinalAnswer, ActionInput: json.RawMessage(`{}`), Observation: last,
				InputTokens: resp.Usage.InputTokens, OutputTokens: resp.Usage.OutputTokens, LatencyMS: latency,
				ProviderAttempts: attempts(resp.Attempts),
			})
			o := outcome{status: tessera.StatusCompleted, output: last, stopReason: tessera.StopFinalAnswer, steps: step}
			m.fill(&o)
			return o
		}
		msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, Content: resp.Content, ToolCalls: resp.ToolCalls})
		obs := e.callTools(ctx, byName, resp.ToolCalls)
		if ctx.Err() != nil {
			o := e.interrupted(ctx, ex, ctx.Err(), out)
			m.fill(&o)
			return o
		}
		for i, c := range resp.ToolCalls {
			step++
			it := &tessera.Iteration{
				Iteration: step, Thought: last, Action: c.Name, ActionInput: actionInput(c.Arguments),
				Observation: obs[i].Content, LatencyMS: obs[i].Duration.Milliseconds(),
			}
			if i == 0 { // the model call that asked for these tools
				it.InputTokens, it.OutputTokens, it.LatencyMS = resp.Usage.InputTokens, resp.Usage.OutputTokens, latency+it.LatencyMS
				it.ProviderAttempts = attempts(resp.Attempts)
			}
			if obs[i].IsError {
				it.Error = obs[i].Content
			}
			e.record(ex, it)
			msgs = append(msgs, llm.Message{Role: llm.RoleTool, ToolCallID: c.ID, Content: obs[i].Content})
		}
	}
	return capReached(m, last, maxIter)
}

// callFailed is the outcome of a loop whose model call failed: what the
// earlier calls used is still billed.
func (e *Engine) callFailed(ctx context.Context, ex *tessera.Execution, err error, out *output, m *meter) outcome {
	o := e.interrupted(ctx, ex, err, out)
	m.fill(&o)
	return o
}

// capReached is the outcome of a loop that used up its iterations.
func capReached(m *meter, last string, maxIter int) outcome {
	o := outcome{
		status: tessera.StatusFailed, output: last,
		errMsg:     fmt.Sprintf("The agent reached its limit of %d iterations without a final answer.", maxIter),
		stopReason: tessera.StopMaxIterations,
	}
	m.fill(&o)
	return o
}

// callTools runs the calls of one model turn in parallel.
func (e *Engine) callTools(ctx context.Context, byName map[string]tool.Tool, calls []llm.ToolCall) []tool.Observation {
	obs := make([]tool.Observation, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		t, ok := byName[c.Name]
		if !ok {
			obs[i] = tool.Observation{IsError: true, Content: fmt.Sprintf("Error: there is no tool named %q; the tools are: %s", c.Name, toolList(byName))}
			continue
		}
		wg.Go(func() {
			obs[i] = tool.Invoke(ctx, t, json.RawMessage(c.Arguments), e.cfg.ToolTimeout, e.cfg.ToolMaxOutput)
			if obs[i].Panic != nil {
				e.log.Error("tool panicked", "tool", c.Name, "panic", obs[i].Panic)
			}
		})
	}
	wg.Wait()
	return obs
}

func toolList(byName map[string]tool.Tool) string {
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// actionInput keeps what the model wrote as the step's input: its JSON
// object, or the raw text when it is not one.
func actionInput(args string) json.RawMessage {
	var obj map[string]any
	if strings.TrimSpace(args) == "" {
		return json.RawMessage(`{}`)
	}
	if json.Unmarshal([]byte(args), &obj) == nil && obj != nil {
		return json.RawMessage(args)
	}
	b, _ := json.Marshal(map[string]string{"raw": clean(args)})
	return b
}

// record persists a step and publishes it; losing the lease drops it (the
// new attempt records its own).
func (e *Engine) record(ex *tessera.Execution, it *tessera.Iteration) {
	it.ExecutionID, it.Attempt, it.Timestamp = ex.ID, ex.Attempt, e.cfg.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.store.IterationAppend(ctx, &tessera.IterationAppendParams{ExecutionID: ex.ID, Attempt: ex.Attempt, Iterations: []*tessera.Iteration{it}, Now: it.Timestamp}); err != nil {
		if tessera.ErrorCode(err) != tessera.ECONFLICT {
			e.log.Warn("record iteration", "execution_id", ex.ID, "err", err)
		}
		return
	}
	e.appendEvent(ex, tessera.EventIterationFinished, it)
}

// appendEvent appends one event of the running attempt and publishes it.
func (e *Engine) appendEvent(ex *tessera.Execution, typ string, data any) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := e.store.EventAppend(ctx, &tessera.EventAppendParams{ExecutionID: ex.ID, Attempt: ex.Attempt, Now: e.cfg.Now(),
		Events: []tessera.EventInput{{Type: typ, Data: data}}})
	if err != nil {
		if tessera.ErrorCode(err) != tessera.ECONFLICT {
			e.log.Warn("append event", "execution_id", ex.ID, "type", typ, "err", err)
		}
		return
	}
	e.events.publish(ex.ID, evs)
	e.notify(ex.ID)
}

func addUsage(a, b llm.Usage) llm.Usage {
	return llm.Usage{InputTokens: a.InputTokens + b.InputTokens, OutputTokens: a.OutputTokens + b.OutputTokens,
		CachedInputTokens: a.CachedInputTokens + b.CachedInputTokens, ReasoningTokens: a.ReasoningTokens + b.ReasoningTokens}
}

func toUsage(u llm.Usage) tessera.Usage {
	return tessera.Usage{InputTokens: u.InputTokens, OutputTokens: u.OutputTokens, CachedInputTokens: u.CachedInputTokens,
		ReasoningTokens: u.ReasoningTokens}
}
