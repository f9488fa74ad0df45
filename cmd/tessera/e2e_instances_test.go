package main

import (
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// twoStepTask scripts a model that calls the calculator, then answers.
func twoStepTask() llmtest.Handler {
	return llmtest.Script(
		llmtest.Reply{Content: "I should compute it.", ToolCalls: []llmtest.ToolCall{{ID: "c1", Name: "calculator", Arguments: `{"expression":"6*7"}`}}, PromptTokens: 40, CompletionTokens: 10},
		llmtest.Reply{Content: "The answer is 42.", PromptTokens: 60, CompletionTokens: 5},
	)
}

// seedFields are AgentExecutionResponse's required fields (seed 003).
var seedFields = []string{"id", "agent_id", "trigger_type", "triggered_by", "status", "input_data", "output_data",
	"error_message", "context_type", "context_id", "started_at", "completed_at", "execution_time_ms", "iteration_count",
	"iterations", "tools_used", "total_tokens", "total_cost", "model_used", "success", "actions_taken", "extra_metadata",
	"created_at", "updated_at"}

func newInstance(t *testing.T, s *testServer) (agentID, instanceID int64) {
	t.Helper()
	agentID = s.createAgent(t, map[string]any{"title": "Calc", "type": "chat", "instructions": "Use tools.", "tools": []string{"calculator"}}, nil)
	in := s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances", map[string]any{
		"agent_id": agentID, "name": "calc for sales", "config": map[string]any{"credentials": map[string]string{"TOKEN": "s3cret"}},
	}, nil)
	if names, _ := in["credential_names"].([]any); len(names) != 1 || in["config"].(map[string]any)["credentials"] != nil {
		t.Fatalf("instance shows its credentials: %v", in)
	}
	return agentID, intOf(t, in["id"])
}

func TestInstanceExecutesATwoStepToolTask(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Handler: twoStepTask(), Config: "models:\n  - {name: " + defaultModel + ", provider: openai, input_price: 1, output_price: 2}\n"})
	agentID, inst := newInstance(t, s)
	got := s.must(t, http.StatusOK, "POST", path("/api/v1/ai/agents/instances/%d/execute?context_type=deal&context_id=77", inst),
		map[string]any{"message": "What is six times seven?"}, hdr{"x-tenant-id": "1"})

	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, f := range seedFields {
		if _, ok := got[f]; !ok {
			t.Errorf("response lacks %q (has %v)", f, keys)
		}
	}
	if got["status"] != "completed" || got["success"] != true || got["trigger_type"] != "api" || intOf(t, got["agent_id"]) != agentID ||
		got["context_type"] != "deal" || intOf(t, got["context_id"]) != 77 {
		t.Fatalf("response = %v", got)
	}
	if out := got["output_data"].(map[string]any); out["output"] != "The answer is 42." {
		t.Errorf("output_data = %v", out)
	}
	its := got["iterations"].([]any)
	if len(its) != 2 || intOf(t, got["iteration_count"]) != 2 || intOf(t, got["actions_taken"]) != 1 {
		t.Fatalf("iterations = %v", its)
	}
	step := its[0].(map[string]any)
	if step["action"] != "calculator" || step["thought"] != "I should compute it." || step["observation"] != "42" ||
		step["action_input"].(map[string]any)["expression"] != "6*7" || step["timestamp"] == "" {
		t.Errorf("first iteration = %v", step)
	}
	if final := its[1].(map[string]any); final["action"] != "final_answer" || final["observation"] != "The answer is 42." {
		t.Errorf("final iteration = %v", final)
	}
	if tools := got["tools_used"].([]any); !slices.Equal(tools, []any{"calculator"}) {
		t.Errorf("tools_used = %v", tools)
	}
	if intOf(t, got["total_tokens"]) != 115 {
		t.Errorf("total_tokens = %v, want 115", got["total_tokens"])
	}
	wantCost := (100*1.0 + 15*2.0) / 1e6
	if c := got["total_cost"].(float64); c < wantCost*0.999 || c > wantCost*1.001 {
		t.Errorf("total_cost = %v, want %v", c, wantCost)
	}
	if got["model_used"] != "openai/"+defaultModel || got["execution_time_ms"] == nil {
		t.Errorf("model_used %v, execution_time_ms %v", got["model_used"], got["execution_time_ms"])
	}
	// The model saw the context.
	first := s.Fake.Requests()[0]
	if first.Messages[0].Role != "system" || !strings.Contains(first.Messages[0].Content, "Context: deal 77") {
		t.Errorf("system message = %q", first.Messages[0].Content)
	}
	// Listing by instance and by context finds it; GET returns the same.
	list := s.must(t, http.StatusOK, "GET", path("/api/v1/ai/agents/executions?instance_id=%d&context_type=deal&status=completed", inst), nil, nil)
	if intOf(t, list["total"]) != 1 {
		t.Errorf("list = %v", list)
	}
	one := s.must(t, http.StatusOK, "GET", path("/api/v1/ai/agents/executions/%v", got["id"]), nil, nil)
	if intOf(t, one["iteration_count"]) != 2 {
		t.Errorf("GET execution = %v", one)
	}
}

