package engine

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/echo"
	"github.com/tessera-run/tessera/sqlite"
)

var fanOut = []int{1, 10, 100, 1000}

// BenchmarkBusPublish is the in-process fan-out alone: one event handed
// to N followers of an execution, each draining its channel in its own
// goroutine, until every one has it.
func BenchmarkBusPublish(b *testing.B) {
	for _, n := range fanOut {
		b.Run(fmt.Sprintf("followers=%d", n), func(b *testing.B) {
			bus := newBus()
			var got sync.WaitGroup
			var drainers sync.WaitGroup
			stop := make(chan struct{})
			for range n {
				f, unsubscribe := bus.subscribe(1)
				drainers.Go(func() {
					defer unsubscribe()
					for {
						select {
						case batch := <-f.ch:
							for range batch {
								got.Done()
							}
						case <-stop:
							return
						}
					}
				})
			}
			batch := []*tessera.Event{{ExecutionID: 1, Type: tessera.EventDelta}}
			b.ReportAllocs()
			for b.Loop() {
				got.Add(n)
				bus.publish(1, batch)
				got.Wait()
			}
			close(stop)
			drainers.Wait()
		})
	}
}

// BenchmarkFollow is the whole path of a streamed token: a delta appended
// to the event log on SQLite and handed to N streams following the
// execution (engine.Follow), until every one has called back with it.
func BenchmarkFollow(b *testing.B) {
	for _, n := range fanOut[:3] {
		b.Run(fmt.Sprintf("followers=%d", n), func(b *testing.B) {
			e, ex := benchRunning(b)
			ctx, cancel := context.WithCancel(context.Background())
			var got sync.WaitGroup
			var followers sync.WaitGroup
			var seen atomic.Int64
			for range n {
				followers.Go(func() {
					_ = e.Follow(ctx, ex.WorkspaceID, ex.ID, ex.LastEventSeq, FollowOptions{}, func(*tessera.Event) error {
						seen.Add(1)
						got.Done()
						return nil
					})
				})
			}
			b.ReportAllocs()
			for b.Loop() {
				got.Add(n)
				e.appendEvent(ex, tessera.EventDelta, tessera.DeltaData{Text: " token"})
				got.Wait()
			}
			cancel()
			followers.Wait()
			b.ReportMetric(float64(seen.Load())/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}

// benchRunning returns an engine on a fresh SQLite store and a claimed
// execution whose log events can be appended to.
func benchRunning(b *testing.B) (*Engine, *tessera.Execution) {
	b.Helper()
	ctx, now := context.Background(), time.Now()
	store, err := sqlite.OpenMigrated(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	var jobs atomic.Int64
	store.SetEnqueue(func(context.Context, *sql.Tx, int64) (int64, error) { return jobs.Add(1), nil })
	reg, err := llm.NewRegistry(llm.RegistryConfig{Providers: []llm.Provider{echo.New(echo.Config{})}, DefaultModel: "echo"})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(Config{Store: store, Registry: reg})
	if err != nil {
		b.Fatal(err)
	}
	_, err = store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: tessera.DefaultWorkspaceID, Name: "w", Now: now})
	must(b, err)
	agent, err := store.AgentCreate(ctx, &tessera.AgentCreateParams{Now: now, Agent: &tessera.Agent{
		WorkspaceID: tessera.DefaultWorkspaceID, Slug: "a", Title: "A", Type: tessera.AgentTypeChat}})
	must(b, err)
	ex, _, err := store.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Now: now, Execution: &tessera.Execution{
		WorkspaceID: tessera.DefaultWorkspaceID, AgentID: agent.ID, TriggerType: tessera.TriggerAPI, Model: "echo",
		Messages: []tessera.Message{{Role: tessera.RoleUser, Content: "hi"}}}})
	must(b, err)
	ex, err = store.ExecutionClaim(ctx, &tessera.ExecutionClaimParams{ID: ex.ID, Now: now, LeaseUntil: now.Add(time.Hour)})
	must(b, err)
	return e, ex
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
