package main

// tessera migrate --from sqlite:PATH --to postgres://… copies a whole
// embedded deployment into an empty PostgreSQL database.
//
// Why the SQL is here and not behind tessera.Store: the copy must move every
// column verbatim, including those no Store method lets a caller write (ids,
// attempt, lease, job id, last event seq, version, revoked_at…), and the
// Store interface deliberately has no "raw row" methods — adding them to
// both stores (and to storetest) for one offline tool would widen the
// contract every backend must keep. So this file reads the SQLite store's
// DB() and writes the PostgreSQL store's Pool() directly, with column lists
// of its own, and checkSchema compares those lists with both live schemas
// before anything is written: a migration that adds, drops or retypes a
// column makes the copy (and its test) fail loudly instead of losing data.
// If a second tool ever needs rows moved between stores, this belongs in a
// package of its own (internal/storecopy).
//
// The target side is one transaction: a copy that fails for any reason
// leaves the target as empty as it found it, so it can simply be run again.
// Batches bound the memory used (rows are streamed from SQLite and sent with
// COPY a batch at a time), not the transaction.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-run/tessera/sqlite"
)

// Batch limits of the copy: a batch is sent when it has copyBatchRows rows
// or about copyBatchBytes of text, whichever comes first, so that a table
// of large executions does not hold 500 of them in memory. Variables so
// that tests can make batches small.
var (
	copyBatchRows  = 500
	copyBatchBytes = 8 << 20
)

// colKind is how a column is stored on each side.
type colKind int

const (
	kInt      colKind = iota // INTEGER NOT NULL ↔ bigint/integer NOT NULL
	kNullInt                 // INTEGER ↔ bigint
	kReal                    // REAL NOT NULL ↔ double precision NOT NULL
	kNullReal                // REAL ↔ double precision
	kText                    // TEXT NOT NULL ↔ text NOT NULL
	kJSON                    // TEXT NOT NULL (JSON) ↔ json/jsonb NOT NULL
	kNullJSON                // TEXT (JSON) ↔ json/jsonb
	kTime                    // INTEGER Unix micros NOT NULL ↔ timestamptz NOT NULL
	kNullTime                // INTEGER Unix micros ↔ timestamptz
	kBool                    // INTEGER 0/1 NOT NULL ↔ boolean NOT NULL
)

func (k colKind) nullable() bool {
	return k == kNullInt || k == kNullReal || k == kNullJSON || k == kNullTime
}

// sqliteType is the column's declared type in the SQLite schema.
func (k colKind) sqliteType() string {
	switch k {
	case kReal, kNullReal:
		return "REAL"
	case kText, kJSON, kNullJSON:
		return "TEXT"
	}
	return "INTEGER"
}

// pgTypes are the information_schema data types the column may have.
func (k colKind) pgTypes() []string {
	switch k {
	case kInt, kNullInt:
		return []string{"bigint", "integer"}
	case kReal, kNullReal:
		return []string{"double precision"}
	case kText:
		return []string{"text"}
	case kJSON, kNullJSON:
		return []string{"json", "jsonb"}
	case kTime, kNullTime:
		return []string{"timestamp with time zone"}
	case kBool:
		return []string{"boolean"}
	}
	return nil
}

type column struct {
	name string
	kind colKind
}

// copyTable is one table of the copy.
type copyTable struct {
	name string
	// key orders the rows (and is unique).
	key []string
	// identity: the table has an id column backed by a sequence in
	// PostgreSQL and AUTOINCREMENT in SQLite.
	identity bool
	// since is the migration that added the table (0: the first one).
	since int64
	cols  []column
	// added names the migration that added a column after the table.
	added map[string]int64
}

