package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/internal/pgtest"
	"github.com/tessera-run/tessera/postgres"
	"github.com/tessera-run/tessera/queue"
)

// BenchmarkExecutionWrites measures what one execution writes to
// PostgreSQL (TESSERA_TEST_DATABASE_URL, in a schema of its own; skipped
// without it), with River's job inserted in the create transaction as in
// production: create alone (and without the job, to tell River's share),
// then the seven writes of a run without tools (create with its job,
// claim, iteration started, first delta, the final answer's iteration and
// its event, finish with the last delta and usage), in sequence and from
// 32 goroutines at once.
func BenchmarkExecutionWrites(b *testing.B) {
	ctx := context.Background()
	store := benchStore(b)
	agentID := benchAgent(b, store)
	b.Run("create", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := store.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Execution: benchExec(agentID), Now: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("create-without-job", func(b *testing.B) {
		bare := benchStore(b)
		bare.SetEnqueue(func(context.Context, pgx.Tx, int64) (int64, error) { return 1, nil })
		id := benchAgent(b, bare)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := bare.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Execution: benchExec(id), Now: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("run", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := benchRun(ctx, store, agentID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("run-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(16) // 32 goroutines on 2 cores, the pool permitting
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := benchRun(ctx, store, agentID); err != nil {
					b.Error(err) // not Fatal: this is not the benchmark's goroutine
					return
				}
			}
		})
	})
}

// benchRun writes one run without tools, as the engine writes it.
func benchRun(ctx context.Context, store tessera.Store, agentID int64) error {
	now := time.Now()
	ex, _, err := store.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Execution: benchExec(agentID), Now: now})
	if err == nil {
		ex, err = store.ExecutionClaim(ctx, &tessera.ExecutionClaimParams{ID: ex.ID, Now: now, LeaseUntil: now.Add(time.Minute)})
	}
	appendEvent := func(typ string, data any) {
		if err == nil {
			_, err = store.EventAppend(ctx, &tessera.EventAppendParams{ExecutionID: ex.ID, Attempt: ex.Attempt, Now: now,
				Events: []tessera.EventInput{{Type: typ, Data: data}}})
		}
	}
	appendEvent(tessera.EventIterationStarted, map[string]int{"turn": 1, "iteration": 1})
	appendEvent(tessera.EventDelta, tessera.DeltaData{Text: "Echo:"})
	it := &tessera.Iteration{ExecutionID: ex.ID, Attempt: 1, Iteration: 1, Action: tessera.FinalAnswer,
		ActionInput: json.RawMessage(`{}`), Observation: "Echo: hello there", InputTokens: 12, OutputTokens: 4, Timestamp: now}
	if err == nil {
		err = store.IterationAppend(ctx, &tessera.IterationAppendParams{ExecutionID: ex.ID, Attempt: ex.Attempt, Iterations: []*tessera.Iteration{it}, Now: now})
	}
	appendEvent(tessera.EventIterationFinished, it)
	if err == nil {
		_, err = store.ExecutionFinish(ctx, &tessera.ExecutionFinishParams{ID: ex.ID, Attempt: ex.Attempt, Status: tessera.StatusCompleted,
			Output: "Echo: hello there", ModelUsed: "echo", Usage: tessera.Usage{InputTokens: 12, OutputTokens: 4},
			StopReason: tessera.StopFinalAnswer, Now: now, Events: []tessera.EventInput{
				{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: " hello there"}},
				{Type: tessera.EventUsage, Data: map[string]any{"model": "echo", "input_tokens": 12, "output_tokens": 4}},
			}})
	}
	return err
}

func benchStore(b *testing.B) *postgres.Store {
	b.Helper()
	ctx := context.Background()
	url := pgtest.URL(b)
	store, err := postgres.OpenMigrated(ctx, postgres.Config{URL: url, Schema: pgtest.Schema(b, url)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	driver := riverpgxv5.New(store.Pool())
	if err := queue.Migrate(ctx, driver); err != nil {
		b.Fatal(err)
	}
	q, err := queue.New(driver, queue.Config{}) // never started: jobs are only inserted
	if err != nil {
		b.Fatal(err)
	}
	store.SetEnqueue(q.InsertTx)
	return store
}

func benchAgent(b *testing.B, store tessera.Store) int64 {
	b.Helper()
	ctx, now := context.Background(), time.Now()
	if _, err := store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: tessera.DefaultWorkspaceID, Name: "w", Now: now}); err != nil {
		b.Fatal(err)
	}
	a, err := store.AgentCreate(ctx, &tessera.AgentCreateParams{Now: now, Agent: &tessera.Agent{
		WorkspaceID: tessera.DefaultWorkspaceID, Slug: "a", Title: "A", Type: tessera.AgentTypeChat,
		Questions: []tessera.Question{}, Tools: []string{}, MaxIterations: 10, MultitaskStrategy: tessera.MultitaskEnqueue,
		Visibility: "private", Source: "api"}})
	if err != nil {
		b.Fatal(err)
	}
	return a.ID
}

// benchExec is a typical synchronous chat execution.
func benchExec(agentID int64) *tessera.Execution {
	return &tessera.Execution{
		WorkspaceID: tessera.DefaultWorkspaceID, AgentID: agentID, TriggerType: tessera.TriggerAPI, Status: tessera.StatusQueued,
		Input: "hello there", Inputs: map[string]any{"topic": "weather"}, Model: "echo", Tools: "no-tools",
		Messages: []tessera.Message{{Role: tessera.RoleUser, Content: "hello there"}}, TimeoutMS: 600_000, MaxIterations: 10,
	}
}
