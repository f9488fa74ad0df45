package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
)

// An agent calls another agent of the workspace as a tool: the child runs
// as its own execution, its answer is the observation, and its tokens and
// cost are added to the parent's.
func TestAgentToolRunsAChildAndRollsUpItsCost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := b.store.AgentCreate(ctx, &tessera.AgentCreateParams{Now: b.clock.Now(), Agent: &tessera.Agent{
		WorkspaceID: 1, Slug: "helper", Title: "Helper", Type: tessera.AgentTypeChat, Model: "priced", MaxIterations: 5,
	}}); err != nil {
		t.Fatal(err)
	}
	b.provider.reply = script(t,
		calls(llm.ToolCall{ID: "h", Name: "agent_helper", Arguments: `{"input":"sub question"}`}),
		&llm.Response{Content: "sub answer", Usage: llm.Usage{InputTokens: 100, OutputTokens: 50}},
		&llm.Response{Content: "done: sub answer", Usage: llm.Usage{InputTokens: 20, OutputTokens: 7}},
	)
	e := loopEngine(t, b, resolver{}, func(c *engine.Config) { c.Concurrency = 4 })
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer e.Stop(ctx)
	parent := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("ask the helper"), Tools: "agent:helper"})
	// Submit started it inline; wait for it to finish.
	got, err := e.Wait(ctx, 1, parent.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tessera.StatusCompleted || got.Output != "done: sub answer" {
		t.Fatalf("parent = %s %q %q", got.Status, got.Output, got.Error)
	}
	if got.Usage.InputTokens != 130 || got.Usage.OutputTokens != 62 {
		t.Errorf("parent usage = %+v, want its own plus the child's", got.Usage)
	}
	children, _, err := b.store.ExecutionList(ctx, &tessera.ExecutionListParams{WorkspaceID: 1})
	if err != nil || len(children) != 2 {
		t.Fatalf("executions: %d %v", len(children), err)
	}
	its := iterations(t, b, parent.ID)
	if len(its) != 2 || its[0].Action != "agent_helper" || its[0].Observation != "sub answer" {
		t.Errorf("iterations = %+v", its)
	}
	if err := e.CheckAgent(&tessera.Agent{Tools: []string{"agent:Not A Slug"}}); tessera.ErrorCode(err) != tessera.EINVALID {
		t.Errorf("a malformed agent tool name: %v", err)
	}
}

func TestAgentToolStopsAtTheDepthLimit(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	if _, err := b.store.AgentCreate(ctx, &tessera.AgentCreateParams{Now: b.clock.Now(), Agent: &tessera.Agent{
		WorkspaceID: 1, Slug: "helper", Title: "Helper", Type: tessera.AgentTypeChat, Model: "priced", MaxIterations: 5,
	}}); err != nil {
		t.Fatal(err)
	}
	b.provider.reply = script(t,
		calls(llm.ToolCall{ID: "h", Name: "agent_helper", Arguments: `{"input":"deeper"}`}),
		&llm.Response{Content: "could not go deeper"},
	)
	e := loopEngine(t, b, resolver{}, nil)
	// This execution is itself three agents deep.
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("x"), Tools: "agent:helper", Metadata: []byte(`{"parent_execution_id":1,"agent_depth":3}`)})
	if err := e.RunExecution(ctx, ex.ID); err != nil {
		t.Fatal(err)
	}
	its := iterations(t, b, ex.ID)
	if len(its) != 2 || its[0].Error == "" || !strings.Contains(its[0].Observation, "at most 3 deep") {
		t.Fatalf("iterations = %+v", its)
	}
	if list, _, _ := b.store.ExecutionList(ctx, &tessera.ExecutionListParams{WorkspaceID: 1}); len(list) != 1 {
		t.Errorf("a child was started past the limit: %d executions", len(list))
	}
}