// copyTables are Tessera's tables in dependency order, with every column of
// both schemas (sqlite/migrations and postgres/migrations) and the
// migration that added it, so that a database at any version this binary
// knows is copied whole: tablesAt picks what a version has, and
// checkSchema compares that with both live schemas. A new migration must
// add its tables and columns here (the copy refuses to run until then).
var copyTables = []copyTable{
	{name: "workspaces", key: []string{"id"}, identity: true, cols: []column{
		{"id", kInt}, {"name", kText}, {"created_at", kTime}, {"updated_at", kTime},
	}},
	{name: "api_keys", key: []string{"id"}, identity: true, cols: []column{
		{"id", kInt}, {"name", kText}, {"hash", kText}, {"prefix", kText}, {"created_at", kTime},
		{"revoked_at", kNullTime}, {"last_used_at", kNullTime},
	}},
	{name: "api_key_workspaces", key: []string{"key_id", "workspace_id"}, cols: []column{
		{"key_id", kInt}, {"workspace_id", kInt}, {"position", kInt},
	}},
	{name: "agents", key: []string{"id"}, identity: true, cols: []column{
		{"id", kInt}, {"workspace_id", kInt}, {"slug", kText}, {"title", kText}, {"description", kText},
		{"type", kText}, {"instructions", kText}, {"prompt", kText}, {"questions", kJSON}, {"model", kText},
		{"temperature", kNullReal}, {"tools", kJSON}, {"max_iterations", kInt}, {"visibility", kText},
		{"source", kText}, {"version", kInt}, {"created_at", kTime}, {"updated_at", kTime},
		{"timeout_seconds", kInt}, {"multitask_strategy", kText},
		{"http_tools", kJSON}, {"mcp_servers", kJSON}, {"output_schema", kText}, {"fallback_models", kJSON},
	}, added: map[string]int64{"timeout_seconds": 2, "multitask_strategy": 2,
		"http_tools": 4, "mcp_servers": 4, "output_schema": 4, "fallback_models": 4}},
	{name: "agent_versions", key: []string{"agent_id", "version"}, since: 5, cols: []column{
		{"agent_id", kInt}, {"version", kInt}, {"workspace_id", kInt}, {"snapshot", kJSON}, {"published_by", kText},
		{"rollback_from", kNullInt}, {"change_summary", kText}, {"created_at", kTime},
	}},
	{name: "agent_instances", key: []string{"id"}, identity: true, since: 3, cols: []column{
		{"id", kInt}, {"workspace_id", kInt}, {"agent_id", kInt}, {"name", kText}, {"config", kJSON},
		{"created_at", kTime}, {"updated_at", kTime}, {"trigger_secret", kText},
	}, added: map[string]int64{"trigger_secret": 5}},
	{name: "webhooks", key: []string{"id"}, identity: true, since: 5, cols: []column{
		{"id", kInt}, {"workspace_id", kInt}, {"agent_id", kInt}, {"url", kText}, {"method", kText}, {"status", kText},
		{"secret", kText}, {"success_count", kInt}, {"failure_count", kInt}, {"created_at", kTime}, {"updated_at", kTime},
		{"deleted_at", kNullTime},
	}},
	{name: "webhook_deliveries", key: []string{"id"}, identity: true, since: 5, cols: []column{
		{"id", kInt}, {"webhook_id", kInt}, {"execution_id", kInt}, {"workspace_id", kInt}, {"status", kText},
		{"attempts", kInt}, {"last_status_code", kInt}, {"last_error", kText}, {"next_attempt_at", kNullTime},
		{"lease_until", kNullTime}, {"delivered_at", kNullTime}, {"created_at", kTime}, {"updated_at", kTime},
	}},
	{name: "trigger_signatures", key: []string{"instance_id", "signature"}, since: 5, cols: []column{
		{"instance_id", kInt}, {"signature", kText}, {"seen_at", kTime},
	}},
	{name: "schedules", key: []string{"id"}, identity: true, since: 5, cols: []column{
		{"id", kInt}, {"workspace_id", kInt}, {"agent_id", kInt}, {"instance_id", kNullInt}, {"name", kText},
		{"cron", kText}, {"timezone", kText}, {"input", kJSON}, {"enabled", kBool}, {"next_run_at", kNullTime},
		{"last_run_at", kNullTime}, {"last_execution_id", kNullInt}, {"created_at", kTime}, {"updated_at", kTime},
	}},
	{name: "executions", key: []string{"id"}, identity: true, cols: []column{
		{"id", kInt}, {"workspace_id", kInt}, {"agent_id", kInt}, {"root_id", kInt}, {"status", kText},
		{"trigger_type", kText}, {"api_key_id", kNullInt}, {"input", kText}, {"inputs", kJSON},
		{"messages", kJSON}, {"model", kText}, {"model_used", kText}, {"temperature", kNullReal},
		{"tools", kText}, {"output", kText}, {"error", kText}, {"input_tokens", kInt}, {"output_tokens", kInt},
		{"cached_input_tokens", kInt}, {"cost", kReal}, {"credits", kReal}, {"attempt", kInt},
		{"lease_expires_at", kNullTime}, {"job_id", kInt}, {"idempotency_key", kText}, {"request_hash", kText},
		{"metadata", kNullJSON}, {"created_at", kTime}, {"updated_at", kTime}, {"started_at", kNullTime},
		{"completed_at", kNullTime}, {"last_event_seq", kInt}, {"cancel_requested", kBool}, {"timeout_ms", kInt},
		{"instance_id", kNullInt}, {"context_type", kText}, {"context_id", kNullInt}, {"max_iterations", kInt},
		{"stop_reason", kText}, {"structured_output", kNullJSON}, {"reasoning_tokens", kInt}, {"agent_version", kInt},
	}, added: map[string]int64{"last_event_seq": 2, "cancel_requested": 2, "timeout_ms": 2,
		"instance_id": 3, "context_type": 3, "context_id": 3, "max_iterations": 3, "stop_reason": 3,
		"structured_output": 4, "reasoning_tokens": 4, "agent_version": 5}},
	{name: "execution_events", key: []string{"execution_id", "seq"}, since: 2, cols: []column{
		{"execution_id", kInt}, {"seq", kInt}, {"type", kText}, {"data", kJSON}, {"created_at", kTime},
	}},
	{name: "execution_iterations", key: []string{"execution_id", "attempt", "iteration"}, since: 3, cols: []column{
		{"execution_id", kInt}, {"attempt", kInt}, {"iteration", kInt}, {"thought", kText}, {"action", kText},
		{"action_input", kJSON}, {"observation", kText}, {"error", kText}, {"input_tokens", kInt},
		{"output_tokens", kInt}, {"latency_ms", kInt}, {"timestamp", kTime}, {"provider_attempts", kJSON},
	}, added: map[string]int64{"provider_attempts": 4}},
}

