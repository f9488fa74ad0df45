package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"sync/atomic"

	"github.com/tessera-run/tessera"
)

// EnqueueFunc inserts the durable job that will run execution executionID,
// inside tx, and returns the job's id.
type EnqueueFunc func(ctx context.Context, tx *sql.Tx, executionID int64) (jobID int64, err error)

// Config configures Open.
type Config struct {
	// Path is the database file; it is created when missing. ":memory:" is
	// refused: the queue and the lock need a real file.
	Path string
	// Enqueue is the job hook of ExecutionCreate and ExecutionRequeueExpired.
	// It may be set later with SetEnqueue.
	Enqueue EnqueueFunc
	// Logger receives migration progress; nil discards it.
	Logger *slog.Logger
}

// Store is the SQLite tessera.Store.
type Store struct {
	db      *sql.DB
	lock    *fileLock
	logger  *slog.Logger
	enqueue atomic.Pointer[EnqueueFunc]
}

var _ tessera.Store = (*Store)(nil)

// Open opens (creating if needed) the database at cfg.Path without
// migrating it. It fails when another process holds the database.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" || cfg.Path == ":memory:" {
		return nil, errors.New("sqlite: a database file path is required")
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := registerFunctions(); err != nil {
		return nil, err
	}
	lock, err := acquireLock(path)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		lock.release()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// River's SQLite driver needs a single connection; it also serialises
	// this process's writers, so they never meet SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		lock.release()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s := &Store{db: db, lock: lock, logger: cfg.Logger}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.SetEnqueue(cfg.Enqueue)
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

// dsn builds a file: URI, so that a path with '?' or '#' stays a path.
// Writes begin IMMEDIATE: a transaction that reads and then writes would
// otherwise fail with SQLITE_BUSY instead of waiting for the lock.
func dsn(path string) string {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() + "?" + q.Encode()
}

// SetEnqueue sets the job hook; wiring calls it once the queue exists.
func (s *Store) SetEnqueue(fn EnqueueFunc) {
	if fn == nil {
		s.enqueue.Store(nil)
		return
	}
	s.enqueue.Store(&fn)
}

func (s *Store) enqueueJob(ctx context.Context, tx *sql.Tx, executionID int64) (int64, error) {
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

// DB returns the database, for River's driver and its migrations.
func (s *Store) DB() *sql.DB { return s.db }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the database and then releases the process lock.
func (s *Store) Close() error {
	err := s.db.Close()
	s.lock.release()
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE), committing when fn
// returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.tx(ctx, nil, fn)
}

// inReadTx runs fn in a deferred transaction, so that a page and its total
// come from one snapshot.
func (s *Store) inReadTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.tx(ctx, &sql.TxOptions{ReadOnly: true}, fn)
}

func (s *Store) tx(ctx context.Context, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
