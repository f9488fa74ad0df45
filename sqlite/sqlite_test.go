package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/sqlite"
	"github.com/tessera-run/tessera/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (tessera.Store, *storetest.Enqueued) {
		rec := &storetest.Enqueued{}
		return open(t, filepath.Join(t.TempDir(), "tessera.db"), rec), rec
	})
}

// open opens and migrates a store at path whose enqueue hook reports to rec.
func open(t *testing.T, path string, rec *storetest.Enqueued) *sqlite.Store {
	t.Helper()
	s, err := sqlite.OpenMigrated(t.Context(), sqlite.Config{
		Path: path,
		Enqueue: func(ctx context.Context, tx *sql.Tx, executionID int64) (int64, error) {
			return rec.Record(executionID)
		},
	})
	if err != nil {
		t.Fatalf("OpenMigrated: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestOpenRefusesMemory(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:"} {
		if s, err := sqlite.Open(t.Context(), sqlite.Config{Path: path}); err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tessera.db")
	first, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}

	// flock belongs to the open file description, so a second open in this
	// process conflicts as another process would.
	_, err = sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err == nil || !strings.Contains(err.Error(), "in use by another tessera process") {
		t.Fatalf("second Open: err = %v, want the database to be in use", err)
	}

	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	again, err := sqlite.Open(t.Context(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "tessera.db"), &storetest.Enqueued{})
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var n int
	err := s.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM tessera_migrations WHERE version_id > 0`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	if n != len(files) {
		t.Fatalf("applied migrations = %d, want %d (one per file)", n, len(files))
	}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tessera.db")
	s, err := sqlite.OpenMigrated(t.Context(), sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	if _, err := s.WorkspaceCreate(t.Context(), &tessera.WorkspaceCreateParams{ID: 1, Name: "kept", Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path, &storetest.Enqueued{})
	w, err := s.WorkspaceGetByID(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if w.Name != "kept" || !w.CreatedAt.Equal(now) {
		t.Fatalf("workspace after reopen = %+v", w)
	}
}

func TestEnqueueHookRequired(t *testing.T) {
	t.Parallel()
	s, err := sqlite.OpenMigrated(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "tessera.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if _, err := s.WorkspaceCreate(t.Context(), &tessera.WorkspaceCreateParams{ID: 1, Name: "w", Now: now}); err != nil {
		t.Fatal(err)
	}
	exec := &tessera.Execution{WorkspaceID: 1, AgentID: 1}
	_, _, err = s.ExecutionCreate(t.Context(), &tessera.ExecutionCreateParams{Execution: exec, Now: now})
	if code := tessera.ErrorCode(err); code != tessera.EINTERNAL {
		t.Fatalf("ExecutionCreate without a hook: kind %q (err %v), want %q", code, err, tessera.EINTERNAL)
	}

	// The hook may be set after Open (wiring builds the queue from DB).
	var got int64
	s.SetEnqueue(func(ctx context.Context, tx *sql.Tx, executionID int64) (int64, error) {
		got = executionID
		return 77, nil
	})
	e, _, err := s.ExecutionCreate(t.Context(), &tessera.ExecutionCreateParams{Execution: exec, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got != e.ID || e.JobID != 77 {
		t.Fatalf("hook saw %d, JobID %d; want %d, 77", got, e.JobID, e.ID)
	}
}

// The hook runs inside the execution's transaction: what it writes there
// commits or rolls back with the execution.
func TestEnqueueSharesTransaction(t *testing.T) {
	t.Parallel()
	fail := false
	s, err := sqlite.OpenMigrated(t.Context(), sqlite.Config{
		Path: filepath.Join(t.TempDir(), "tessera.db"),
		Enqueue: func(ctx context.Context, tx *sql.Tx, executionID int64) (int64, error) {
			res, err := tx.ExecContext(ctx, `INSERT INTO jobs (execution_id) VALUES (?)`, executionID)
			if err != nil {
				return 0, err
			}
			if fail {
				return 0, fmt.Errorf("queue is down")
			}
			return res.LastInsertId()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, now := t.Context(), time.Now()
	if _, err := s.DB().ExecContext(ctx, `CREATE TABLE jobs (id INTEGER PRIMARY KEY, execution_id INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: 1, Name: "w", Now: now}); err != nil {
		t.Fatal(err)
	}
	create := func() error {
		_, _, err := s.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{
			Execution: &tessera.Execution{WorkspaceID: 1, AgentID: 1}, Now: now})
		return err
	}
	if err := create(); err != nil {
		t.Fatal(err)
	}
	fail = true
	if err := create(); err == nil {
		t.Fatal("create with a failing hook succeeded")
	}
	var jobs, execs int
	if err := s.DB().QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM jobs), (SELECT COUNT(*) FROM executions)`).Scan(&jobs, &execs); err != nil {
		t.Fatal(err)
	}
	if jobs != 1 || execs != 1 {
		t.Fatalf("jobs, executions = %d, %d; want 1, 1", jobs, execs)
	}
}

// Many goroutines racing on a few idempotency keys create exactly one
// execution per key.
func TestConcurrentIdempotentCreates(t *testing.T) {
	t.Parallel()
	rec := &storetest.Enqueued{}
	s := open(t, filepath.Join(t.TempDir(), "tessera.db"), rec)
	ctx, now := t.Context(), time.Now()
	if _, err := s.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: 1, Name: "w", Now: now}); err != nil {
		t.Fatal(err)
	}
	const goroutines, keys = 40, 4
	var mu sync.Mutex
	created := map[string]int{}
	ids := map[string]map[int64]bool{}
	var wg sync.WaitGroup
	for i := range goroutines {
		wg.Go(func() {
			key := fmt.Sprintf("key-%d", i%keys)
			e, ok, err := s.ExecutionCreate(ctx, &tessera.ExecutionCreateParams{Now: now, Execution: &tessera.Execution{
				WorkspaceID: 1, AgentID: 1, IdempotencyKey: key, RequestHash: "h"}})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				created[key]++
			}
			if ids[key] == nil {
				ids[key] = map[int64]bool{}
			}
			ids[key][e.ID] = true
		})
	}
	wg.Wait()
	for k := range keys {
		key := fmt.Sprintf("key-%d", k)
		if created[key] != 1 || len(ids[key]) != 1 {
			t.Errorf("%s: created %d times, %d distinct ids; want 1, 1", key, created[key], len(ids[key]))
		}
	}
	if n := len(rec.ExecutionIDs()); n != keys {
		t.Errorf("enqueued %d, want %d", n, keys)
	}
}

func TestPragmas(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "tessera.db"), &storetest.Enqueued{})
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1",
	} {
		var got string
		if err := s.DB().QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

// SQLite's own LIKE folds ASCII only; agent search folds every letter, as
// PostgreSQL does.
func TestQueryFoldsUnicode(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "tessera.db"), &storetest.Enqueued{})
	ctx, now := t.Context(), time.Now()
	if _, err := s.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: 1, Name: "w", Now: now}); err != nil {
		t.Fatal(err)
	}
	a := &tessera.Agent{WorkspaceID: 1, Slug: "etude", Title: "Étude Ünicode", Type: tessera.AgentTypeChat, MaxIterations: 1}
	if _, err := s.AgentCreate(ctx, &tessera.AgentCreateParams{Agent: a, Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"étude", "ÜNICODE", "ÉTUDE ü"} {
		_, total, err := s.AgentList(ctx, &tessera.AgentListParams{WorkspaceID: 1, Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if total != 1 {
			t.Errorf("AgentList(Query: %q) total = %d, want 1", q, total)
		}
	}
}

// The path goes into a file: URI; characters that mean something there
// must stay part of the name.
func TestOddPath(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "with space")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a?b#c%20.db")
	open(t, path, &storetest.Enqueued{})
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file: %v", err)
	}
}
