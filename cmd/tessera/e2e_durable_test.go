package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// durableEnv is the environment of a crash-test server: a short lease so
// that the executions a dead process held are recovered quickly, and few
// workers so that some executions are still queued when it dies.
func durableEnv(t *testing.T, fake *llmtest.Server) map[string]string {
	t.Helper()
	return testEnv(t, &opts{Fake: fake, Env: map[string]string{
		"TESSERA_LEASE":          "1s",
		"TESSERA_WORKERS":        "2",
		"TESSERA_SHUTDOWN_GRACE": "1s",
		"TESSERA_MAX_ATTEMPTS":   "5",
	}})
}

// submitAsync submits n executions without waiting and returns their ids.
func submitAsync(t *testing.T, c *api, agentID int64, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		m := c.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agentID), map[string]any{"messages": fmt.Sprintf("durable %d", i)}, nil)
		ids[i] = intOf(t, first(t, m)["id"])
	}
	return ids
}

// awaitArrivals waits until the fake provider has received n requests.
func awaitArrivals(t *testing.T, fake *llmtest.Server, n int) {
	t.Helper()
	for range n {
		select {
		case <-fake.Arrived():
		case <-time.After(60 * time.Second):
			t.Fatalf("the provider received %d of %d requests", len(fake.Requests()), n)
		}
	}
}

// requireAllSucceed polls every execution until it is terminal, by itself,
// and requires each to have succeeded with its answer.
func requireAllSucceed(t *testing.T, c *api, ids []int64) {
	t.Helper()
	for i, id := range ids {
		r := c.awaitResponse(t, id, 90*time.Second)
		if r["status"] != "succeeded" || r["output"] != fmt.Sprintf("fake: durable %d", i) {
			t.Errorf("execution %d = %v, want succeeded with its output", id, r)
		}
	}
}

func TestKilledServerLosesNoExecution(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewTest(t, llmtest.Config{})
	env := durableEnv(t, fake)
	fake.Block()

	c1 := startChild(t, env)
	agent := c1.chatAgent(t, "Durable")
	ids := submitAsync(t, c1.api, agent, 5)
	awaitArrivals(t, fake, 2) // both workers are inside the provider; three wait in the queue
	before := c1.must(t, http.StatusOK, "GET", "/agent-responses?sort=asc", nil, nil)
	statuses := map[string]int{}
	for _, it := range before["data"].([]any) {
		statuses[it.(map[string]any)["status"].(string)]++
	}
	if statuses["running"] != 2 || statuses["starting"] != 3 {
		t.Errorf("at the kill %v, want 2 running and 3 queued (starting)", statuses)
	}

	err := c1.signal(t, syscall.SIGKILL, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child exit = %v, want killed", err)
	}
	fake.Release()

	c2 := startChild(t, env)
	requireAllSucceed(t, c2.api, ids)
	if n := c2.responsesTotal(t); n != int64(len(ids)) {
		t.Errorf("%d executions after the restart, want %d", n, len(ids))
	}
}

func TestKilledServerTwiceStillFinishesEverything(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewTest(t, llmtest.Config{})
	env := durableEnv(t, fake)
	fake.Block()

	c1 := startChild(t, env)
	agent := c1.chatAgent(t, "Twice")
	ids := submitAsync(t, c1.api, agent, 4)
	awaitArrivals(t, fake, 2)
	c1.signal(t, syscall.SIGKILL, 10*time.Second)

	// The second process dies too, once its workers are back inside the
	// provider: some executions are now on their second attempt.
	c2 := startChild(t, env)
	awaitArrivals(t, fake, 2)
	c2.signal(t, syscall.SIGKILL, 10*time.Second)
	fake.Release()

	c3 := startChild(t, env)
	requireAllSucceed(t, c3.api, ids)
}

func TestSIGTERMHandsRunningExecutionsBack(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewTest(t, llmtest.Config{})
	env := durableEnv(t, fake)
	fake.Block()

	c1 := startChild(t, env)
	agent := c1.chatAgent(t, "Graceful")
	ids := submitAsync(t, c1.api, agent, 3)
	awaitArrivals(t, fake, 2)

	start := time.Now()
	if err := c1.signal(t, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("after SIGTERM the server exited with %v, want status 0\nstderr:\n%s", err, c1.Stderr)
	}
	// The grace is 1s; handing back and closing must not take much longer.
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("shutdown took %v with a 1s grace", d)
	}
	if !strings.Contains(c1.Stderr.String(), "stopped") {
		t.Errorf("stderr does not say the server stopped:\n%s", c1.Stderr)
	}
	fake.Release()

	c2 := startChild(t, env)
	requireAllSucceed(t, c2.api, ids)
}