// tablesAt returns the tables and columns of schema version v.
func tablesAt(v int64) []copyTable {
	var tables []copyTable
	for _, t := range copyTables {
		if t.since > v {
			continue
		}
		t.cols = slices.DeleteFunc(slices.Clone(t.cols), func(c column) bool { return t.added[c.name] > v })
		tables = append(tables, t)
	}
	return tables
}

func (t *copyTable) colNames() []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return names
}

// copyOptions configures copyDeployment.
type copyOptions struct {
	// From is the SQLite database file; To the PostgreSQL URL.
	From, To string
	// Config supplies the queue settings of the target's River client.
	Config Config
	Log    *slog.Logger
	// Now is the copy's time: leases of running executions end then.
	Now time.Time
}

// copyReport is what the copy did and what it verified.
type copyReport struct {
	Tables []tableReport
	// Queued executions got a new job in the target's queue; Running ones
	// were handed to the sweeper (LeasesEnded of them had a lease still in
	// the future, ended at the copy's time).
	Queued, Running, LeasesEnded int
}

type tableReport struct {
	Name                     string
	Identity                 bool
	Source, Copied, Target   int64
	SourceMaxID, TargetMaxID int64
	// NextID is the id the target's sequence hands out next: past both the
	// highest id and SQLite's AUTOINCREMENT high-water mark, so that the id
	// of a deleted row (an agent whose executions remain) is never reused.
	NextID int64
}

// errSourceLocked is the copy's error when a server still holds the
// source database.
var errSourceLocked = errors.New("the source database is in use")

// copyDeployment copies the SQLite deployment at opts.From into the empty
// PostgreSQL database at opts.To. The report is returned with a
// verification error too, so that the counts can be shown.
func copyDeployment(ctx context.Context, opts copyOptions) (*copyReport, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	src, err := openCopySource(ctx, opts.From)
	if err != nil {
		return nil, err
	}
	defer src.Close()

	cfg := opts.Config
	cfg.DatabaseURL = opts.To
	dst, w, err := openPostgres(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", redactURL(opts.To), err)
	}
	defer dst.Close()
	jobs, ok := w.(jobInserter)
	if !ok {
		return nil, fmt.Errorf("target queue %T cannot insert jobs in a transaction", w)
	}

	// One pinned SQLite connection (the store has only one), made
	// query-only: whatever happens, the copy never writes the source.
	conn, err := src.DB().Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA query_only = 1`); err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA query_only = 0`) }()
	// One read transaction: every table and every count from one snapshot.
	srcTx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	defer func() { _ = srcTx.Rollback() }()

	c := &copier{src: srcTx, log: log, jobs: jobs, now: opts.Now.Truncate(time.Microsecond)}
	var report *copyReport
	err = pgx.BeginTxFunc(ctx, dst.Pool(), pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		c.dst = tx
		var err error
		report, err = c.run(ctx)
		return err
	})
	return report, err
}

