package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func migrateCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date and exit, or copy an SQLite deployment into PostgreSQL",
		Long: `Without --from and --to, migrate brings the configured database up to date
and exits.

With --from and --to, it copies a whole embedded (SQLite) deployment into an
empty PostgreSQL database: workspaces, API keys (their hashes: tokens keep
working), agents, executions and their event logs, with their ids. The server
using the source must be stopped first. The target's schema is migrated, the
copy runs in one transaction (a failed copy writes nothing) and is verified:
every table's row count and highest id must match.

  tessera migrate --from sqlite:/var/lib/tessera/tessera.db \
      --to 'postgres://tessera:…@db:5432/tessera?sslmode=verify-full'`,
		Args: cobra.NoArgs,
	}
	bindFlags(cmd.Flags())
	cmd.Flags().String("from", "", "copy this SQLite database (sqlite:PATH or PATH) into --to; stop its server first")
	cmd.Flags().String("to", "", "the empty PostgreSQL database (postgres://…) to copy --from into")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		fs := cmd.Flags()
		from, _ := fs.GetString("from")
		to, _ := fs.GetString("to")
		copying := fs.Changed("from") || fs.Changed("to")
		if copying {
			switch {
			case from == "" || to == "":
				return usageError{errors.New("--from and --to go together: migrate --from sqlite:PATH --to postgres://…")}
			case fs.Changed("database-url") || fs.Changed("data-dir"):
				return usageError{errors.New("--database-url and --data-dir name the database to bring up to date; with --from and --to they do not apply")}
			}
		}
		cfg, err := loadConfig(fs, getenv)
		if err != nil {
			return usageError{err}
		}
		log, err := newLogger(cfg.Log, stderr)
		if err != nil {
			return err
		}
		if copying {
			return runCopy(cmd.Context(), cfg, from, to, log, stdout)
		}
		n, err := openNode(cmd.Context(), cfg, log)
		if err != nil {
			return err
		}
		defer n.store.Close()
		where := cfg.sqlitePath()
		if cfg.isPostgres() {
			where = redactURL(cfg.DatabaseURL)
		}
		_, err = fmt.Fprintf(stdout, "database %s is up to date\n", where)
		return err
	}
	return cmd
}
