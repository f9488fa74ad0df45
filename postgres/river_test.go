package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/queue"
)

type runnerFunc func(ctx context.Context, executionID int64) error

func (f runnerFunc) RunExecution(ctx context.Context, executionID int64) error {
	return f(ctx, executionID)
}

// Production wiring: River's pgx driver on the store's pool, its tables in
// the store's schema, and queue.InsertTx as the enqueue hook. An execution
// and its job commit together, and roll back together when the hook fails
// after River has inserted the job.
func TestRiverJobCommitsWithItsExecution(t *testing.T) {
	e := setup(t)
	driver := riverpgxv5.New(e.store.Pool())
	ok(t, queue.Migrate(e.ctx, driver))
	var schema string
	ok(t, e.store.Pool().QueryRow(e.ctx, `SELECT n.nspname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
		WHERE c.oid = 'river_job'::regclass`).Scan(&schema))
	if schema != e.schema {
		t.Fatalf("river_job is in schema %q, want the store's %q", schema, e.schema)
	}
	q, err := queue.New(driver, queue.Config{Workers: 2, PollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	ok(t, err)

	var failAfterInsert atomic.Bool
	var lastJob atomic.Int64
	e.store.SetEnqueue(func(ctx context.Context, tx pgx.Tx, executionID int64) (int64, error) {
		jobID, err := q.InsertTx(ctx, tx, executionID)
		if err != nil {
			return 0, err
		}
		lastJob.Store(jobID)
		if failAfterInsert.Load() {
			return 0, errors.New("the hook fails after River inserted the job")
		}
		return jobID, nil
	})
	job := func(id int64) (executionID int64, kind string, found bool) {
		t.Helper()
		err := e.store.Pool().QueryRow(e.ctx, `SELECT (args->>'execution_id')::bigint, kind FROM river_job WHERE id = $1`, id).
			Scan(&executionID, &kind)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, "", false
		}
		ok(t, err)
		return executionID, kind, true
	}

	x := e.create(e.store, e.newExec())
	if got, kind, found := job(x.JobID); !found || got != x.ID || kind != (queue.ExecutionArgs{}).Kind() {
		t.Fatalf("job %d: execution %d, kind %q, found %v; want execution %d's job", x.JobID, got, kind, found, x.ID)
	}

	failAfterInsert.Store(true)
	_, _, err = e.store.ExecutionCreate(e.ctx, &tessera.ExecutionCreateParams{Execution: e.newExec(), Now: e.now})
	if err == nil {
		t.Fatal("ExecutionCreate succeeded with a failing hook")
	}
	if _, _, found := job(lastJob.Load()); found {
		t.Fatalf("job %d of the failed create was committed", lastJob.Load())
	}
	_, total, err := e.store.ExecutionList(e.ctx, &tessera.ExecutionListParams{WorkspaceID: tessera.DefaultWorkspaceID})
	ok(t, err)
	if total != 1 {
		t.Fatalf("executions = %d, want 1", total)
	}

	// A requeue gets a new job the same way, and loses it with the sweep.
	e.claim(x.ID, time.Second)
	sweep := &tessera.ExecutionRequeueParams{Now: e.now.Add(time.Minute), MaxAttempts: 3}
	if _, _, err := e.store.ExecutionRequeueExpired(e.ctx, sweep); err == nil {
		t.Fatal("ExecutionRequeueExpired succeeded with a failing hook")
	}
	if _, _, found := job(lastJob.Load()); found {
		t.Fatalf("job %d of the failed sweep was committed", lastJob.Load())
	}
	failAfterInsert.Store(false)
	requeued, _, err := e.store.ExecutionRequeueExpired(e.ctx, sweep)
	ok(t, err)
	if len(requeued) != 1 {
		t.Fatalf("requeued = %v, want %d", requeued, x.ID)
	}
	again, err := e.store.ExecutionGetByID(e.ctx, &tessera.ExecutionGetParams{ID: x.ID})
	ok(t, err)
	if got, _, found := job(again.JobID); !found || got != x.ID || again.JobID == x.JobID {
		t.Fatalf("job after requeue %d (first %d): execution %d, found %v", again.JobID, x.JobID, got, found)
	}

	// River works the jobs from the schema.
	ran := make(chan int64, 8)
	ok(t, q.Start(e.ctx, runnerFunc(func(ctx context.Context, id int64) error {
		ran <- id
		return nil
	})))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Errorf("queue stop: %v", err)
		}
	})
	select {
	case id := <-ran:
		if id != x.ID {
			t.Fatalf("River ran execution %d, want %d", id, x.ID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("River never ran the job")
	}
}
