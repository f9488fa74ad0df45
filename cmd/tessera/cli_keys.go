package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tessera-run/tessera/client"
)

func cliKeysCommand(e *cliEnv) *cobra.Command {
	return cliGroup("keys", "Create, list and revoke API keys", cliKeysCreate(e), cliKeysList(e), cliKeysRevoke(e))
}

func cliKeysCreate(e *cliEnv) *cobra.Command {
	var req client.KeyCreateRequest
	c := &cobra.Command{
		Use: "create --name NAME", Short: "Create an API key and print its token (shown once)", Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if strings.TrimSpace(req.Name) == "" {
				return usageError{errors.New("keys create needs --name")}
			}
			return nil
		},
		RunE: e.run(func(ctx context.Context, cl *client.Client, _ []string) error {
			k, err := cl.Keys.Create(ctx, &req)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(k)
			}
			fmt.Fprintf(e.stderr, "key %d %q created for workspaces %s; its token is shown only now:\n", k.ID, k.Name, cliIDs(k.WorkspaceIDs))
			_, err = fmt.Fprintln(e.stdout, k.Token)
			return err
		}),
	}
	c.Flags().StringVar(&req.Name, "name", "", "the key's name (required)")
	c.Flags().Int64SliceVar(&req.WorkspaceIDs, "workspace-id", nil, "a workspace the key may act for (repeatable; default the current one)")
	return c
}

func cliKeysList(e *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List API keys", Args: cobra.NoArgs,
		RunE: e.run(func(ctx context.Context, cl *client.Client, _ []string) error {
			keys, err := cl.Keys.List(ctx)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(cliNonNil(keys))
			}
			rows := make([][]string, len(keys))
			for i, k := range keys {
				rows[i] = []string{strconv.FormatInt(k.ID, 10), k.Name, k.Prefix + "…", cliIDs(k.WorkspaceIDs),
					cliTime(k.CreatedAt), cliTimePtr(k.LastUsedAt)}
			}
			return e.table([]string{"ID", "NAME", "PREFIX", "WORKSPACES", "CREATED", "LAST USED"}, rows)
		}),
	}
}

func cliKeysRevoke(e *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use: "revoke <id>", Short: "Revoke an API key", Args: cobra.ExactArgs(1),
		RunE: e.run(func(ctx context.Context, cl *client.Client, args []string) error {
			id, err := cliArgID("key", args[0])
			if err != nil {
				return err
			}
			if err := cl.Keys.Revoke(ctx, id); err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(map[string]any{"id": id, "revoked": true})
			}
			_, err = fmt.Fprintf(e.stdout, "key %d revoked\n", id)
			return err
		}),
	}
}

func cliIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}

func cliModelsCommand(e *cliEnv) *cobra.Command {
	return cliGroup("models", "List the models agents may use", &cobra.Command{
		Use: "list", Short: "List the models, the default model and the aliases", Args: cobra.NoArgs,
		RunE: e.run(func(ctx context.Context, cl *client.Client, _ []string) error {
			m, err := cl.Models.List(ctx)
			if err != nil {
				return err
			}
			if e.json() {
				m.Data = cliNonNil(m.Data)
				return e.printJSON(m)
			}
			return e.printModels(m)
		}),
	})
}

func (e *cliEnv) printModels(m *client.ModelList) error {
	rows := make([][]string, len(m.Data))
	for i, x := range m.Data {
		var caps []string
		for _, c := range []struct {
			on   bool
			name string
		}{{x.Capabilities.Tools, "tools"}, {x.Capabilities.TextReAct, "text-react"}, {x.Capabilities.Vision, "vision"},
			{x.Capabilities.StructuredOutput, "structured"}, {x.Capabilities.Streaming, "streaming"}} {
			if c.on {
				caps = append(caps, c.name)
			}
		}
		def := ""
		if x.Default {
			def = "*"
		}
		price := fmt.Sprintf("%g / %g", x.Pricing.Input, x.Pricing.Output)
		window := ""
		if x.ContextWindow > 0 {
			window = strconv.Itoa(x.ContextWindow)
		}
		rows[i] = []string{x.Name + def, x.Spec, strings.Join(caps, ","), window, price}
	}
	if err := e.table([]string{"NAME", "RUNS ON", "CAPABILITIES", "CONTEXT", "$/M IN / OUT"}, rows); err != nil {
		return err
	}
	aliases := make([]string, 0, len(m.Aliases))
	for a, spec := range m.Aliases {
		aliases = append(aliases, a+" → "+spec)
	}
	slices.Sort(aliases)
	fmt.Fprintf(e.stdout, "\ndefault: %s\nproviders: %s\n", m.DefaultModel, strings.Join(m.Providers, ", "))
	if len(aliases) > 0 {
		fmt.Fprintf(e.stdout, "aliases: %s\n", strings.Join(aliases, ", "))
	}
	return nil
}
