package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

// usageError marks errors in how the command was called (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if code, ok := cliExitCode(err); ok {
		return code
	}
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// Run is the whole program; main only adds signals, the environment and
// the exit code, so that tests can run the real server in-process.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           "tessera",
		Short:         "Tessera runs AI agents behind an HTTP API",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(serveCommand(getenv, stdout, stderr), migrateCommand(getenv, stdout, stderr), versionCommand(stdout))
	root.AddCommand(cliCommands(getenv, stdout, stderr)...)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && cmd != nil && isUsage(err) {
		return usageError{err}
	}
	return err
}

// isUsage recognises cobra's own argument errors.
func isUsage(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "accepts ", "requires "} {
		if len(msg) >= len(p) && (msg[:len(p)] == p) {
			return true
		}
	}
	return false
}

func versionCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			goVersion := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				goVersion = bi.GoVersion
			}
			_, err := fmt.Fprintf(stdout, "tessera %s (%s)\n", Version, goVersion)
			return err
		},
	}
}
