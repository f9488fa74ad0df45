package main

// The client commands (agents, exec, executions, keys, models) call a
// running server through the client package. They share the connection
// flags and the output format, and classify their errors into exit codes.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-run/tessera/client"
)

// cliDefaultURL is where a local server listens by default.
const cliDefaultURL = "http://127.0.0.1:8080"

// Exit codes of the client commands, besides 0, 1 (the execution failed
// or the server refused) and 2 (usage).
const cliExitUnreachable = 3

// cliExit is an error with its own exit code.
type cliExit struct {
	code int
	err  error
}

func (e cliExit) Error() string { return e.err.Error() }
func (e cliExit) Unwrap() error { return e.err }

// cliExitCode returns the exit code an error asks for, if it asks.
func cliExitCode(err error) (int, bool) {
	var e cliExit
	if errors.As(err, &e) {
		return e.code, true
	}
	return 0, false
}

// cliEnv is what the client commands share: the process's environment and
// streams, and the connection and output flags.
type cliEnv struct {
	getenv         func(string) string
	stdout, stderr io.Writer

	url, apiKey, output string
	workspace           int64
}

// cliCommands returns the client commands.
func cliCommands(getenv func(string) string, stdout, stderr io.Writer) []*cobra.Command {
	e := &cliEnv{getenv: getenv, stdout: stdout, stderr: stderr}
	cmds := []*cobra.Command{cliAgentsCommand(e), cliExecCommand(e), cliExecutionsCommand(e), cliKeysCommand(e), cliModelsCommand(e)}
	for _, c := range cmds {
		f := c.PersistentFlags()
		f.StringVar(&e.url, "url", "", "server URL (default $TESSERA_URL, else "+cliDefaultURL+")")
		f.StringVar(&e.apiKey, "api-key", "", "API key (default $TESSERA_API_KEY)")
		f.StringVarP(&e.output, "output", "o", "", `output format: "table" or "json" (default table)`)
		f.Int64Var(&e.workspace, "workspace", 0, "workspace id (default $TESSERA_WORKSPACE, else the key's default)")
	}
	return cmds
}

// cliGroup is a command that only holds subcommands.
func cliGroup(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use: use, Short: short, Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names := make([]string, 0, len(subs))
			for _, s := range subs {
				names = append(names, s.Name())
			}
			return usageError{fmt.Errorf("%s needs a subcommand: %s (see tessera %s --help)", use, strings.Join(names, ", "), use)}
		},
	}
	c.AddCommand(subs...)
	return c
}

// cliCall is a client command's body.
type cliCall func(ctx context.Context, cl *client.Client, args []string) error

// run adapts a cliCall to cobra: it builds the client from the flags and
// the environment, and classifies what the call returns.
func (e *cliEnv) run(call cliCall) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if e.output == "" {
			e.output = "table"
		}
		if e.output != "table" && e.output != "json" {
			return usageError{fmt.Errorf(`--output must be "table" or "json", not %q`, e.output)}
		}
		cl, closeIdle, err := e.client()
		if err != nil {
			return err
		}
		defer closeIdle()
		return e.classify(cmd.Context(), cl, call(cmd.Context(), cl, args))
	}
}

// client builds the API client: flags override the environment.
func (e *cliEnv) client() (*client.Client, func(), error) {
	base := cliFirst(e.url, e.getenv("TESSERA_URL"), cliDefaultURL)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, nil, usageError{fmt.Errorf("the server URL %q is not an http:// or https:// URL", base)}
	}
	key := cliFirst(e.apiKey, e.getenv("TESSERA_API_KEY"))
	if key == "" {
		return nil, nil, usageError{errors.New("no API key: set TESSERA_API_KEY or pass --api-key")}
	}
	ws := e.workspace
	if s := e.getenv("TESSERA_WORKSPACE"); ws == 0 && s != "" {
		if ws, err = strconv.ParseInt(s, 10, 64); err != nil || ws <= 0 {
			return nil, nil, usageError{fmt.Errorf("TESSERA_WORKSPACE=%q is not a workspace id", s)}
		}
	}
	// Each run has its own transport, so that no connection outlives it.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A person at a terminal starts these executions: they record manual.
	opts := []client.Option{client.WithHTTPClient(&http.Client{Transport: tr}), client.WithUserAgent("tessera-cli/" + Version),
		client.WithTrigger("manual")}
	if ws > 0 {
		opts = append(opts, client.WithWorkspace(ws))
	}
	return client.New(base, key, opts...), tr.CloseIdleConnections, nil
}

// classify gives an unreachable server its exit code; the server's
// refusals (*client.Error), failed executions and interruptions exit
// with 1.
func (e *cliEnv) classify(ctx context.Context, cl *client.Client, err error) error {
	var ue *url.Error
	var ce *client.Error
	switch {
	case err == nil, errors.As(err, &ce), ctx.Err() != nil:
		return err
	case errors.As(err, &ue):
		return cliExit{cliExitUnreachable, fmt.Errorf("cannot reach the server at %s: %w", cl.BaseURL(), ue.Err)}
	}
	return err
}

func (e *cliEnv) json() bool { return e.output == "json" }

// printJSON writes v as indented JSON.
func (e *cliEnv) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under a header, aligned.
func (e *cliEnv) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// fields writes "name: value" lines, aligned; empty values are skipped.
func (e *cliEnv) fields(kv ...string) error {
	tw := tabwriter.NewWriter(e.stdout, 0, 8, 1, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", kv[i], kv[i+1])
		}
	}
	return tw.Flush()
}

// cliArgID parses an id argument.
func cliArgID(name, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{fmt.Errorf("%s %q is not an id (a positive integer)", name, s)}
	}
	return id, nil
}

func cliFirst(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func cliTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func cliTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return cliTime(*t)
}

// cliOneLine shortens s to one line of at most n runes.
func cliOneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// cliIsTerminal reports whether w is a terminal, for progress displays.
func cliIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
