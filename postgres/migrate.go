package postgres

import (
	"context"
	"embed"
	"errors"
	"hash/fnv"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationTable is goose's history table, named apart from River's tables.
const migrationTable = "tessera_migrations"

// Migrate applies the pending migrations of Tessera's tables, in the
// schema the connections work in. It is idempotent, and safe to run from
// several nodes at once: goose holds a session advisory lock, keyed by the
// schema, while it migrates, and the others wait for it (up to five
// minutes) and then find nothing to do.
func (s *Store) Migrate(ctx context.Context) error {
	p, db, err := s.provider(ctx)
	if err != nil {
		return wrap("migrate", err)
	}
	defer db.Close() // releases the pool's connections, not the pool
	results, err := p.Up(ctx)
	if err != nil {
		return wrap("migrate", err)
	}
	for _, r := range results {
		s.logger.InfoContext(ctx, "applied migration", "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// provider returns the goose provider of this package's migrations over a
// database/sql view of the pool, which the caller closes.
func (s *Store) provider(ctx context.Context) (*goose.Provider, interface{ Close() error }, error) {
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(current_schema(), '')`).Scan(&schema); err != nil {
		return nil, nil, err
	}
	if schema == "" {
		return nil, nil, errors.New("the search_path names no existing schema to migrate into")
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID(schema)), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, nil, err
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, nil, err
	}
	db := stdlib.OpenDBFromPool(s.pool)
	// The global registry holds Go migrations of whoever imported goose;
	// only this package's files belong here.
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithTableName(migrationTable),
		goose.WithDisableGlobalRegistry(true), goose.WithSessionLocker(locker))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return p, db, nil
}

// migrationLockID is the advisory lock of migrations into schema: advisory
// locks are per database, and deployments in other schemas of it need not
// wait for each other.
func migrationLockID(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tessera_migrations\x00" + schema))
	return int64(h.Sum64())
}
