package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tessera-run/tessera/client"
)

func cliAgentsCommand(e *cliEnv) *cobra.Command {
	return cliGroup("agents", "List, show, apply and delete agents",
		cliAgentsList(e), cliAgentsGet(e), cliAgentsApply(e), cliAgentsDelete(e))
}

func cliAgentsList(e *cliEnv) *cobra.Command {
	var opts client.AgentListOptions
	c := &cobra.Command{
		Use: "list", Short: "List the workspace's agents", Args: cobra.NoArgs,
		RunE: e.run(func(ctx context.Context, cl *client.Client, _ []string) error {
			list, err := cl.Agents.List(ctx, &opts)
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(cliNonNil(list))
			}
			rows := make([][]string, len(list))
			for i, a := range list {
				rows[i] = []string{strconv.FormatInt(a.ID, 10), a.Slug, cliOneLine(a.Title, 40), a.Type, a.Model,
					strings.Join(a.Tools, ","), strconv.Itoa(a.Version), cliTime(a.UpdatedAt)}
			}
			return e.table([]string{"ID", "SLUG", "TITLE", "TYPE", "MODEL", "TOOLS", "VERSION", "UPDATED"}, rows)
		}),
	}
	c.Flags().StringVarP(&opts.Query, "query", "q", "", "only agents whose title, description or slug contains this")
	c.Flags().StringVar(&opts.Type, "type", "", `only agents of this type ("chat" or "text")`)
	return c
}

func cliAgentsGet(e *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use: "get <id|slug>", Short: "Show an agent's definition", Args: cobra.ExactArgs(1),
		RunE: e.run(func(ctx context.Context, cl *client.Client, args []string) error {
			a, err := cl.Agents.Get(ctx, args[0])
			if err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(a)
			}
			return e.printAgent(a)
		}),
	}
}

func (e *cliEnv) printAgent(a *client.Agent) error {
	temp := ""
	if a.Temperature != nil {
		temp = strconv.FormatFloat(*a.Temperature, 'f', -1, 64)
	}
	var questions []string
	for _, q := range a.Questions {
		s := q.Name + " (" + q.Type
		if q.Required {
			s += ", required"
		}
		questions = append(questions, s+")")
	}
	var declared []string
	for _, t := range a.HTTPTools {
		declared = append(declared, t.Name+" (http)")
	}
	for _, m := range a.MCPServers {
		declared = append(declared, "mcp:"+m.Name)
	}
	schema := ""
	if len(a.OutputSchema) > 0 && string(a.OutputSchema) != "null" {
		schema = cliOneLine(string(a.OutputSchema), 100)
	}
	return e.fields(
		"id", strconv.FormatInt(a.ID, 10), "slug", a.Slug, "title", a.Title, "description", a.Description,
		"type", a.Type, "model", a.Model, "fallback models", strings.Join(a.FallbackModels, ", "),
		"temperature", temp, "tools", strings.Join(a.Tools, ", "), "declared tools", strings.Join(declared, ", "),
		"max iterations", strconv.Itoa(a.MaxIterations), "timeout", cliSeconds(a.TimeoutSeconds),
		"multitask", a.MultitaskStrategy, "questions", strings.Join(questions, ", "), "output schema", schema,
		"visibility", a.Visibility, "version", strconv.Itoa(a.Version), "source", a.Source,
		"created", cliTime(a.CreatedAt), "updated", cliTime(a.UpdatedAt),
		"instructions", cliOneLine(a.Instructions, 200), "prompt", cliOneLine(a.Prompt, 200),
	)
}

func cliSeconds(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n) + "s"
}

func cliAgentsApply(e *cliEnv) *cobra.Command {
	var file string
	c := &cobra.Command{
		Use:   "apply -f agent.yaml",
		Short: "Create the agents a file describes, or update them by slug",
		Long: "apply reads one or more agents (YAML or JSON, documents separated by ---) with the native API's\n" +
			"keys and a slug each. An agent whose slug is new is created; an existing one gets exactly the\n" +
			"file's definition (keys left out go back to their defaults). Applying a file again changes nothing\n" +
			"but the version.",
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if file == "" {
				return usageError{errors.New("apply needs the agent file: -f agent.yaml")}
			}
			return nil
		},
		RunE: e.run(func(ctx context.Context, cl *client.Client, _ []string) error {
			specs, err := cliReadAgents(file)
			if err != nil {
				return err
			}
			var applied []*client.Agent
			for _, spec := range specs {
				a, result, err := cl.Agents.Apply(ctx, spec)
				if err != nil {
					return fmt.Errorf("agent %s: %w", spec.Slug, err)
				}
				applied = append(applied, a)
				if !e.json() {
					fmt.Fprintf(e.stdout, "agent %s %s (id %d, version %d)\n", a.Slug, result, a.ID, a.Version)
				}
			}
			if e.json() {
				return e.printJSON(applied)
			}
			return nil
		}),
	}
	c.Flags().StringVarP(&file, "file", "f", "", "the agent file (YAML or JSON), required")
	return c
}

// cliReadAgents reads the agent specs of a file: YAML documents whose keys
// are the native API's. Every problem is a usage error, found before
// anything is sent.
func cliReadAgents(file string) ([]*client.AgentSpec, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, usageError{err}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var specs []*client.AgentSpec
	for n := 1; ; n++ {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, usageError{fmt.Errorf("%s: %w", file, err)}
		}
		if doc == nil {
			continue
		}
		spec, err := cliAgentSpec(doc)
		if err != nil {
			return nil, usageError{fmt.Errorf("%s: agent %d: %w", file, n, err)}
		}
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil, usageError{fmt.Errorf("%s holds no agent", file)}
	}
	return specs, nil
}

// cliAgentSpec converts a YAML document to a spec through JSON, refusing
// unknown keys (a typo would otherwise reset a field).
func cliAgentSpec(doc any) (*client.AgentSpec, error) {
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("an agent must be a mapping of the native API's keys")
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var spec client.AgentSpec
	if err := dec.Decode(&spec); err != nil {
		return nil, err
	}
	if spec.Slug == "" {
		return nil, errors.New("no slug: apply finds the agent to update by its slug")
	}
	return &spec, nil
}

func cliAgentsDelete(e *cliEnv) *cobra.Command {
	return &cobra.Command{
		Use: "delete <id|slug>", Short: "Delete an agent (its executions are kept)", Args: cobra.ExactArgs(1),
		RunE: e.run(func(ctx context.Context, cl *client.Client, args []string) error {
			a, err := cl.Agents.Get(ctx, args[0])
			if err != nil {
				return err
			}
			if err := cl.Agents.Delete(ctx, strconv.FormatInt(a.ID, 10)); err != nil {
				return err
			}
			if e.json() {
				return e.printJSON(map[string]any{"id": a.ID, "slug": a.Slug, "deleted": true})
			}
			_, err = fmt.Fprintf(e.stdout, "agent %s deleted (id %d)\n", a.Slug, a.ID)
			return err
		}),
	}
}

// cliNonNil makes an empty list print as [] rather than null.
func cliNonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}
