package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-run/tessera/client"
)

func cliExecutionsCommand(e *cliEnv) *cobra.Command {
	return cliGroup("executions", "List, show, cancel and follow executions",
		cliExecutionsList(e), cliExecutionsGet(e), cliExecutionsCancel(e), cliExecutionsTail(e))
}

var cliStatuses = []string{client.StatusPending, client.StatusRunning, client.StatusCompleted, client.StatusFailed,
	client.StatusCancelled, client.StatusTimeout}

func cliExecutionsList(e *cliEnv) *cobra.Command {
	var agent, status string
	var limit, skip int
	c := &cobra.Command{
		Use: "list", Short: "List executions, newest first", Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if status != "" && !slices.Contains(cliStatuses, status) {
				return usageError{fmt.Errorf("--status must be one of %s", strings.Join(cliStatuses, ", "))}
			}
			if limit < 1 || limit > 200 || skip < 0 {
				return usageError{fmt.Errorf("--limit must be between 1 and 200 and --skip not negative")}
			}
			return nil
		},
		RunE: e.run(func(ctx context.Context, cl *client.Client, _ []string) error {
			opts := &client.ExecutionListOptions{Status: status, Limit: limit, Skip: skip}
			if agent != "" {
				id, err := cl.Agents.Resolve(ctx, agent)
				if err != nil {
					return err
				}
				opts.AgentID = id
			}
			list, err := cl.Executions.List(ctx, opts)
			if err != nil {
				return err
			}
			if e.json() {
				list.Items = cliNonNil(list.Items)
				return e.printJSON(list)
			}
			return e.printExecutions(list)
		}),
	}
	c.Flags().StringVar(&agent, "agent", "", "only executions of this agent (id or slug)")
	c.Flags().StringVar(&status, "status", "", "only executions with this status: "+strings.Join(cliStatuses, ", "))
	c.Flags().IntVar(&limit, "limit", 20, "at most this many (up to 200)")
	c.Flags().IntVar(&skip, "skip", 0, "skip this many of the newest first")
	return c
}

func (e *cliEnv) printExecutions(list *client.ExecutionList) error {
	rows := make([][]string, len(list.Items))
	for i, x := range list.Items {
		rows[i] = []string{strconv.FormatInt(x.ID, 10), strconv.FormatInt(x.AgentID, 10), x.Status,
			strconv.Itoa(x.IterationCount), strconv.FormatInt(x.TotalTokens, 10), cliDuration(x.ExecutionTimeMS),
			cliTime(x.CreatedAt), cliOneLine(cliFirst(x.ErrorMessage, x.Output()), 50)}
	}
	if err := e.table([]string{"ID", "AGENT", "STATUS", "STEPS", "TOKENS", "TIME", "CREATED", "OUTPUT/ERROR"}, rows); err != nil {
		return err
	}
	if shown := list.Skip + len(list.Items); shown < list.Total {
		fmt.Fprintf(e.stderr, "%d–%d of %d; --skip %d for more\n", list.Skip+1, shown, list.Total, shown)
	}
	return nil
}

func cliDuration(ms *int64) string {
	if ms == nil {
		return ""
	}
	return strconv.FormatFloat(float64(*ms)/1000, 'f', 1, 64) + "s"
}

func cliExecutionsGet(e *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use: "get <id>", Short: "Show an execution and its steps", Args: cobra.ExactArgs(1),
		RunE: e.run(func(ctx context.Context, cl *client.Client, args []string) error {
			id, err := cliArgID("execution", args[0])
			if err != nil {
				return err
			}
			x, err := cl.Executions.Get(ctx, id)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(x)
			}
			return e.printExecution(x)
		}),
	}
}

func (e *cliEnv) printExecution(x *client.Execution) error {
	cost := ""
	if x.TotalCost > 0 {
		cost = "$" + strconv.FormatFloat(x.TotalCost, 'f', -1, 64)
	}
	credits := ""
	if c, ok := x.ExtraMetadata["credits"].(float64); ok && c > 0 {
		credits = strconv.FormatFloat(c, 'f', -1, 64)
	}
	stop, _ := x.ExtraMetadata["stop_reason"].(string)
	err := e.fields("id", strconv.FormatInt(x.ID, 10), "agent", strconv.FormatInt(x.AgentID, 10), "status", x.Status,
		"error", x.ErrorMessage, "model", x.ModelUsed, "stop reason", stop, "steps", strconv.Itoa(x.IterationCount),
		"tokens", strconv.FormatInt(x.TotalTokens, 10), "cost", cost, "credits", credits,
		"created", cliTime(x.CreatedAt), "started", cliTimePtr(x.StartedAt), "completed", cliTimePtr(x.CompletedAt),
		"time", cliDuration(x.ExecutionTimeMS))
	if err != nil {
		return err
	}
	if len(x.Iterations) > 0 {
		fmt.Fprintln(e.stdout, "\nsteps:")
		for i := range x.Iterations {
			fmt.Fprintln(e.stdout, "  "+cliIterationLine(&x.Iterations[i]))
		}
	}
	if out := x.Output(); out != "" {
		fmt.Fprintf(e.stdout, "\noutput:\n%s\n", strings.TrimRight(out, "\n"))
	}
	return nil
}

func cliExecutionsCancel(e *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use: "cancel <id>", Short: "Cancel a queued or running execution", Args: cobra.ExactArgs(1),
		RunE: e.run(func(ctx context.Context, cl *client.Client, args []string) error {
			id, err := cliArgID("execution", args[0])
			if err != nil {
				return err
			}
			r, err := cl.Executions.Cancel(ctx, id)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(r)
			}
			if client.Terminal(r.Status) {
				_, err = fmt.Fprintf(e.stdout, "execution %d %s\n", r.ID, r.Status)
			} else {
				_, err = fmt.Fprintf(e.stdout, "execution %d: cancel requested (still %s; it stops within moments)\n", r.ID, r.Status)
			}
			return err
		}),
	}
}

func cliExecutionsTail(e *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use:   "tail <id>",
		Short: "Follow an execution's events until it ends",
		Long: "tail prints an execution's events from the start, then as they happen, until it ends: the text on\n" +
			"stdout, the steps on stderr (or every event as a JSON line with -o json). It reconnects when the\n" +
			"connection drops. The exit code is 1 when the execution did not complete.",
		Args: cobra.ExactArgs(1),
		RunE: e.run(func(ctx context.Context, cl *client.Client, args []string) error {
			id, err := cliArgID("execution", args[0])
			if err != nil {
				return err
			}
			return e.follow(ctx, cl, id)
		}),
	}
}
