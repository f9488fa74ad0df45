package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/tessera-run/tessera"
)

func provider(t *testing.T, s *Store) *goose.Provider {
	t.Helper()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, fsys,
		goose.WithTableName(migrationTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A database deployed with 00001 only keeps its rows through 00002, which
// gives them the new columns' defaults; the store then works on them.
func TestMigrateFromInitial(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := Open(ctx, Config{
		Path:    filepath.Join(t.TempDir(), "tessera.db"),
		Enqueue: func(context.Context, *sql.Tx, int64) (int64, error) { return 5, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := provider(t, s).UpTo(ctx, 1); err != nil {
		t.Fatalf("migrate to 00001: %v", err)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	us := now.UnixMicro()
	for _, q := range []string{
		`INSERT INTO workspaces (id, name, created_at, updated_at) VALUES (1, 'w', ?1, ?1)`,
		`INSERT INTO agents (id, workspace_id, slug, title, type, max_iterations, version, created_at, updated_at)
			VALUES (1, 1, 'old', 'Old', 'chat', 10, 1, ?1, ?1)`,
		`INSERT INTO executions (id, workspace_id, agent_id, root_id, status, attempt, lease_expires_at, created_at, updated_at)
			VALUES (1, 1, 1, 1, 'running', 1, ?1, ?1, ?1)`,
	} {
		if _, err := s.db.ExecContext(ctx, q, us); err != nil {
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

	// An instance of the old agent, and the old execution's steps.
	if _, err := s.InstanceCreate(ctx, &tessera.InstanceCreateParams{
		Instance: &tessera.Instance{WorkspaceID: 1, AgentID: 1, Name: "i"}, Now: now}); err != nil {
		t.Fatal(err)
	}

	// 00003 and 00002 go down (with rows in their tables) and up again.
	for _, version := range []int64{2, 1} {
		if _, err := provider(t, s).DownTo(ctx, version); err != nil {
			t.Fatalf("migrate down to %05d: %v", version, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate up again: %v", err)
	}
}

// The claim's thread check and the retention scan use their indexes.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, err := OpenMigrated(ctx, Config{Path: filepath.Join(t.TempDir(), "tessera.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct{ query, want string }{
		{`SELECT ` + busyThread + ` FROM executions WHERE id = 1`,
			"SEARCH earlier USING INDEX executions_root_active (root_id=? AND id<?)"},
		{deleteEventsBefore, "SEARCH e USING INTEGER PRIMARY KEY (rowid>?)"},
		{`SELECT ` + eventColumns + ` FROM execution_events WHERE execution_id = 1 AND seq > 3 ORDER BY seq LIMIT 5`,
			"SEARCH execution_events USING PRIMARY KEY (execution_id=? AND seq>?)"},
		// ExecutionList's instance and created_at filters, page and count.
		{`SELECT ` + execColumns + ` FROM executions WHERE workspace_id = 1 AND instance_id = 2 ORDER BY id LIMIT 10`,
			"SEARCH executions USING INDEX executions_workspace_instance (workspace_id=? AND instance_id=?)"},
		{`SELECT COUNT(*) FROM executions WHERE workspace_id = 1 AND instance_id = 2`,
			"SEARCH executions USING COVERING INDEX executions_workspace_instance (workspace_id=? AND instance_id=?)"},
		{`SELECT ` + execColumns + ` FROM executions WHERE workspace_id = 1 AND created_at >= 5 AND created_at < 9 ORDER BY id LIMIT 10`,
			"SEARCH executions USING INDEX executions_workspace_created (workspace_id=? AND created_at>? AND created_at<?)"},
		{`SELECT COUNT(*) FROM executions WHERE workspace_id = 1 AND created_at >= 5`,
			"SEARCH executions USING COVERING INDEX executions_workspace_created (workspace_id=? AND created_at>?)"},
		{`SELECT ` + instanceColumns + ` FROM agent_instances WHERE workspace_id = 1 AND agent_id = 2 ORDER BY id`,
			"SEARCH agent_instances USING INDEX agent_instances_agent_id (agent_id=?)"},
		// IterationList's latest attempt and its steps.
		{`SELECT ` + iterationColumns + ` FROM execution_iterations WHERE execution_id = ?1 AND attempt =
			(SELECT MAX(attempt) FROM execution_iterations WHERE execution_id = ?1) ORDER BY iteration`,
			"SEARCH execution_iterations USING PRIMARY KEY (execution_id=? AND attempt=?)"},
	} {
		query, want := tc.query, tc.want
		rows, err := s.db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var plan string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan += detail + "\n"
		}
		rows.Close()
		if !strings.Contains(plan, want) {
			t.Errorf("plan of %s:\n%s\nwant it to use %s", query, plan, want)
		}
	}
}