// jobInserter is the target's queue: it inserts an execution's job in a
// transaction of the target.
type jobInserter interface {
	InsertTx(ctx context.Context, tx pgx.Tx, executionID int64) (int64, error)
}

// openCopySource opens the SQLite database at path without creating or
// migrating it. The store takes its exclusive process lock, so a server
// still running on the database is reported, not raced.
func openCopySource(ctx context.Context, path string) (*sqlite.Store, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("source database %s does not exist", path)
	}
	if err != nil {
		return nil, fmt.Errorf("source database: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("source %s is a directory: name the database file (the data dir's is %s)", path, filepath.Join(path, "tessera.db"))
	}
	src, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		// The store's lock error is the only one that says "in use".
		if strings.Contains(err.Error(), "in use by another") {
			return nil, fmt.Errorf("%w: %s is held by a running tessera process; stop that server (the copy must see a database nobody writes) and run the copy again", errSourceLocked, path)
		}
		return nil, fmt.Errorf("source: %w", err)
	}
	return src, nil
}

// copier runs the copy: src is the source's read transaction, dst the
// target's write transaction.
type copier struct {
	src  *sql.Tx
	dst  pgx.Tx
	log  *slog.Logger
	jobs jobInserter
	now  time.Time
	// tables are those of the databases' schema version.
	tables []copyTable
}

func (c *copier) run(ctx context.Context) (*copyReport, error) {
	version, err := c.checkVersions(ctx)
	if err != nil {
		return nil, err
	}
	c.tables = tablesAt(version)
	if err := c.checkSchema(ctx); err != nil {
		return nil, err
	}
	if err := c.lockEmptyTarget(ctx); err != nil {
		return nil, err
	}
	report := &copyReport{}
	for i := range c.tables {
		t := &c.tables[i]
		n, err := c.copyTable(ctx, t)
		if err != nil {
			return nil, err
		}
		report.Tables = append(report.Tables, tableReport{Name: t.name, Identity: t.identity, Copied: n})
		c.log.InfoContext(ctx, "copied table", "table", t.name, "rows", n)
	}
	if report.Running, report.LeasesEnded, err = c.endLeases(ctx); err != nil {
		return nil, err
	}
	c.log.InfoContext(ctx, "running executions handed to the sweeper", "running", report.Running, "leases_ended", report.LeasesEnded)
	if report.Queued, err = c.enqueueQueued(ctx); err != nil {
		return nil, err
	}
	if err := c.resetSequences(ctx, report); err != nil {
		return nil, err
	}
	if err := c.verify(ctx, report); err != nil {
		return report, err
	}
	return report, nil
}

// checkVersions requires both databases at the same migration, and
// returns it: the column lists are checked too, but this names the fix.
func (c *copier) checkVersions(ctx context.Context) (int64, error) {
	var srcVersion, dstVersion int64
	err := c.src.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM tessera_migrations WHERE is_applied`).Scan(&srcVersion)
	if err != nil {
		return 0, fmt.Errorf("source is not a Tessera database (no readable tessera_migrations table): %w", err)
	}
	if err := c.dst.QueryRow(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM tessera_migrations WHERE is_applied`).Scan(&dstVersion); err != nil {
		return 0, fmt.Errorf("target: %w", err)
	}
	switch {
	case srcVersion < dstVersion:
		return 0, fmt.Errorf("the source database is at schema version %d and this tessera's is %d: bring the source up to date first with `tessera migrate --database-url sqlite:PATH` (back it up before), then copy", srcVersion, dstVersion)
	case srcVersion > dstVersion:
		return 0, fmt.Errorf("the source database is at schema version %d, newer than this tessera's %d: copy it with the tessera version that wrote it", srcVersion, dstVersion)
	}
	return srcVersion, nil
}

