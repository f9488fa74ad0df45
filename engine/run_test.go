package engine_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/sqlite"
)

// scripted is a provider whose answers a test controls.
type scripted struct {
	mu    sync.Mutex
	reqs  []*llm.Request
	reply func(ctx context.Context, req *llm.Request) (*llm.Response, error)
	// stream, when set, replaces reply and may call the StreamFunc.
	stream func(ctx context.Context, req *llm.Request, fn llm.StreamFunc) (*llm.Response, error)
}

func (p *scripted) Name() string { return "fake" }

func (p *scripted) Generate(ctx context.Context, req *llm.Request, stream llm.StreamFunc) (*llm.Response, error) {
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	if p.stream != nil {
		return p.stream(ctx, req, stream)
	}
	return p.reply(ctx, req)
}

func (p *scripted) requests() []*llm.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*llm.Request(nil), p.reqs...)
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type bundle struct {
	store    *sqlite.Store
	provider *scripted
	clock    *clock
	jobs     atomic.Int64
	agent    *tessera.Agent
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{
		provider: &scripted{reply: func(_ context.Context, req *llm.Request) (*llm.Response, error) {
			return &llm.Response{Content: "answer to " + req.Messages[len(req.Messages)-1].Content, Usage: llm.Usage{InputTokens: 1000, OutputTokens: 500, CachedInputTokens: 200}}, nil
		}},
		clock: &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	store, err := sqlite.OpenMigrated(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	store.SetEnqueue(func(context.Context, *sql.Tx, int64) (int64, error) { return b.jobs.Add(1), nil })
	b.store = store
	ctx := context.Background()
	if _, err := store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: 1, Name: "w", Now: b.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	b.agent, err = store.AgentCreate(ctx, &tessera.AgentCreateParams{Now: b.clock.Now(), Agent: &tessera.Agent{
		WorkspaceID: 1, Slug: "a", Title: "A", Type: tessera.AgentTypeChat, Instructions: "Speak {{lang}}.",
		Questions: []tessera.Question{{Name: "lang", Type: tessera.QuestionText}}, Model: "priced", MaxIterations: 10,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (b *bundle) engine(t *testing.T, mod func(*engine.Config)) *engine.Engine {
	t.Helper()
	reg, err := llm.NewRegistry(llm.RegistryConfig{
		Providers:    []llm.Provider{b.provider},
		Models:       []llm.Model{{Name: "priced", Provider: "fake", ProviderModel: "m1", InputPrice: 2, OutputPrice: 8, CachedInputPrice: 1, CreditsMultiplier: 10}},
		DefaultModel: "priced",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := engine.Config{Store: b.store, Registry: reg, Now: b.clock.Now, Lease: time.Minute, Timeout: time.Minute}
	if mod != nil {
		mod(&cfg)
	}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (b *bundle) submit(t *testing.T, e *engine.Engine, req *engine.ExecuteRequest) *tessera.Execution {
	t.Helper()
	req.WorkspaceID, req.AgentID = 1, b.agent.ID
	ex, err := e.Submit(context.Background(), req)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return ex
}

func (b *bundle) get(t *testing.T, id int64) *tessera.Execution {
	t.Helper()
	ex, err := b.store.ExecutionGetByID(context.Background(), &tessera.ExecutionGetParams{ID: id, WorkspaceID: 1})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

func userMsg(s string) []tessera.Message {
	return []tessera.Message{{Role: tessera.RoleUser, Content: s}}
}

func TestRunCompletesWithUsageAndCost(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engine(t, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi"), Inputs: raw(map[string]string{"lang": `"Portuguese"`})})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	got := b.get(t, ex.ID)
	if got.Status != tessera.StatusCompleted || got.Output != "answer to hi" || got.ModelUsed != "fake/m1" {
		t.Fatalf("execution = %+v", got)
	}
	// 800 uncached × $2 + 200 cached × $1 + 500 × $8, per million.
	wantCost := (800*2.0 + 200*1.0 + 500*8.0) / 1e6
	if diff := got.Cost - wantCost; diff > 1e-12 || diff < -1e-12 || got.Credits-wantCost*10 > 1e-9 || got.Usage.InputTokens != 1000 {
		t.Errorf("cost = %v credits = %v usage = %+v, want cost %v", got.Cost, got.Credits, got.Usage, wantCost)
	}
	req := b.provider.requests()[0]
	if req.Model != "m1" || req.Messages[0].Role != llm.RoleSystem || req.Messages[0].Content != "Speak Portuguese." {
		t.Errorf("provider request = %+v", req)
	}
	// A second run of the same job finds it terminal and does nothing.
	if err := e.RunExecution(context.Background(), ex.ID); err != nil || len(b.provider.requests()) != 1 {
		t.Errorf("rerun: err=%v calls=%d", err, len(b.provider.requests()))
	}
}

func TestThreadHistoryAndDeveloperMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engine(t, nil)
	first := b.submit(t, e, &engine.ExecuteRequest{Messages: []tessera.Message{{Role: "developer", Content: "Be terse."}, {Role: "user", Content: "one"}}})
	if err := e.RunExecution(context.Background(), first.ID); err != nil {
		t.Fatal(err)
	}
	second := b.submit(t, e, &engine.ExecuteRequest{RootID: first.ID, Messages: userMsg("two")})
	if second.RootID != first.ID {
		t.Fatalf("root_id = %d, want %d", second.RootID, first.ID)
	}
	if err := e.RunExecution(context.Background(), second.ID); err != nil {
		t.Fatal(err)
	}
	got := b.provider.requests()[1].Messages
	want := []llm.Message{{Role: "system", Content: "Speak .\n\nBe terse."}, {Role: "user", Content: "one"}, {Role: "assistant", Content: "answer to one"}, {Role: "user", Content: "two"}}
	if len(got) != len(want) {
		t.Fatalf("messages = %+v", got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("message %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestProviderErrorFailsWithMessage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.provider.reply = func(context.Context, *llm.Request) (*llm.Response, error) {
		return nil, &llm.Error{Provider: "fake", StatusCode: 401, Kind: llm.ErrKindAuth, Message: "bad key"}
	}
	e := b.engine(t, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	got := b.get(t, ex.ID)
	if got.Status != tessera.StatusFailed || got.Error != "The model provider failed: fake: auth (HTTP 401): bad key" {
		t.Errorf("status %s error %q", got.Status, got.Error)
	}
}

func TestTimeoutEndsAsTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.provider.reply = func(ctx context.Context, _ *llm.Request) (*llm.Response, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	e := b.engine(t, func(c *engine.Config) { c.Timeout = 20 * time.Millisecond })
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	if got := b.get(t, ex.ID); got.Status != tessera.StatusTimeout || got.Error == "" {
		t.Errorf("status %s error %q", got.Status, got.Error)
	}
}

func TestShutdownHandsBackAndSweepRequeues(t *testing.T) {
	t.Parallel()
	b := setup(t)
	started := make(chan struct{})
	b.provider.reply = func(ctx context.Context, _ *llm.Request) (*llm.Response, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}
	e := b.engine(t, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.RunExecution(ctx, ex.ID) }()
	<-started
	cancel() // what River does to running jobs on StopAndCancel
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := b.get(t, ex.ID)
	if got.Status != tessera.StatusRunning || got.LeaseExpiresAt == nil || got.LeaseExpiresAt.After(b.clock.Now()) {
		t.Fatalf("after shutdown: %+v", got)
	}
	jobsBefore := b.jobs.Load()
	b.clock.Add(time.Millisecond)
	if err := e.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	got = b.get(t, ex.ID)
	if got.Status != tessera.StatusQueued || b.jobs.Load() != jobsBefore+1 {
		t.Fatalf("after sweep: status %s, jobs %d → %d", got.Status, jobsBefore, b.jobs.Load())
	}
	b.provider.reply = func(context.Context, *llm.Request) (*llm.Response, error) { return &llm.Response{Content: "ok"}, nil }
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	if got := b.get(t, ex.ID); got.Status != tessera.StatusCompleted || got.Attempt != 2 {
		t.Errorf("after rerun: status %s attempt %d", got.Status, got.Attempt)
	}
}

// A worker whose lease expired and was taken over must not write its
// result: the attempt fence drops it, and the new attempt's result stands.
func TestLostLeaseIsFenced(t *testing.T) {
	t.Parallel()
	b := setup(t)
	release := make(chan struct{})
	calls := atomic.Int32{}
	b.provider.reply = func(ctx context.Context, _ *llm.Request) (*llm.Response, error) {
		if calls.Add(1) == 1 {
			<-release // the first attempt stalls past its lease
			return &llm.Response{Content: "stale"}, nil
		}
		return &llm.Response{Content: "fresh"}, nil
	}
	// The heartbeat would keep the lease alive; make it too slow to matter.
	slow := b.engine(t, func(c *engine.Config) { c.Lease = time.Hour })
	ex := b.submit(t, slow, &engine.ExecuteRequest{Messages: userMsg("hi")})
	done := make(chan error)
	go func() { done <- slow.RunExecution(context.Background(), ex.ID) }()
	for calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	b.clock.Add(2 * time.Hour) // the first lease has expired
	other := b.engine(t, nil)
	if err := other.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := b.get(t, ex.ID); got.Output != "fresh" || got.Attempt != 2 {
		t.Errorf("output %q attempt %d, want the second attempt's result", got.Output, got.Attempt)
	}
}

func TestSweepFailsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engine(t, func(c *engine.Config) { c.MaxAttempts = 1 })
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	now := b.clock.Now()
	if _, err := b.store.ExecutionClaim(context.Background(), &tessera.ExecutionClaimParams{ID: ex.ID, Now: now, LeaseUntil: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(time.Minute) // the claimant died
	if err := e.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := b.get(t, ex.ID); got.Status != tessera.StatusFailed || got.Error == "" {
		t.Errorf("status %s error %q", got.Status, got.Error)
	}
}

func TestWaitReturnsWhenFinished(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engine(t, func(c *engine.Config) { c.PollInterval = time.Hour }) // only the signal can wake it
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	got := make(chan *tessera.Execution)
	go func() {
		w, err := e.Wait(context.Background(), 1, ex.ID, time.Hour)
		if err != nil {
			t.Error(err)
		}
		got <- w
	}()
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	if w := <-got; w.Status != tessera.StatusCompleted {
		t.Errorf("Wait returned status %s", w.Status)
	}
}

func TestSubmitRejectsUnknownRootAndForeignAgent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engine(t, nil)
	_, err := e.Submit(context.Background(), &engine.ExecuteRequest{WorkspaceID: 1, AgentID: b.agent.ID, RootID: 999, Messages: userMsg("x")})
	if tessera.ErrorCode(err) != tessera.EINVALID {
		t.Errorf("unknown root_id: %v", err)
	}
	_, err = e.Submit(context.Background(), &engine.ExecuteRequest{WorkspaceID: 2, AgentID: b.agent.ID, Messages: userMsg("x")})
	if tessera.ErrorCode(err) != tessera.ENOTFOUND {
		t.Errorf("agent of another workspace: %v", err)
	}
	var e2 *tessera.Error
	_, err = e.Submit(context.Background(), &engine.ExecuteRequest{WorkspaceID: 1, AgentID: b.agent.ID, Tools: "internet", Model: "nope/x/y"})
	if !errors.As(err, &e2) || len(e2.Fields["tools"]) == 0 || len(e2.Fields["messages"]) == 0 {
		t.Errorf("expected tools and messages errors, got %v", err)
	}
}

func raw(m map[string]string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = json.RawMessage(v)
	}
	return out
}
