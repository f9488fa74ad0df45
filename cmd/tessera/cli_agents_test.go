package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/client"
)

const cliAgentYAML = `# the support bot
slug: support-bot
title: Support bot
instructions: You answer support questions.
temperature: 0.2
tools: [calculator]
questions:
  - name: customer
    type: text
    required: true
`

// apply creates an agent from a file, then updates it by slug; applying
// the same file again keeps one agent with the same id and definition.
func TestCLIAgentsApplyCreatesThenUpdatesBySlug(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	file := cliWriteFile(t, "agent.yaml", cliAgentYAML)

	r := cliRun(t, s, "agents", "apply", "-f", file).ok(t)
	if !strings.HasPrefix(r.stdout, "agent support-bot created (id ") {
		t.Errorf("first apply printed %q", r.stdout)
	}
	var first client.Agent
	cliRun(t, s, "agents", "get", "support-bot", "-o", "json").ok(t).decode(t, &first)
	if first.Title != "Support bot" || !slices.Equal(first.Tools, []string{"calculator"}) || first.Temperature == nil ||
		*first.Temperature != 0.2 || len(first.Questions) != 1 || first.Questions[0].Name != "customer" || !first.Questions[0].Required {
		t.Errorf("applied agent = %+v", first)
	}

	var again []client.Agent
	cliRun(t, s, "agents", "apply", "-f", file, "-o", "json").ok(t).decode(t, &again)
	if len(again) != 1 || again[0].ID != first.ID || again[0].Title != first.Title || !slices.Equal(again[0].Tools, first.Tools) ||
		again[0].Version != first.Version {
		t.Errorf("applying again = %+v, want agent %d unchanged (no new version)", again, first.ID)
	}
	var list []client.Agent
	cliRun(t, s, "agents", "list", "-o", "json").ok(t).decode(t, &list)
	if n := countSlug(list, "support-bot"); n != 1 {
		t.Errorf("%d agents have the slug support-bot after two applies, want 1", n)
	}

	// The file is the whole definition: a key left out goes back to its default.
	changed := strings.Replace(strings.Replace(cliAgentYAML, "title: Support bot", "title: Support bot v2", 1), "tools: [calculator]\n", "", 1)
	if err := os.WriteFile(file, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cliRun(t, s, "agents", "apply", "-f", file).ok(t)
	if !strings.HasPrefix(r.stdout, "agent support-bot updated (id "+itoa(first.ID)+",") {
		t.Errorf("update printed %q", r.stdout)
	}
	var updated client.Agent
	cliRun(t, s, "agents", "get", itoa(first.ID), "-o", "json").ok(t).decode(t, &updated)
	if updated.Title != "Support bot v2" || len(updated.Tools) != 0 || updated.Version <= first.Version {
		t.Errorf("updated agent = title %q tools %v version %d (was %d)", updated.Title, updated.Tools, updated.Version, first.Version)
	}
}

func countSlug(list []client.Agent, slug string) int {
	n := 0
	for _, a := range list {
		if a.Slug == slug {
			n++
		}
	}
	return n
}

func TestCLIAgentsListGetDelete(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	id := s.createAgent(t, map[string]any{"title": "Greeter", "slug": "greeter", "type": "chat", "model": defaultModel}, nil)

	r := cliRun(t, s, "agents", "list").ok(t)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[0], "SLUG") ||
		!strings.HasPrefix(lines[1], itoa(id)+" ") || !strings.Contains(lines[1], "greeter") || !strings.Contains(lines[1], defaultModel) {
		t.Errorf("agents list printed:\n%s", r.stdout)
	}
	r = cliRun(t, s, "agents", "list", "-q", "nothing-matches").ok(t)
	if strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
		t.Errorf("a filtered-out list printed:\n%s", r.stdout)
	}

	for _, ref := range []string{"greeter", itoa(id)} {
		r := cliRun(t, s, "agents", "get", ref).ok(t)
		for _, want := range []string{"id:", itoa(id), "slug:", "greeter", "title:", "Greeter", "model:", defaultModel, "version:"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("agents get %s lacks %q:\n%s", ref, want, r.stdout)
			}
		}
	}

	r = cliRun(t, s, "agents", "delete", "greeter").ok(t)
	if r.stdout != "agent greeter deleted (id "+itoa(id)+")\n" {
		t.Errorf("delete printed %q", r.stdout)
	}
	r = cliRun(t, s, "agents", "get", "greeter").exits(t, 1)
	if !strings.Contains(r.stderr, "404") || !strings.Contains(r.stderr, "greeter") {
		t.Errorf("get of a deleted agent: %q", r.stderr)
	}
	cliRun(t, s, "agents", "delete", itoa(id)).exits(t, 1)
	var list []client.Agent
	cliRun(t, s, "agents", "list", "-o", "json").ok(t).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("agents after delete: %+v", list)
	}
}

// A bad agent file is refused before anything is sent.
func TestCLIAgentsApplyRefusesBadFiles(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	for name, content := range map[string]string{
		"unknown key":  "slug: a\ntitle: A\ntemprature: 1\n",
		"no slug":      "title: A\n",
		"not YAML":     "slug: [\n",
		"not a map":    "- slug: a\n",
		"empty":        "",
		"nested typo":  "slug: a\ntitle: A\nquestions:\n  - nme: x\n    type: text\n",
		"wrong type":   "slug: a\ntitle: A\nmax_iterations: many\n",
		"second doc":   "slug: a\ntitle: A\n---\ntitle: B\n",
		"missing file": "",
	} {
		file := cliWriteFile(t, "agent.yaml", content)
		if name == "missing file" {
			file += ".missing"
		}
		r := cliRun(t, s, "agents", "apply", "-f", file)
		if r.code != 2 {
			t.Errorf("%s: exit code %d, want 2\n%s", name, r.code, r.stderr)
		}
	}
	cliRun(t, s, "agents", "apply").exits(t, 2)
	// The server's own validation is a refusal (1), with its message.
	r := cliRun(t, s, "agents", "apply", "-f", cliWriteFile(t, "a.yaml", "slug: bad\ntitle: Bad\ntemperature: 5\n")).exits(t, 1)
	if !strings.Contains(r.stderr, "422") || !strings.Contains(r.stderr, "temperature") {
		t.Errorf("invalid agent: %q", r.stderr)
	}
	var list []client.Agent
	cliRun(t, s, "agents", "list", "-o", "json").ok(t).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("refused files created agents: %+v", list)
	}
}

// Several agents in one file are applied in order.
func TestCLIAgentsApplyManyDocuments(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	file := cliWriteFile(t, "agents.yaml", "slug: one\ntitle: One\n---\nslug: two\ntitle: Two\ntype: text\nprompt: Say {{x}}\n")
	r := cliRun(t, s, "agents", "apply", "-f", file).ok(t)
	if !strings.Contains(r.stdout, "agent one created") || !strings.Contains(r.stdout, "agent two created") {
		t.Errorf("apply printed %q", r.stdout)
	}
	var two client.Agent
	cliRun(t, s, "agents", "get", "two", "-o", "json").ok(t).decode(t, &two)
	if two.Type != "text" || two.Prompt != "Say {{x}}" {
		t.Errorf("agent two = %+v", two)
	}
}