func TestSIGTERMLetsQuickRunsFinishWithinTheGrace(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewTest(t, llmtest.Config{Handler: func(req *llmtest.ChatRequest) llmtest.Reply {
		r := llmtest.DefaultHandler(req)
		r.Delay = 300 * time.Millisecond
		return r
	}})
	env := durableEnv(t, fake)
	env["TESSERA_SHUTDOWN_GRACE"] = "10s"
	c1 := startChild(t, env)
	agent := c1.chatAgent(t, "Quick")
	ids := submitAsync(t, c1.api, agent, 2)
	awaitArrivals(t, fake, 2)
	if err := c1.signal(t, syscall.SIGTERM, 30*time.Second); err != nil {
		t.Fatalf("exit %v", err)
	}
	// Both runs were inside the provider and finish during the grace, so
	// the next process finds them done without running them again.
	c2 := startChild(t, env)
	requireAllSucceed(t, c2.api, ids)
	if n := len(fake.Requests()); n != 2 {
		t.Errorf("the provider was called %d times, want 2 (no rerun)", n)
	}
}

func TestSecondServerOnTheSameDataDirIsRefused(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	o := opts{DataDir: s.DataDir, Fake: s.Fake}
	env := testEnv(t, &o)
	env["TESSERA_ADDR"] = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out, errOut strings.Builder
	err := Run(ctx, []string{"serve"}, getenvFrom(env), &out, &errOut)
	if err == nil {
		t.Fatalf("a second server on the same data dir started:\n%s", errOut.String())
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %v does not say the database is in use", err)
	}
	s.must(t, http.StatusOK, "GET", "/readyz", nil, nil) // the first one is unharmed
}

func TestShutdownAnswersWaitingClientsAndHandsTheRunBack(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Env: map[string]string{"TESSERA_SHUTDOWN_GRACE": "1s", "TESSERA_LEASE": "1s"}})
	id := s.chatAgent(t, "Waited")
	s.Fake.Block()
	type answer struct {
		status int
		body   map[string]any
	}
	answered := make(chan answer, 1)
	go func() {
		res, err := s.send("POST", path("/agents/%d/execute?waitExecution=true", id), map[string]any{"messages": "wait for me"}, nil)
		if err != nil {
			answered <- answer{status: -1, body: map[string]any{"err": err.Error()}}
			return
		}
		var m map[string]any
		_ = json.Unmarshal(res.Body, &m)
		answered <- answer{res.Status, m}
	}()
	select {
	case <-s.Fake.Arrived():
	case a := <-answered:
		t.Fatalf("the waited execute answered before the run started: %v", a)
	case <-time.After(30 * time.Second):
		t.Fatal("the run never reached the provider")
	}
	stopped := make(chan error, 1)
	start := time.Now()
	go func() { stopped <- s.stop() }()
	select {
	case a := <-answered:
		if a.status != http.StatusOK {
			t.Fatalf("the waiting client got HTTP %d %v, want 200 with the current state", a.status, a.body)
		}
		if r := first(t, a.body); r["status"] != "running" && r["status"] != "starting" {
			t.Errorf("the waiting client got %v, want a non-terminal state it can poll", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting client was not answered within 10s of the shutdown")
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run returned %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("shutdown took %v with a 1s grace", d)
	}
	s.Fake.Release()
	s2 := s.restart(t, opts{})
	list := s2.must(t, http.StatusOK, "GET", "/agent-responses", nil, nil)
	exID := intOf(t, list["data"].([]any)[0].(map[string]any)["id"])
	if got := s2.awaitResponse(t, exID, 30*time.Second); got["status"] != "succeeded" || got["output"] != "fake: wait for me" {
		t.Errorf("after the restart the handed-back run = %v", got)
	}
}

func TestKilledServerKeepsTheOrderOfAThread(t *testing.T) {
	t.Parallel()
	fake := llmtest.NewTest(t, llmtest.Config{})
	env := durableEnv(t, fake)
	c1 := startChild(t, env)
	agent := c1.chatAgent(t, "Ordered")
	fake.Block()
	m := c1.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "durable 0"}, nil)
	root := intOf(t, first(t, m)["id"])
	awaitArrivals(t, fake, 1)
	m = c1.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "durable 1", "root_id": root}, nil)
	second := intOf(t, first(t, m)["id"])
	c1.signal(t, syscall.SIGKILL, 10*time.Second)
	fake.Release()

	c2 := startChild(t, env)
	requireAllSucceed(t, c2.api, []int64{root, second})
	var last *llmtest.ChatRequest
	for _, r := range fake.Requests() {
		if r.LastUserMessage() == "durable 1" {
			last = r
		}
	}
	want := []string{"system:You are Ordered.", "user:durable 0", "assistant:fake: durable 0", "user:durable 1"}
	if last == nil || !slices.Equal(roles(last), want) {
		t.Errorf("after the crash the second turn sent %v, want %q", last, want)
	}
}
