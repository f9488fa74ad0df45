package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func migrateCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date and exit",
		Args:  cobra.NoArgs,
	}
	bindFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd.Flags(), getenv)
		if err != nil {
			return usageError{err}
		}
		log, err := newLogger(cfg.Log, stderr)
		if err != nil {
			return err
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
