package main

import (
	"strings"
	"testing"

	"github.com/tessera-run/tessera/client"
	"github.com/tessera-run/tessera/llm/llmtest"
)

func TestCLIExecutionsListAndGet(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{Handler: cliCalcTask()})
	agent := cliCalcAgent(t, s)
	other := s.chatAgent(t, "Other")
	cliRun(t, s, "exec", "calc", "-m", "six times seven?").ok(t)
	s.Fake.SetHandler(llmtest.DefaultHandler)
	cliRun(t, s, "exec", itoa(other), "-m", "hi").ok(t)

	var list client.ExecutionList
	cliRun(t, s, "executions", "list", "--agent", "calc", "--status", "completed", "--limit", "5", "-o", "json").ok(t).decode(t, &list)
	if list.Total != 1 || len(list.Items) != 1 || list.Items[0].AgentID != agent || list.Limit != 5 {
		t.Fatalf("filtered list = %+v", list)
	}
	ex := list.Items[0]
	cliRun(t, s, "executions", "list", "--status", "failed", "-o", "json").ok(t).decode(t, &list)
	if list.Total != 0 || list.Items == nil {
		t.Errorf("failed executions = %+v, want an empty list", list)
	}

	r := cliRun(t, s, "executions", "list").ok(t)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "STATUS") || !strings.Contains(r.stdout, "The answer is 42.") {
		t.Errorf("executions list printed:\n%s", r.stdout)
	}
	r = cliRun(t, s, "executions", "list", "--limit", "1").ok(t)
	if !strings.Contains(r.stderr, "of 2; --skip 1 for more") {
		t.Errorf("a partial list does not say so: %q", r.stderr)
	}

	r = cliRun(t, s, "executions", "get", itoa(ex.ID)).ok(t)
	for _, want := range []string{"status:", "completed", "steps:", `[1] calculator {"expression":"6*7"} → 42`, "[2] final answer",
		"output:\nThe answer is 42.", "tokens:", "115"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("executions get lacks %q:\n%s", want, r.stdout)
		}
	}
	var got client.Execution
	cliRun(t, s, "executions", "get", itoa(ex.ID), "-o", "json").ok(t).decode(t, &got)
	if got.ID != ex.ID || len(got.Iterations) != 2 || got.Iterations[0].Action != "calculator" ||
		got.Iterations[0].InputTokens != 40 || got.Iterations[1].Action != client.FinalAnswer {
		t.Errorf("executions get -o json = %+v", got)
	}
	cliRun(t, s, "executions", "get", "999999").exits(t, 1)
	cliRun(t, s, "executions", "get", "seven").exits(t, 2)
}

// cancel stops a running execution; tail, following it, ends with the
// cancellation and exit code 1.
func TestCLIExecutionsCancelAndTail(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	s.createAgent(t, map[string]any{"title": "Slow", "slug": "slow", "type": "chat"}, nil)
	s.Fake.Block()
	t.Cleanup(s.Fake.Release)

	r := cliRun(t, s, "exec", "slow", "-m", "take your time", "--async", "-o", "json").ok(t)
	var started struct{ ID int64 }
	r.decode(t, &started)
	id := itoa(started.ID)
	cliAwaitRequest(t, s.Fake, "take your time")

	tailed := make(chan cliResult, 1)
	go func() { tailed <- cliRun(t, s, "executions", "tail", id) }()

	r = cliRun(t, s, "executions", "cancel", id).ok(t)
	if !strings.HasPrefix(r.stdout, "execution "+id+": cancel requested") && r.stdout != "execution "+id+" cancelled\n" {
		t.Errorf("cancel printed %q", r.stdout)
	}
	tail := <-tailed
	if tail.code != 1 || !strings.Contains(tail.stderr, "execution "+id+" cancelled") {
		t.Errorf("tail of a cancelled execution: exit %d, stderr %q", tail.code, tail.stderr)
	}

	var ex client.Execution
	cliRun(t, s, "executions", "get", id, "-o", "json").ok(t).decode(t, &ex)
	if ex.Status != client.StatusCancelled {
		t.Errorf("status after cancel = %q", ex.Status)
	}
	r = cliRun(t, s, "executions", "cancel", id).exits(t, 1)
	if !strings.Contains(r.stderr, "409") {
		t.Errorf("cancelling a finished execution: %q", r.stderr)
	}
	// tail of a finished execution replays it and ends at once.
	cliRun(t, s, "executions", "tail", id, "-o", "json").exits(t, 1)
}
