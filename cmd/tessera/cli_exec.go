package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tessera-run/tessera/client"
)

// cliExecFlags are exec's own flags.
type cliExecFlags struct {
	inputs        []string
	message       string
	model, tools  string
	rootID        int64
	timeout       time.Duration
	stream, async bool
}

func cliExecCommand(e *cliEnv) *cobra.Command {
	var f cliExecFlags
	var req *client.ExecuteRequest
	c := &cobra.Command{
		Use:   "exec <agent id|slug>",
		Short: "Run an agent and print its answer",
		Long: "exec runs an agent and prints the answer on stdout. With --stream the text is printed as it is\n" +
			"produced and each step of the tool loop (action, input, observation, tokens, latency) on stderr as\n" +
			"it happens. With --async it prints the execution's id at once. The exit code is 1 when the\n" +
			"execution fails, is cancelled or times out.",
		Args: cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error {
			var err error
			req, err = f.request()
			return err
		},
		RunE: e.run(func(ctx context.Context, cl *client.Client, args []string) error {
			agentID, err := cl.Agents.Resolve(ctx, args[0])
			if err != nil {
				return err
			}
			if !f.async && !f.stream {
				return e.execWait(ctx, cl, agentID, req)
			}
			id, err := cl.ExecuteAsync(ctx, agentID, req)
			if err != nil {
				return err
			}
			if f.stream {
				return e.follow(ctx, cl, id)
			}
			if e.json() {
				return e.printJSON(map[string]int64{"id": id})
			}
			fmt.Fprintf(e.stderr, "follow it with: tessera executions tail %d\n", id)
			_, err = fmt.Fprintln(e.stdout, id)
			return err
		}),
	}
	fl := c.Flags()
	fl.StringArrayVarP(&f.inputs, "input", "i", nil, "an input as key=value (repeatable); the value is JSON when it parses as JSON, else a string")
	fl.StringVarP(&f.message, "message", "m", "", "the user's message (chat agents)")
	fl.BoolVar(&f.stream, "stream", false, "print the answer and the steps as they happen")
	fl.BoolVar(&f.async, "async", false, "print the execution's id without waiting")
	fl.StringVar(&f.model, "model", "", "run on this model instead of the agent's")
	fl.StringVar(&f.tools, "tools", "", `tools for this run: "no-tools", "agent", "internet" or tool names separated by commas`)
	fl.Int64Var(&f.rootID, "root", 0, "continue the thread of this execution id")
	fl.DurationVar(&f.timeout, "timeout", 0, "end the run as failed after this long (e.g. 30s)")
	return c
}

// request checks the flags and builds the execute request.
func (f *cliExecFlags) request() (*client.ExecuteRequest, error) {
	if f.stream && f.async {
		return nil, usageError{errors.New("--stream and --async cannot be used together")}
	}
	inputs, err := cliParseInputs(f.inputs)
	if err != nil {
		return nil, err
	}
	return &client.ExecuteRequest{Inputs: inputs, Message: f.message, Model: f.model, Tools: f.tools,
		RootID: f.rootID, Timeout: f.timeout}, nil
}

// cliParseInputs reads key=value inputs: a value that is valid JSON (42,
// true, ["a"], {"k": 1}, "quoted") is that JSON value, any other a string.
func cliParseInputs(kvs []string) (map[string]any, error) {
	inputs := map[string]any{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, usageError{fmt.Errorf("--input %q is not key=value", kv)}
		}
		if json.Valid([]byte(v)) {
			inputs[k] = json.RawMessage(v)
		} else {
			inputs[k] = v
		}
	}
	return inputs, nil
}

// execWait runs the agent and waits for its end, showing progress on a
// terminal.
func (e *cliEnv) execWait(ctx context.Context, cl *client.Client, agentID int64, req *client.ExecuteRequest) error {
	var res *client.Response
	var err error
	if cliIsTerminal(e.stderr) {
		res, err = e.execWithProgress(ctx, cl, agentID, req)
	} else {
		res, err = cl.Execute(ctx, agentID, req)
	}
	if err != nil {
		return err
	}
	if e.json() {
		ex, err := cl.Executions.Get(ctx, res.ID)
		if err != nil {
			return err
		}
		if err := e.printJSON(ex); err != nil {
			return err
		}
	} else if res.Output != "" {
		fmt.Fprintln(e.stdout, strings.TrimRight(res.Output, "\n"))
	}
	if res.Status != client.ResponseSucceeded {
		return fmt.Errorf("execution %d failed: %s", res.ID, cliFirst(res.Error, "no reason given"))
	}
	return nil
}

// execWithProgress submits the run and follows its events to keep a
// one-line progress display up to date.
func (e *cliEnv) execWithProgress(ctx context.Context, cl *client.Client, agentID int64, req *client.ExecuteRequest) (*client.Response, error) {
	id, err := cl.ExecuteAsync(ctx, agentID, req)
	if err != nil {
		return nil, err
	}
	p := cliStartProgress(e.stderr, id)
	err = cl.FollowEvents(ctx, id, nil, p.event)
	p.stop()
	if err != nil {
		e.hintDetached(ctx, id)
		return nil, err
	}
	return cl.Response(ctx, id)
}

// follow prints an execution's events until it ends (exec --stream,
// executions tail): text on stdout, steps on stderr; or every event as a
// JSON line with --output json. A run that did not complete is an error.
func (e *cliEnv) follow(ctx context.Context, cl *client.Client, id int64) error {
	p := &cliStreamPrinter{out: e.stdout, log: e.stderr, logTTY: cliIsTerminal(e.stderr)}
	err := cl.FollowEvents(ctx, id, nil, func(ev *client.Event) error {
		if e.json() {
			if ev.Type == client.EventDone {
				p.done, _ = ev.Done()
			}
			return json.NewEncoder(e.stdout).Encode(ev)
		}
		return p.event(ev)
	})
	if err != nil {
		e.hintDetached(ctx, id)
		return err
	}
	if p.done == nil {
		return fmt.Errorf("execution %d: the stream ended without its done event", id)
	}
	if p.done.Status != client.StatusCompleted {
		return fmt.Errorf("execution %d %s: %s", id, p.done.Status, cliFirst(p.done.Error, "no reason given"))
	}
	return nil
}

// hintDetached tells an interrupted user that the run goes on.
func (e *cliEnv) hintDetached(ctx context.Context, id int64) {
	if ctx.Err() != nil {
		fmt.Fprintf(e.stderr, "\nexecution %d goes on on the server: tessera executions tail %d, or cancel %d\n", id, id, id)
	}
}