func TestInstanceAsyncExecutionReturnsPending(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Handler: twoStepTask()})
	_, inst := newInstance(t, s)
	s.Fake.Block()
	got := s.must(t, http.StatusAccepted, "POST", path("/api/v1/ai/agents/instances/%d/execute?async_execution=true", inst), map[string]any{"message": "compute"}, nil)
	if got["status"] != "pending" && got["status"] != "running" {
		t.Fatalf("async status = %v", got["status"])
	}
	s.Fake.Release()
	id := got["id"]
	eventually(t, 30*time.Second, func() bool {
		_, ex := s.do(t, "GET", path("/api/v1/ai/agents/executions/%v", id), nil, nil)
		return ex["status"] == "completed" && intOf(t, ex["iteration_count"]) == 2
	})
}

func TestInstanceSurfaceErrorsAreFastAPIShaped(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	_, inst := newInstance(t, s)
	cases := []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/api/v1/ai/agents/instances/abc/execute", map[string]any{}, 422},
		{"POST", path("/api/v1/ai/agents/instances/%d/execute", inst), "[1,2]", 422},
		{"POST", path("/api/v1/ai/agents/instances/%d/execute?async_execution=maybe", inst), map[string]any{}, 422},
		{"POST", path("/api/v1/ai/agents/instances/%d/execute?context_id=x", inst), map[string]any{}, 422},
		{"POST", "/api/v1/ai/agents/instances/999999/execute", map[string]any{}, 404},
		{"GET", "/api/v1/ai/agents/executions?status=weird", nil, 422},
		{"POST", "/api/v1/ai/agents/instances", map[string]any{"agent_id": 999999, "name": "x"}, 422},
	}
	for _, c := range cases {
		status, body := s.do(t, c.method, c.path, c.body, nil)
		if status != c.status {
			t.Errorf("%s %s: HTTP %d %v, want %d", c.method, c.path, status, body, c.status)
			continue
		}
		if c.status == 422 {
			detail, ok := body["detail"].([]any)
			if !ok || len(detail) == 0 || detail[0].(map[string]any)["loc"] == nil || detail[0].(map[string]any)["msg"] == nil {
				t.Errorf("%s %s: body %v is not FastAPI's 422", c.method, c.path, body)
			}
		} else if _, ok := body["detail"].(string); !ok {
			t.Errorf("%s %s: body %v has no detail", c.method, c.path, body)
		}
	}
	// Another workspace's instance is a 404.
	ws := s.createWorkspace(t, "other")
	_, token := s.createKey(t, "other", ws)
	if status, _ := s.as(token).do(t, "GET", path("/api/v1/ai/agents/instances/%d", inst), nil, nil); status != 404 {
		t.Errorf("foreign instance: HTTP %d, want 404", status)
	}
}

// Tess's tools: "agent" runs the agent's own tools through the loop.
func TestTessToolsAgentRunsTheLoop(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Handler: twoStepTask()})
	id := s.createAgent(t, map[string]any{"title": "Calc", "type": "chat", "tools": []string{"calculator"}}, nil)
	got := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id),
		map[string]any{"messages": "six times seven?", "tools": "agent", "waitExecution": true}, nil))
	if got["status"] != "succeeded" || got["output"] != "The answer is 42." {
		t.Fatalf("execute = %v", got)
	}
	reqs := s.Fake.Requests()
	if len(reqs) != 2 || len(reqs[0].Tools) != 1 || reqs[0].Tools[0].Name != "calculator" {
		t.Fatalf("provider saw %d calls, tools %v", len(reqs), reqs[0].Tools)
	}
	if res, ok := reqs[1].ToolResult("c1"); !ok || res != "42" {
		t.Errorf("the calculator's result sent back = %q, %v", res, ok)
	}
	// no-tools sends no tools even though the agent has some.
	s.Fake.SetHandler(llmtest.DefaultHandler)
	s.run(t, id, map[string]any{"messages": "plain", "tools": "no-tools"})
	if last := s.Fake.Requests()[2]; len(last.Tools) != 0 {
		t.Errorf("no-tools offered %v", last.Tools)
	}
}
