package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tessera-run/tessera"
)

// EnqueueFunc inserts the durable job that will run execution executionID,
// inside tx, and returns the job's id. Production wiring passes
// queue.Queue[pgx.Tx].InsertTx. It may run more than once for one call of
// the store when a transaction is retried: it must write only through tx.
type EnqueueFunc func(ctx context.Context, tx pgx.Tx, executionID int64) (jobID int64, err error)

// Config configures Open.
type Config struct {
	// URL is a PostgreSQL connection URL or keyword/value string, as pgx
	// parses it (pool_max_conns and the other pgxpool settings included).
	URL string
	// Schema, when set, is the schema every connection works in (its
	// search_path): Tessera's and River's tables, isolated from the rest of
	// the database. Open creates it when missing. It must be a lower-case
	// identifier (letters, digits, '_'), so that it means the same quoted or
	// not. Empty keeps the server's search_path.
	Schema string
	// MaxConns caps the pool; zero keeps the URL's pool_max_conns or pgx's
	// default (the larger of 4 and the CPU count). River's client draws its
	// connections from the same pool.
	MaxConns int32
	// Enqueue is the job hook of ExecutionCreate and ExecutionRequeueExpired.
	// It may be set later with SetEnqueue.
	Enqueue EnqueueFunc
	// Logger receives migration progress and transaction retries; nil
	// discards them.
	Logger *slog.Logger
}

// Store is the PostgreSQL tessera.Store.
type Store struct {
	pool    *pgxpool.Pool
	logger  *slog.Logger
	enqueue atomic.Pointer[EnqueueFunc]
}

var _ tessera.Store = (*Store)(nil)

// schemaRE is what Config.Schema may be: an identifier that folds to itself,
// at most PostgreSQL's 63 bytes.
var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the database without migrating it, creating
// Config.Schema when it is missing. It fails with EUNAVAILABLE when the
// server cannot be reached.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("postgres: a database URL is required")
	}
	if cfg.Schema != "" && !schemaRE.MatchString(cfg.Schema) {
		return nil, fmt.Errorf("postgres: schema %q is not a lower-case identifier of at most 63 letters, digits and underscores", cfg.Schema)
	}
	if cfg.MaxConns < 0 {
		return nil, fmt.Errorf("postgres: MaxConns %d is negative", cfg.MaxConns)
	}
	pcfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx redacts passwords on a best-effort basis only; a URL that does
		// not parse is exactly where that can fail, so none of it is shown.
		return nil, errors.New("postgres: the database URL does not parse (it is not shown, as it may hold a password)")
	}
	password := pcfg.ConnConfig.Password
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = cfg.MaxConns
	}
	if cfg.Schema != "" {
		// A startup parameter, so that every connection (River's included)
		// has it from the start and no reset can lose it.
		pcfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{cfg.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, redact(fmt.Errorf("postgres: open: %w", err), password)
	}
	s := &Store{pool: pool, logger: cfg.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.SetEnqueue(cfg.Enqueue)
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, redact(err, password)
	}
	if cfg.Schema != "" {
		if err := s.ensureSchema(ctx, cfg.Schema); err != nil {
			pool.Close()
			return nil, redact(err, password)
		}
	}
	return s, nil
}

// OpenMigrated opens the database and applies pending migrations.
func OpenMigrated(ctx context.Context, cfg Config) (*Store, error) {
	s, err := Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// ensureSchema creates schema unless it exists. It looks first, so that a
// role without CREATE on the database can use a schema made for it; two
// nodes creating it at once both succeed.
func (s *Store) ensureSchema(ctx context.Context, schema string) error {
	var exists bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&exists)
	if err != nil {
		return wrap("create schema", err)
	}
	if exists {
		return nil
	}
	_, err = s.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{schema}.Sanitize())
	if c := pgCode(err); c == codeDuplicateSchema || c == codeUniqueViolation {
		err = nil // created concurrently (IF NOT EXISTS does not cover the race)
	}
	return wrap("create schema", err)
}

// SetEnqueue sets the job hook; wiring calls it once the queue exists.
func (s *Store) SetEnqueue(fn EnqueueFunc) {
	if fn == nil {
		s.enqueue.Store(nil)
		return
	}
	s.enqueue.Store(&fn)
}

func (s *Store) enqueueJob(ctx context.Context, tx pgx.Tx, executionID int64) (int64, error) {
	fn := s.enqueue.Load()
	if fn == nil {
		return 0, errors.New("no enqueue hook is set")
	}
	jobID, err := (*fn)(ctx, tx, executionID)
	if err != nil {
		return 0, fmt.Errorf("enqueue execution %d: %w", executionID, err)
	}
	return jobID, nil
}

// Pool returns the connection pool, for River's driver (riverpgxv5.New) and
// its migrations.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return wrap("ping", s.pool.Ping(ctx))
}

// Close closes the pool, waiting for connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// querier is the pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// maxTxAttempts bounds the runs of a transaction that keeps failing with a
// serialization failure or a deadlock.
const maxTxAttempts = 4

var (
	writeTx = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
	// readTx gives a page and its total one snapshot; a read-only
	// transaction never fails to serialize.
	readTx = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
)

// inTx runs fn in a READ COMMITTED transaction, committing when it returns
// nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.tx(ctx, writeTx, fn)
}

// inReadTx runs fn in a read-only snapshot.
func (s *Store) inReadTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.tx(ctx, readTx, fn)
}

// tx runs fn in a transaction and runs it again, after a short random
// pause, when the server rolled it back for a serialization failure or a
// deadlock. fn must set its results afresh on each run.
func (s *Store) tx(ctx context.Context, opts pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginTxFunc(ctx, s.pool, opts, fn)
		if err == nil || !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		s.logger.DebugContext(ctx, "retrying transaction", "attempt", attempt, "error", err)
		pause := time.Duration(attempt)*5*time.Millisecond + rand.N(5*time.Millisecond)
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
			return err
		case <-timer.C:
		}
	}
}

// redact replaces secret in err's text; the cause stays reachable through
// Unwrap for errors.Is and errors.As.
func redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
