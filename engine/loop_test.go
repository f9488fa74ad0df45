package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/tool"
)

// resolver serves test tools by name.
type resolver map[string]tool.Tool

func (r resolver) Resolve(names []string) ([]tool.Tool, error) {
	var out []tool.Tool
	for _, n := range names {
		t, ok := r[n]
		if !ok {
			return nil, tessera.Errorf(tessera.EINVALID, "The tool %q does not exist.", n)
		}
		out = append(out, t)
	}
	return out, nil
}

func fn(name string, call tool.CallFunc) tool.Tool {
	return tool.Func(name, "test tool "+name, json.RawMessage(`{"type":"object","properties":{}}`), call)
}

func echoTool(name string) tool.Tool {
	return fn(name, func(_ context.Context, args json.RawMessage) (tool.Result, error) {
		return tool.Result{Content: name + " saw " + string(args)}, nil
	})
}

// script answers model calls in order; a call beyond the script fails the test.
func script(t *testing.T, replies ...*llm.Response) func(context.Context, *llm.Request) (*llm.Response, error) {
	var mu sync.Mutex
	n := 0
	return func(context.Context, *llm.Request) (*llm.Response, error) {
		mu.Lock()
		defer mu.Unlock()
		if n >= len(replies) {
			t.Errorf("model called %d times, script has %d replies", n+1, len(replies))
			return &llm.Response{Content: "done"}, nil
		}
		n++
		return replies[n-1], nil
	}
}

func calls(cs ...llm.ToolCall) *llm.Response {
	return &llm.Response{Content: "I will use tools.", ToolCalls: cs, FinishReason: "tool_calls", Usage: llm.Usage{InputTokens: 10, OutputTokens: 5}}
}

func loopEngine(t *testing.T, b *bundle, tools resolver, mod func(*engine.Config)) *engine.Engine {
	t.Helper()
	return b.engine(t, func(c *engine.Config) {
		c.Tools = tools
		if mod != nil {
			mod(c)
		}
	})
}

func iterations(t *testing.T, b *bundle, id int64) []*tessera.Iteration {
	t.Helper()
	its, err := b.store.IterationList(context.Background(), &tessera.IterationListParams{ExecutionID: id, WorkspaceID: 1})
	if err != nil {
		t.Fatal(err)
	}
	return its
}

func TestLoopCallsToolsThenAnswers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.provider.reply = script(t,
		calls(llm.ToolCall{ID: "c1", Name: "lookup", Arguments: `{"q":"x"}`}),
		&llm.Response{Content: "The answer is 42.", Usage: llm.Usage{InputTokens: 20, OutputTokens: 7}},
	)
	e := loopEngine(t, b, resolver{"lookup": echoTool("lookup")}, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("question"), Tools: "lookup"})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	got := b.get(t, ex.ID)
	if got.Status != tessera.StatusCompleted || got.Output != "The answer is 42." || got.StopReason != tessera.StopFinalAnswer {
		t.Fatalf("execution = %s %q %q", got.Status, got.Output, got.StopReason)
	}
	if got.Usage.InputTokens != 30 || got.Usage.OutputTokens != 12 {
		t.Errorf("usage = %+v, want the sum of both model calls", got.Usage)
	}
	its := iterations(t, b, ex.ID)
	if len(its) != 2 || its[0].Action != "lookup" || string(its[0].ActionInput) != `{"q":"x"}` ||
		its[0].Observation != `lookup saw {"q":"x"}` || its[0].Thought != "I will use tools." || its[1].Action != tessera.FinalAnswer {
		t.Fatalf("iterations = %+v", its)
	}
	second := b.provider.requests()[1]
	if len(second.Tools) != 1 || second.Tools[0].Name != "lookup" {
		t.Errorf("tools offered = %+v", second.Tools)
	}
	n := len(second.Messages)
	if second.Messages[n-2].Role != llm.RoleAssistant || len(second.Messages[n-2].ToolCalls) != 1 ||
		second.Messages[n-1].Role != llm.RoleTool || second.Messages[n-1].ToolCallID != "c1" {
		t.Errorf("second call's messages end with %+v", second.Messages[n-2:])
	}
}

func TestLoopRunsParallelCallsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var started sync.WaitGroup
	started.Add(2)
	both := make(chan struct{})
	go func() { started.Wait(); close(both) }()
	barrier := func(name string) tool.Tool {
		return fn(name, func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
			started.Done()
			select { // only returns once the other call is running too
			case <-both:
				return tool.Result{Content: name + " ok"}, nil
			case <-ctx.Done():
				return tool.Result{}, ctx.Err()
			}
		})
	}
	b.provider.reply = script(t,
		calls(llm.ToolCall{ID: "a", Name: "left", Arguments: `{}`}, llm.ToolCall{ID: "b", Name: "right", Arguments: `{}`}),
		&llm.Response{Content: "both done"},
	)
	e := loopEngine(t, b, resolver{"left": barrier("left"), "right": barrier("right")}, func(c *engine.Config) { c.ToolTimeout = 10 * time.Second })
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("go"), Tools: "left,right"})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	its := iterations(t, b, ex.ID)
	if len(its) != 3 || its[0].Observation != "left ok" || its[1].Observation != "right ok" {
		t.Fatalf("iterations = %+v", its)
	}
}