// checkSchema compares c.tables with both live schemas and refuses a
// source table the copy does not know (it would be left behind).
func (c *copier) checkSchema(ctx context.Context) error {
	rows, err := c.src.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE 'river\_%' ESCAPE '\' AND name <> 'tessera_migrations'
		ORDER BY name`)
	if err != nil {
		return fmt.Errorf("source schema: %w", err)
	}
	var unknown []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("source schema: %w", err)
		}
		if !slices.ContainsFunc(c.tables, func(t copyTable) bool { return t.name == name }) {
			unknown = append(unknown, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("source schema: %w", err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("the source has tables this copy does not know (%s); it would leave them behind, so it stops: use the tessera version that wrote the source", strings.Join(unknown, ", "))
	}
	var problems []string
	for i := range c.tables {
		t := &c.tables[i]
		p, err := c.checkSourceTable(ctx, t)
		if err != nil {
			return err
		}
		problems = append(problems, p...)
		p, err = c.checkTargetTable(ctx, t)
		if err != nil {
			return err
		}
		problems = append(problems, p...)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the schemas do not match what this copy moves, so it stops before writing anything:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

func (c *copier) checkSourceTable(ctx context.Context, t *copyTable) ([]string, error) {
	rows, err := c.src.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?)`, t.name)
	if err != nil {
		return nil, fmt.Errorf("source schema of %s: %w", t.name, err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var problems []string
	for rows.Next() {
		var name, typ string
		var notNull, pk int
		if err := rows.Scan(&name, &typ, &notNull, &pk); err != nil {
			return nil, fmt.Errorf("source schema of %s: %w", t.name, err)
		}
		seen[name] = true
		col, ok := t.column(name)
		if !ok {
			problems = append(problems, fmt.Sprintf("source %s.%s is not copied", t.name, name))
			continue
		}
		// A primary key is never NULL whatever "notnull" says.
		nullable := notNull == 0 && pk == 0
		if !strings.EqualFold(typ, col.kind.sqliteType()) || nullable != col.kind.nullable() {
			problems = append(problems, fmt.Sprintf("source %s.%s is %s (nullable %v), want %s (nullable %v)",
				t.name, name, typ, nullable, col.kind.sqliteType(), col.kind.nullable()))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("source schema of %s: %w", t.name, err)
	}
	if len(seen) == 0 {
		return []string{fmt.Sprintf("source table %s is missing", t.name)}, nil
	}
	for _, col := range t.cols {
		if !seen[col.name] {
			problems = append(problems, fmt.Sprintf("source %s.%s is missing", t.name, col.name))
		}
	}
	return problems, nil
}

func (c *copier) checkTargetTable(ctx context.Context, t *copyTable) ([]string, error) {
	rows, err := c.dst.Query(ctx, `SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, t.name)
	if err != nil {
		return nil, fmt.Errorf("target schema of %s: %w", t.name, err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var problems []string
	for rows.Next() {
		var name, typ string
		var nullable bool
		if err := rows.Scan(&name, &typ, &nullable); err != nil {
			return nil, fmt.Errorf("target schema of %s: %w", t.name, err)
		}
		seen[name] = true
		col, ok := t.column(name)
		if !ok {
			problems = append(problems, fmt.Sprintf("target %s.%s is not copied", t.name, name))
			continue
		}
		if !slices.Contains(col.kind.pgTypes(), typ) || nullable != col.kind.nullable() {
			problems = append(problems, fmt.Sprintf("target %s.%s is %s (nullable %v), want one of %s (nullable %v)",
				t.name, name, typ, nullable, strings.Join(col.kind.pgTypes(), ", "), col.kind.nullable()))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("target schema of %s: %w", t.name, err)
	}
	if len(seen) == 0 {
		return []string{fmt.Sprintf("target table %s is missing", t.name)}, nil
	}
	for _, col := range t.cols {
		if !seen[col.name] {
			problems = append(problems, fmt.Sprintf("target %s.%s is missing", t.name, col.name))
		}
	}
	return problems, nil
}

func (t *copyTable) column(name string) (column, bool) {
	i := slices.IndexFunc(t.cols, func(c column) bool { return c.name == name })
	if i < 0 {
		return column{}, false
	}
	return t.cols[i], true
}

// lockEmptyTarget locks Tessera's tables of the target against writers
// until the copy commits (a server started on the target meanwhile waits,
// then finds workspace 1 taken) and refuses a target holding any row.
func (c *copier) lockEmptyTarget(ctx context.Context) error {
	names := make([]string, len(c.tables))
	for i, t := range c.tables {
		names[i] = pgx.Identifier{t.name}.Sanitize()
	}
	if _, err := c.dst.Exec(ctx, `SET LOCAL lock_timeout = '10s'`); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if _, err := c.dst.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		if pgCode(err) == "55P03" {
			return errors.New("the target's tables are in use (a tessera server is running on it?): stop it; the copy needs an empty database nothing writes")
		}
		return fmt.Errorf("target: lock tables: %w", err)
	}
	var held []string
	for _, t := range c.tables {
		var n int64
		if err := c.dst.QueryRow(ctx, `SELECT COUNT(*) FROM `+pgx.Identifier{t.name}.Sanitize()).Scan(&n); err != nil {
			return fmt.Errorf("target: count %s: %w", t.name, err)
		}
		if n > 0 {
			held = append(held, fmt.Sprintf("%s: %d", t.name, n))
		}
	}
	if len(held) > 0 {
		return fmt.Errorf("the target database is not empty (%s): the copy only fills an empty database, so nothing was written; "+
			"use a new database, or a new schema (search_path=… in the URL), that no `tessera serve` has started on (serve creates workspace 1 at start)",
			strings.Join(held, ", "))
	}
	return nil
}

// copyTable streams t from the source in key order and sends it to the
// target with COPY, a batch at a time.
func (c *copier) copyTable(ctx context.Context, t *copyTable) (int64, error) {
	names := t.colNames()
	rows, err := c.src.QueryContext(ctx, `SELECT `+sqliteIdents(names)+` FROM `+sqliteIdents([]string{t.name})+` ORDER BY `+sqliteIdents(t.key))
	if err != nil {
		return 0, fmt.Errorf("source: read %s: %w", t.name, err)
	}
	defer rows.Close()
	holders := make([]any, len(t.cols))
	for i, col := range t.cols {
		holders[i] = newHolder(col.kind)
	}
	var batch [][]any
	var batchBytes int
	var total int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		n, err := c.dst.CopyFrom(ctx, pgx.Identifier{t.name}, names, pgx.CopyFromRows(batch))
		if err != nil {
			return fmt.Errorf("target: write %s rows %s to %s: %w", t.name, keyString(t, batch[0]), keyString(t, batch[len(batch)-1]), describePG(err))
		}
		if n != int64(len(batch)) {
			return fmt.Errorf("target: write %s: %d rows written of %d", t.name, n, len(batch))
		}
		total += n
		batch, batchBytes = batch[:0], 0
		return nil
	}
	for rows.Next() {
		if err := rows.Scan(holders...); err != nil {
			return 0, fmt.Errorf("source: read %s: %w", t.name, err)
		}
		row := make([]any, len(t.cols))
		for i, col := range t.cols {
			v, size, err := toPG(col.kind, holders[i])
			if err != nil {
				return 0, fmt.Errorf("source: %s.%s of row %s: %w", t.name, col.name, keyString(t, row[:i]), err)
			}
			row[i] = v
			batchBytes += size
		}
		batch = append(batch, row)
		if len(batch) >= copyBatchRows || batchBytes >= copyBatchBytes {
			if err := flush(); err != nil {
				return 0, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("source: read %s: %w", t.name, err)
	}
	if err := flush(); err != nil {
		return 0, err
	}
	return total, nil
}

// keyString shows a row's key, for messages; row holds at least the key
// columns when they come first (they do in every table), else "?".
func keyString(t *copyTable, row []any) string {
	parts := make([]string, 0, len(t.key))
	for _, k := range t.key {
		i := slices.IndexFunc(t.cols, func(c column) bool { return c.name == k })
		if i < 0 || i >= len(row) {
			return "?"
		}
		parts = append(parts, fmt.Sprint(row[i]))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// sqliteIdents quotes names for SQLite (a column may be named like a
// keyword: timestamp) and joins them with commas.
func sqliteIdents(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
	}
	return strings.Join(quoted, ", ")
}

func newHolder(k colKind) any {
	switch k {
	case kInt, kTime, kBool:
		return new(int64)
	case kNullInt, kNullTime:
		return new(sql.NullInt64)
	case kReal:
		return new(float64)
	case kNullReal:
		return new(sql.NullFloat64)
	case kText, kJSON:
		return new(string)
	case kNullJSON:
		return new(sql.NullString)
	}
	panic(fmt.Sprintf("colKind %d", k))
}

// toPG converts a scanned SQLite value to what pgx writes for the PG
// column, and its rough size. JSON goes as a string: pgx sends a string to
// a json or jsonb column as JSON text, unchanged (json keeps the bytes).
func toPG(k colKind, holder any) (any, int, error) {
	switch k {
	case kInt:
		return *holder.(*int64), 8, nil
	case kNullInt:
		if v := holder.(*sql.NullInt64); v.Valid {
			return v.Int64, 8, nil
		}
		return nil, 0, nil
	case kTime:
		return time.UnixMicro(*holder.(*int64)).UTC(), 8, nil
	case kNullTime:
		if v := holder.(*sql.NullInt64); v.Valid {
			return time.UnixMicro(v.Int64).UTC(), 8, nil
		}
		return nil, 0, nil
	case kBool:
		switch v := *holder.(*int64); v {
		case 0, 1:
			return v == 1, 1, nil
		default:
			return nil, 0, fmt.Errorf("boolean column holds %d, not 0 or 1", v)
		}
	case kReal:
		return *holder.(*float64), 8, nil
	case kNullReal:
		if v := holder.(*sql.NullFloat64); v.Valid {
			return v.Float64, 8, nil
		}
		return nil, 0, nil
	case kText, kJSON:
		s := *holder.(*string)
		return s, len(s), nil
	case kNullJSON:
		if v := holder.(*sql.NullString); v.Valid {
			return v.String, len(v.String), nil
		}
		return nil, 0, nil
	}
	return nil, 0, fmt.Errorf("colKind %d", k)
}

// describePG adds the server's detail and position to a PostgreSQL error
// (COPY says which line and column of the batch it refused).
func describePG(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	msg := pe.Message
	if pe.Detail != "" {
		msg += " (" + pe.Detail + ")"
	}
	if pe.Where != "" {
		msg += " [" + pe.Where + "]"
	}
	switch pe.Code {
	case "22021", "22P05":
		msg += ": PostgreSQL cannot store a NUL character or invalid UTF-8 in text, nor \\u0000 in jsonb, which SQLite accepts; fix or delete that row in the source and copy again"
	}
	return fmt.Errorf("%s: %w", msg, err)
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// endLeases hands running executions to the target's sweeper: the source
// server is stopped (the copy holds its lock), so no worker holds their
// leases; a lease still in the future (or missing) ends at the copy's time,
// so the first sweep of a server on the target requeues the execution (or
// fails or cancels it, as its attempts and cancel flag say) instead of
// waiting for the lease.
func (c *copier) endLeases(ctx context.Context) (running, ended int, err error) {
	if err := c.dst.QueryRow(ctx, `SELECT COUNT(*) FROM executions WHERE status = 'running'`).Scan(&running); err != nil {
		return 0, 0, fmt.Errorf("target: count running: %w", err)
	}
	tag, err := c.dst.Exec(ctx, `UPDATE executions SET lease_expires_at = $1
		WHERE status = 'running' AND (lease_expires_at IS NULL OR lease_expires_at > $1)`, c.now)
	if err != nil {
		return 0, 0, fmt.Errorf("target: end leases: %w", err)
	}
	return running, int(tag.RowsAffected()), nil
}

// enqueueQueued gives every queued execution a job in the target's River
// queue (the source's jobs live in SQLite's river_job and are not copied)
// and records it as the execution's job id. Other executions keep the job
// id they had: it names the job that ran them, in the old queue.
func (c *copier) enqueueQueued(ctx context.Context) (int, error) {
	var after int64
	var total int
	for {
		rows, err := c.dst.Query(ctx, `SELECT id FROM executions WHERE status = 'queued' AND id > $1 ORDER BY id LIMIT $2`, after, copyBatchRows)
		if err != nil {
			return 0, fmt.Errorf("target: queued executions: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return 0, fmt.Errorf("target: queued executions: %w", err)
		}
		if len(ids) == 0 {
			return total, nil
		}
		for _, id := range ids {
			jobID, err := c.jobs.InsertTx(ctx, c.dst, id)
			if err != nil {
				return 0, fmt.Errorf("target: %w", err)
			}
			if _, err := c.dst.Exec(ctx, `UPDATE executions SET job_id = $1 WHERE id = $2`, jobID, id); err != nil {
				return 0, fmt.Errorf("target: job of execution %d: %w", id, err)
			}
		}
		total += len(ids)
		after = ids[len(ids)-1]
	}
}

// resetSequences moves each identity sequence past the source's highest id
// and its AUTOINCREMENT mark, so new rows never take a copied or a deleted
// row's id.
func (c *copier) resetSequences(ctx context.Context, report *copyReport) error {
	for i := range report.Tables {
		r := &report.Tables[i]
		if !r.Identity {
			continue
		}
		var maxID, mark int64
		if err := c.src.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+r.Name).Scan(&maxID); err != nil {
			return fmt.Errorf("source: max id of %s: %w", r.Name, err)
		}
		err := c.src.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = ?`, r.Name).Scan(&mark)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("source: sequence of %s: %w", r.Name, err)
		}
		last := max(maxID, mark)
		r.NextID = last + 1
		if last == 0 {
			continue // nothing was ever inserted: the sequence starts at 1
		}
		if _, err := c.dst.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, 'id'), $2)`, r.Name, last); err != nil {
			return fmt.Errorf("target: sequence of %s: %w", r.Name, err)
		}
	}
	return nil
}

// verify counts every table (and the highest id) on both sides, in the
// copy's snapshots; any difference is an error and the copy rolls back.
func (c *copier) verify(ctx context.Context, report *copyReport) error {
	var problems []string
	for i := range report.Tables {
		r := &report.Tables[i]
		if err := c.src.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+r.Name).Scan(&r.Source); err != nil {
			return fmt.Errorf("source: count %s: %w", r.Name, err)
		}
		if err := c.dst.QueryRow(ctx, `SELECT COUNT(*) FROM `+pgx.Identifier{r.Name}.Sanitize()).Scan(&r.Target); err != nil {
			return fmt.Errorf("target: count %s: %w", r.Name, err)
		}
		if r.Source != r.Target || r.Copied != r.Source {
			problems = append(problems, fmt.Sprintf("%s: %d rows in the source, %d copied, %d in the target", r.Name, r.Source, r.Copied, r.Target))
		}
		if !r.Identity {
			continue
		}
		if err := c.src.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+r.Name).Scan(&r.SourceMaxID); err != nil {
			return fmt.Errorf("source: max id of %s: %w", r.Name, err)
		}
		if err := c.dst.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+pgx.Identifier{r.Name}.Sanitize()).Scan(&r.TargetMaxID); err != nil {
			return fmt.Errorf("target: max id of %s: %w", r.Name, err)
		}
		if r.SourceMaxID != r.TargetMaxID {
			problems = append(problems, fmt.Sprintf("%s: highest id %d in the source, %d in the target", r.Name, r.SourceMaxID, r.TargetMaxID))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("verification failed, nothing was committed:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// print writes the table of counts.
func (r *copyReport) print(w io.Writer) error {
	const row = "%-20s  %11s  %11s  %13s  %13s  %7s\n"
	var b strings.Builder
	fmt.Fprintf(&b, row, "table", "source rows", "target rows", "source max id", "target max id", "next id")
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, t := range r.Tables {
		if t.Identity {
			fmt.Fprintf(&b, row, t.Name, n(t.Source), n(t.Target), n(t.SourceMaxID), n(t.TargetMaxID), n(t.NextID))
		} else {
			fmt.Fprintf(&b, row, t.Name, n(t.Source), n(t.Target), "-", "-", "-")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// isPostgresURL reports whether s names PostgreSQL.
func isPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// copySourcePath is the file named by --from: sqlite:PATH (or file:PATH,
// as database_url accepts) or a plain path.
func copySourcePath(from string) (string, error) {
	if isPostgresURL(from) {
		return "", errors.New("--from must be an SQLite database (sqlite:PATH or PATH); to copy PostgreSQL to PostgreSQL use pg_dump")
	}
	path := from
	if strings.HasPrefix(from, "sqlite:") || strings.HasPrefix(from, "file:") {
		path = (&Config{DatabaseURL: from}).sqlitePath()
	}
	if path == "" {
		return "", fmt.Errorf("--from %q names no file: use sqlite:PATH or PATH", from)
	}
	return path, nil
}

// runCopy is migrate --from --to.
func runCopy(ctx context.Context, cfg Config, from, to string, log *slog.Logger, stdout io.Writer) error {
	path, err := copySourcePath(from)
	if err != nil {
		return usageError{err}
	}
	if !isPostgresURL(to) {
		return usageError{fmt.Errorf("--to %q must be a PostgreSQL URL (postgres://…)", redactURL(to))}
	}
	// The copy's own transaction is what makes it all-or-nothing; stopping
	// it (Ctrl-C) rolls it back.
	report, err := copyDeployment(ctx, copyOptions{From: path, To: to, Config: cfg, Log: log, Now: time.Now()})
	if report != nil && err != nil {
		_ = report.print(stdout)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "copied sqlite:%s to %s\n\n", path, redactURL(to))
	if err := report.print(stdout); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "\nverified: every table's row count and highest id match\n"+
		"queued executions given a job in the target's queue: %d\n"+
		"running executions handed to the target's sweeper (requeued when a server starts on it): %d\n\n"+
		"Next: point TESSERA_DATABASE_URL at the target and start tessera serve; keep the source as a backup.\n",
		report.Queued, report.Running)
	return err
}
