package sqlite_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/queue"
	"github.com/tessera-run/tessera/sqlite"
)

// A job a worker fetched (River: running) and never claimed — its node
// died in between — is replaced by a new one, once it is older than the
// bound; a fresh one is left alone.
func TestRequeueReplacesAFetchedButUnclaimedJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, err := sqlite.OpenMigrated(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	driver := riversqlite.New(store.DB())
	if err := queue.Migrate(ctx, driver); err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(driver, queue.Config{})
	if err != nil {
		t.Fatal(err)
	}
	store.SetEnqueue(q.InsertTx)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: 1, Name: "w", Now: now}); err != nil {
		t.Fatal(err)
	}
	create := func() *tessera.Execution {
		ex, _, err := store.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Now: now, Execution: &tessera.Execution{WorkspaceID: 1, AgentID: 1, Input: "x"}})
		if err != nil {
			t.Fatal(err)
		}
		return ex
	}
	old, fresh := create(), create()
	mark := func(jobID int64, attempted string) {
		if _, err := store.DB().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempted_at = ? WHERE id = ?`, attempted, jobID); err != nil {
			t.Fatal(err)
		}
	}
	mark(old.JobID, "2026-01-02 03:00:00.000")
	mark(fresh.JobID, "2026-01-02 03:04:04.500")
	requeued, _, err := store.ExecutionRequeueExpired(ctx, &tessera.ExecutionRequeueParams{
		Now: now, MaxAttempts: 3, StaleJobBefore: now.Add(-time.Second),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(requeued, []int64{old.ID}) {
		t.Fatalf("requeued %v, want only %d", requeued, old.ID)
	}
	got, err := store.ExecutionGetByID(ctx, &tessera.ExecutionGetParams{ID: old.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.JobID == old.JobID || got.Status != tessera.StatusQueued {
		t.Errorf("after requeue: job %d (was %d), status %s", got.JobID, old.JobID, got.Status)
	}
}