// Tool errors, panics, unknown tools and malformed arguments are
// observations the model sees; the loop goes on.
func TestLoopTurnsToolFailuresIntoObservations(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tools := resolver{
		"fails": fn("fails", func(context.Context, json.RawMessage) (tool.Result, error) {
			return tool.Result{}, errors.New("disk on fire")
		}),
		"panics": fn("panics", func(context.Context, json.RawMessage) (tool.Result, error) { panic("boom") }),
	}
	b.provider.reply = script(t,
		calls(llm.ToolCall{ID: "1", Name: "fails", Arguments: `{}`}, llm.ToolCall{ID: "2", Name: "panics", Arguments: `{}`},
			llm.ToolCall{ID: "3", Name: "nope", Arguments: `{}`}, llm.ToolCall{ID: "4", Name: "fails", Arguments: `{not json`}),
		&llm.Response{Content: "recovered"},
	)
	e := loopEngine(t, b, tools, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("go"), Tools: "fails,panics"})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	if got := b.get(t, ex.ID); got.Status != tessera.StatusCompleted || got.Output != "recovered" {
		t.Fatalf("execution = %s %q", got.Status, got.Output)
	}
	its := iterations(t, b, ex.ID)
	if len(its) != 5 {
		t.Fatalf("iterations = %+v", its)
	}
	for _, it := range its[:4] {
		if it.Error == "" || !strings.HasPrefix(it.Observation, "Error:") || strings.Contains(it.Observation, "goroutine") {
			t.Errorf("step %d (%s): observation %q error %q", it.Iteration, it.Action, it.Observation, it.Error)
		}
	}
	if !strings.Contains(its[0].Observation, "disk on fire") || !strings.Contains(its[2].Observation, "no tool named") {
		t.Errorf("observations: %q / %q", its[0].Observation, its[2].Observation)
	}
	if string(its[3].ActionInput) != `{"raw":"{not json"}` {
		t.Errorf("malformed arguments recorded as %s", its[3].ActionInput)
	}
	toolMsgs := 0
	for _, m := range b.provider.requests()[1].Messages {
		if m.Role == llm.RoleTool {
			toolMsgs++
		}
	}
	if toolMsgs != 4 {
		t.Errorf("the model saw %d tool results, want 4", toolMsgs)
	}
}

func TestLoopStopsAtTheIterationCap(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var replies []*llm.Response
	for range 3 {
		replies = append(replies, calls(llm.ToolCall{ID: "x", Name: "lookup", Arguments: `{}`}))
	}
	b.provider.reply = script(t, replies...)
	e := loopEngine(t, b, resolver{"lookup": echoTool("lookup")}, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("loop forever"), Tools: "lookup", MaxIterations: 3})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	got := b.get(t, ex.ID)
	if got.Status != tessera.StatusFailed || got.StopReason != tessera.StopMaxIterations || !strings.Contains(got.Error, "limit of 3 iterations") {
		t.Fatalf("execution = %s %q %q", got.Status, got.StopReason, got.Error)
	}
	if n := len(b.provider.requests()); n != 3 {
		t.Errorf("model called %d times, want 3", n)
	}
	if _, err := e.Submit(context.Background(), &engine.ExecuteRequest{WorkspaceID: 1, AgentID: b.agent.ID, Messages: userMsg("x"), Tools: "lookup", MaxIterations: 1000}); tessera.ErrorCode(err) != tessera.EINVALID {
		t.Errorf("max_iterations over the cap: %v", err)
	}
	if _, err := e.Submit(context.Background(), &engine.ExecuteRequest{WorkspaceID: 1, AgentID: b.agent.ID, Messages: userMsg("x"), Tools: "teleport"}); tessera.ErrorCode(err) != tessera.EINVALID {
		t.Errorf("unknown tool: %v", err)
	}
}

func TestLoopToolTimeoutIsAnObservation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	slow := fn("slow", func(ctx context.Context, _ json.RawMessage) (tool.Result, error) {
		<-ctx.Done()
		return tool.Result{}, ctx.Err()
	})
	b.provider.reply = script(t, calls(llm.ToolCall{ID: "s", Name: "slow", Arguments: `{}`}), &llm.Response{Content: "gave up on it"})
	e := loopEngine(t, b, resolver{"slow": slow}, func(c *engine.Config) { c.ToolTimeout = 20 * time.Millisecond })
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("go"), Tools: "slow"})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	its := iterations(t, b, ex.ID)
	if len(its) != 2 || !strings.Contains(its[0].Observation, "timed out") {
		t.Fatalf("iterations = %+v", its)
	}
}
