package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationTable is goose's history table, named apart from River's tables.
const migrationTable = "tessera_migrations"

// Migrate applies the pending migrations of Tessera's tables. It is
// idempotent.
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	// The global registry holds Go migrations of whoever imported goose;
	// only this package's files belong here.
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, fsys,
		goose.WithTableName(migrationTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	// p.Close would close s.db, so the provider is simply dropped.
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, r := range results {
		s.logger.InfoContext(ctx, "applied migration", "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}
