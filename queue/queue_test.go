package queue_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"

	"github.com/tessera-run/tessera/queue"
	"github.com/tessera-run/tessera/sqlite"
)

// runner records calls and answers from a script.
type runner struct {
	mu     sync.Mutex
	calls  map[int64]int
	answer func(id int64, call int) error
	ran    chan int64
}

func (r *runner) RunExecution(_ context.Context, id int64) error {
	r.mu.Lock()
	r.calls[id]++
	n := r.calls[id]
	r.mu.Unlock()
	err := r.answer(id, n)
	if err == nil {
		r.ran <- id
	}
	return err
}

type later time.Duration

func (l later) Error() string             { return "not yet" }
func (l later) RetryAfter() time.Duration { return time.Duration(l) }

func setup(t *testing.T, r *runner) (*queue.Queue[*sql.Tx], *sql.DB) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.OpenMigrated(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "q.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	driver := riversqlite.New(store.DB())
	if err := queue.Migrate(ctx, driver); err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(driver, queue.Config{Workers: 2, PollInterval: 20 * time.Millisecond, Lease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx, r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = q.Stop(ctx)
	})
	return q, store.DB()
}

func insert(t *testing.T, q *queue.Queue[*sql.Tx], db *sql.DB, id int64, commit bool) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.InsertTx(ctx, tx, id); err != nil {
		t.Fatal(err)
	}
	if commit {
		err = tx.Commit()
	} else {
		err = tx.Rollback()
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestJobsRunAndRetryLaterSnoozes(t *testing.T) {
	t.Parallel()
	r := &runner{calls: map[int64]int{}, ran: make(chan int64, 10), answer: func(id int64, call int) error {
		if id == 2 && call < 3 {
			return later(10 * time.Millisecond) // the thread is busy: try again soon
		}
		return nil
	}}
	q, db := setup(t, r)
	insert(t, q, db, 1, true)
	insert(t, q, db, 2, true)
	insert(t, q, db, 3, false) // rolled back with its transaction: never runs
	got := map[int64]bool{}
	timeout := time.After(30 * time.Second)
	for len(got) < 2 {
		select {
		case id := <-r.ran:
			got[id] = true
		case <-timeout:
			t.Fatalf("ran %v within 30s", got)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls[2] != 3 || r.calls[3] != 0 {
		t.Errorf("calls = %v, want 3 for the snoozed job and none for the rolled-back one", r.calls)
	}
}

func TestStartNeedsARunner(t *testing.T) {
	t.Parallel()
	store, err := sqlite.OpenMigrated(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "q.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	q, err := queue.New(riversqlite.New(store.DB()), queue.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background(), nil); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("Start(nil) = %v", err)
	}
}
