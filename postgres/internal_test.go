package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/internal/pgtest"
)

// openBare opens an unmigrated store in a fresh schema, with a hook that
// returns job 5.
func openBare(t *testing.T) *Store {
	t.Helper()
	url := pgtest.URL(t)
	s, err := Open(t.Context(), Config{URL: url, Schema: pgtest.Schema(t, url),
		Enqueue: func(context.Context, pgx.Tx, int64) (int64, error) { return 5, nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A database deployed with 00001 only keeps its rows through 00002, which
// gives them the new columns' defaults; the store then works on them.
func TestMigrateFromInitial(t *testing.T) {
	t.Parallel()
	s := openBare(t)
	ctx := t.Context()
	p, db, err := s.provider(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatalf("migrate to 00001: %v", err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at, updated_at) VALUES (1, 'w', $1, $1)`,
		`INSERT INTO agents (id, workspace_id, slug, title, type, max_iterations, version, created_at, updated_at)
			VALUES (1, 1, 'old', 'Old', 'chat', 10, 1, $1, $1)`,
		`INSERT INTO executions (id, workspace_id, agent_id, root_id, status, attempt, lease_expires_at, created_at, updated_at)
			VALUES (1, 1, 1, 1, 'running', 1, $1, $1, $1)`,
	} {
		if _, err := s.pool.Exec(ctx, q, now); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a, err := s.AgentGetByID(ctx, &tessera.AgentGetParams{ID: 1, WorkspaceID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.TimeoutSeconds != 0 || a.MultitaskStrategy != tessera.MultitaskEnqueue {
		t.Fatalf("old agent: TimeoutSeconds, MultitaskStrategy = %d, %q; want 0, %q", a.TimeoutSeconds, a.MultitaskStrategy, tessera.MultitaskEnqueue)
	}
	e, err := s.ExecutionGetByID(ctx, &tessera.ExecutionGetParams{ID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if e.LastEventSeq != 0 || e.CancelRequested || e.TimeoutMS != 0 {
		t.Fatalf("old execution: LastEventSeq, CancelRequested, TimeoutMS = %d, %v, %d; want zeros", e.LastEventSeq, e.CancelRequested, e.TimeoutMS)
	}
	if e.InstanceID != nil || e.ContextType != "" || e.ContextID != nil || e.MaxIterations != 0 || e.StopReason != "" {
		t.Fatalf("old execution: InstanceID, ContextType, ContextID, MaxIterations, StopReason = %v, %q, %v, %d, %q; want zeros",
			e.InstanceID, e.ContextType, e.ContextID, e.MaxIterations, e.StopReason)
	}

	// Its log starts at 1 with the first change after the upgrade.
	requeued, _, err := s.ExecutionRequeueExpired(ctx, &tessera.ExecutionRequeueParams{Now: now.Add(time.Second), MaxAttempts: 3})
	if err != nil || len(requeued) != 1 {
		t.Fatalf("requeue = %v, %v; want the old execution", requeued, err)
	}
	events, err := s.EventListAfter(ctx, &tessera.EventListParams{ExecutionID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Seq != 1 || events[0].Type != tessera.EventStatus {
		t.Fatalf("events = %+v, want one status event with seq 1", events)
	}

	// An instance of the old agent.
	if _, err := s.InstanceCreate(ctx, &tessera.InstanceCreateParams{
		Instance: &tessera.Instance{WorkspaceID: 1, AgentID: 1, Name: "i"}, Now: now}); err != nil {
		t.Fatal(err)
	}

	// 00003 and 00002 go down (with rows in their tables) and up again, and
	// then everything down to nothing.
	for _, version := range []int64{2, 1} {
		if _, err := p.DownTo(ctx, version); err != nil {
			t.Fatalf("migrate down to %05d: %v", version, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate up again: %v", err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("migrate down to 0: %v", err)
	}
	var tables int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()
		AND tablename <> $1`, migrationTable).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("tables left after migrating down = %d, want 0", tables)
	}
}

// A transaction the server aborts for a deadlock runs again and succeeds.
func TestTxRetriesADeadlock(t *testing.T) {
	t.Parallel()
	s := openBare(t)
	ctx := t.Context()
	if _, err := s.pool.Exec(ctx, `CREATE TABLE pair (id int PRIMARY KEY, n int NOT NULL);
		INSERT INTO pair VALUES (1, 0), (2, 0)`); err != nil {
		t.Fatal(err)
	}
	var holding sync.WaitGroup
	holding.Add(2)
	var runs atomic.Int32
	lockBoth := func(first, second int) error {
		var once sync.Once
		return s.inTx(ctx, func(tx pgx.Tx) error {
			runs.Add(1)
			if _, err := tx.Exec(ctx, `UPDATE pair SET n = n + 1 WHERE id = $1`, first); err != nil {
				return err
			}
			// Both transactions hold their first row before either
			// takes its second: one of them must be the deadlock's victim.
			once.Do(func() { holding.Done(); holding.Wait() })
			_, err := tx.Exec(ctx, `UPDATE pair SET n = n + 1 WHERE id = $1`, second)
			return err
		})
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() { errs[0] = lockBoth(1, 2) })
	wg.Go(func() { errs[1] = lockBoth(2, 1) })
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("a transaction failed: %v", err)
		}
	}
	// At least the victim ran twice; on a loaded machine the server may
	// pick a victim again before the other transaction commits.
	if n := runs.Load(); n < 3 {
		t.Fatalf("runs = %d, want at least 3 (the victim retried)", n)
	}
	var sum int
	if err := s.pool.QueryRow(ctx, `SELECT SUM(n) FROM pair`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	if sum != 4 {
		t.Fatalf("updates committed = %d, want 4", sum)
	}
}

func TestTxGivesUp(t *testing.T) {
	t.Parallel()
	s := openBare(t)
	for _, tc := range []struct {
		code string
		runs int
	}{
		{codeSerializationFail, maxTxAttempts},
		{codeDeadlock, maxTxAttempts},
		{codeUniqueViolation, 1},
	} {
		runs := 0
		err := s.inTx(t.Context(), func(tx pgx.Tx) error {
			runs++
			return &pgconn.PgError{Code: tc.code}
		})
		if pgCode(err) != tc.code || runs != tc.runs {
			t.Errorf("SQLSTATE %s: runs %d, err %v; want %d runs and the error", tc.code, runs, err, tc.runs)
		}
	}
}

func TestWrapKinds(t *testing.T) {
	t.Parallel()
	conflict := tessera.Errorf(tessera.ECONFLICT, "taken")
	for name, tc := range map[string]struct {
		err  error
		code string
	}{
		"domain error":       {conflict, tessera.ECONFLICT},
		"no rows":            {pgx.ErrNoRows, tessera.ENOTFOUND},
		"admin shutdown":     {&pgconn.PgError{Code: "57P01"}, tessera.EUNAVAILABLE},
		"connection failure": {&pgconn.PgError{Code: "08006"}, tessera.EUNAVAILABLE},
		"too many clients":   {&pgconn.PgError{Code: "53300"}, tessera.EUNAVAILABLE},
		"standby":            {&pgconn.PgError{Code: "25006"}, tessera.EUNAVAILABLE},
		"refused":            {&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, tessera.EUNAVAILABLE},
		"reset":              {fmt.Errorf("read: %w", syscall.ECONNRESET), tessera.EUNAVAILABLE},
		"lost mid-reply":     {fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), tessera.EUNAVAILABLE},
		"closed pool":        {puddle.ErrClosedPool, tessera.EUNAVAILABLE},
		"closed conn":        {pgconn.ErrConnClosed, tessera.EUNAVAILABLE},
		"NUL in text":        {&pgconn.PgError{Code: "22021"}, tessera.EINVALID},
		"NUL in jsonb":       {&pgconn.PgError{Code: "22P05"}, tessera.EINVALID},
		"cancelled":          {fmt.Errorf("query: %w", context.Canceled), tessera.EINTERNAL},
		"deadline":           {fmt.Errorf("query: %w", context.DeadlineExceeded), tessera.EINTERNAL},
		"syntax":             {&pgconn.PgError{Code: "42601"}, tessera.EINTERNAL},
		"anything else":      {errors.New("boom"), tessera.EINTERNAL},
	} {
		got := wrap("op", tc.err)
		if code := tessera.ErrorCode(got); code != tc.code {
			t.Errorf("%s: kind %q (%v), want %q", name, code, got, tc.code)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("%s: %v does not wrap its cause", name, got)
		}
		if tc.code == tessera.EUNAVAILABLE && strings.Contains(tessera.ErrorMessage(got), tc.err.Error()) {
			t.Errorf("%s: message %q shows the cause", name, tessera.ErrorMessage(got))
		}
	}
	if wrap("op", conflict) != conflict {
		t.Error("a domain error was rewrapped")
	}
}

// The claim's thread check, the sweeper's scan, the idempotency lookup and
// the event log's reads can use their indexes (the planner picks them once
// seq scans are priced out, as they are on real tables of any size).
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	s := openBare(t)
	ctx := t.Context()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Executions spread over workspaces, agents, instances and hours, so
	// that the planner weighs the indexes of ExecutionList's filters by what
	// they select instead of finding them all alike on empty tables.
	if _, err := s.pool.Exec(ctx, `INSERT INTO workspaces (id, name, created_at, updated_at)
			SELECT g, 'w', now(), now() FROM generate_series(1, 4) AS g;
		INSERT INTO executions (workspace_id, agent_id, root_id, status, lease_expires_at, instance_id,
				created_at, updated_at)
			SELECT 1 + g % 4, 1 + g % 10, g, CASE g % 100 WHEN 0 THEN 'running' WHEN 1 THEN 'queued' ELSE 'completed' END,
				CASE g % 100 WHEN 0 THEN now() END, CASE WHEN g % 20 = 0 THEN g % 7 END,
				now() - g * interval '1 hour', now()
			FROM generate_series(1, 5000) AS g;
		ANALYZE executions`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ query, want string }{
		{`SELECT ` + busyThread + ` FROM executions WHERE id = 1`, "executions_root_active"},
		{`SELECT id FROM executions WHERE status = 'running' AND lease_expires_at < now()
			ORDER BY lease_expires_at, id LIMIT 5 FOR NO KEY UPDATE SKIP LOCKED`, "executions_status_lease"},
		{`SELECT id FROM executions WHERE workspace_id = 1 AND idempotency_key = 'k' AND idempotency_key <> ''`,
			"executions_idempotency_key"},
		{`SELECT ` + eventColumns + ` FROM execution_events WHERE execution_id = 1 AND seq > 3 ORDER BY seq LIMIT 5`,
			"execution_events_pkey"},
		{strings.NewReplacer("$1", "now()", "$2", "10").Replace(deleteEventsBefore), "execution_events_pkey"},
		// ExecutionList's instance and created_at filters: the count and the page.
		{`SELECT COUNT(*) FROM executions WHERE workspace_id = 1 AND instance_id = 2`, "executions_workspace_instance"},
		{`SELECT ` + execColumns + ` FROM executions WHERE workspace_id = 1 AND instance_id = 2 ORDER BY id LIMIT 10`,
			"executions_workspace_instance"},
		{`SELECT COUNT(*) FROM executions WHERE workspace_id = 1
			AND created_at >= now() - interval '2 days' AND created_at < now() - interval '1 day'`,
			"executions_workspace_created"},
		{`SELECT ` + execColumns + ` FROM executions WHERE workspace_id = 1
			AND created_at >= now() - interval '2 days' AND created_at < now() - interval '1 day' ORDER BY id LIMIT 10`,
			"executions_workspace_created"},
		{`SELECT COUNT(*) FROM agent_instances WHERE workspace_id = 1 AND agent_id = 2`, "agent_instances_agent_id"},
		{`SELECT ` + instanceColumns + ` FROM agent_instances WHERE workspace_id = 1 ORDER BY id`,
			"agent_instances_workspace_id"},
		{`SELECT MAX(attempt) FROM execution_iterations WHERE execution_id = 1`, "execution_iterations_pkey"},
	} {
		var plan []string
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `EXPLAIN `+tc.query)
			if err != nil {
				return err
			}
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", tc.query, err)
		}
		if text := strings.Join(plan, "\n"); !strings.Contains(text, tc.want) {
			t.Errorf("plan of %s:\n%s\nwant it to use %s", tc.query, text, tc.want)
		}
	}
}
