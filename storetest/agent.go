package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

func ptr[T any](v T) *T { return &v }

// fullAgent sets every definition field, with JSON values that survive a
// round trip (numbers as float64).
func (f *fixture) fullAgent(slug string) *tessera.Agent {
	a := f.newAgent(slug)
	a.Title, a.Description, a.Type = "Full "+slug, "Every field set", tessera.AgentTypeText
	a.Instructions, a.Prompt = "Be brief, {{name}}.", "Summarise {{topic}}"
	a.Questions = []tessera.Question{
		{Name: "topic", Type: tessera.QuestionText, Description: "What", Required: true, Placeholder: "cats"},
		{Name: "tone", Type: tessera.QuestionSelect, Options: []string{"dry", "warm"}, Default: "dry"},
		{Name: "n", Type: tessera.QuestionNumber, Default: 3.5},
	}
	a.Model, a.Temperature = "openai/gpt-5", ptr(0.0)
	a.FallbackModels = []string{"anthropic/claude-sonnet-4-5", "fast"}
	a.Tools, a.MaxIterations = []string{"web_search", "http"}, 7
	a.TimeoutSeconds, a.MultitaskStrategy = 120, tessera.MultitaskReject
	a.Visibility, a.Source = "public", "config"
	a.HTTPTools = []tessera.HTTPTool{{
		Name: "lookup", Description: "Look an order up", Parameters: json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"}}}`),
		Method: "POST", URL: "https://api.example.com/orders/{{id}}?key={{secret.api_key}}", Body: `{"id": {{id}}}`,
		Headers: map[string]string{"Authorization": "Bearer {{secret.token}}"}, TimeoutSeconds: 5,
	}}
	a.MCPServers = []tessera.MCPServer{
		{Name: "docs", URL: "https://mcp.example.com/mcp", Headers: map[string]string{"X-Key": "{{secret.k}}"}, AllowedTools: []string{"search"}},
		{Name: "local", Command: []string{"mcp-server", "--stdio"}, Env: map[string]string{"TOKEN": "{{secret.t}}"}},
	}
	// Key order and spacing are the user's and must survive.
	a.OutputSchema = json.RawMessage(`{"type": "object", "required": ["b", "a"], "properties": {"b": {"type": "string"}, "a": {"type": "number"}}}`)
	return a
}

// saved is a as the store returns it after a create at now.
func saved(a, created *tessera.Agent, now time.Time) *tessera.Agent {
	want := *a
	want.ID, want.Version = created.ID, 1
	want.CreatedAt, want.UpdatedAt = stored(now), stored(now)
	return &want
}

func testAgents(t *testing.T, newStore NewStore) {
	t.Run("CreateAndGet", func(t *testing.T) {
		f := setup(t, newStore)
		in := f.fullAgent("full")
		a := f.createAgent(in)
		if a.ID == 0 {
			t.Fatal("ID = 0")
		}
		want := saved(in, a, f.now)
		sameJSON(t, "created", a, want)
		sameTime(t, "CreatedAt", a.CreatedAt, f.now)

		byID, err := f.store.AgentGetByID(f.ctx, &tessera.AgentGetParams{ID: a.ID, WorkspaceID: f.ws.ID})
		ok(t, err)
		sameJSON(t, "by id", byID, want)
		bySlug, err := f.store.AgentGetBySlug(f.ctx, f.ws.ID, "full")
		ok(t, err)
		sameJSON(t, "by slug", bySlug, want)
		equal(t, "output_schema text", string(bySlug.OutputSchema), string(in.OutputSchema))
	})

	t.Run("TemperatureNilAndZero", func(t *testing.T) {
		f := setup(t, newStore)
		zero := f.newAgent("zero")
		zero.Temperature = ptr(0.0)
		if got := f.createAgent(zero); got.Temperature == nil || *got.Temperature != 0 {
			t.Fatalf("Temperature = %v, want 0", got.Temperature)
		}
		if got := f.createAgent(f.newAgent("unset")); got.Temperature != nil {
			t.Fatalf("Temperature = %v, want nil", *got.Temperature)
		}
	})

	t.Run("NilListsReadBackEmpty", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.newAgent("nil")
		a.Questions, a.Tools, a.HTTPTools, a.MCPServers = nil, nil, nil, nil
		got := f.createAgent(a)
		if got.Questions == nil || len(got.Questions) != 0 || got.Tools == nil || len(got.Tools) != 0 {
			t.Fatalf("Questions, Tools = %#v, %#v; want empty, not nil", got.Questions, got.Tools)
		}
		if got.HTTPTools == nil || len(got.HTTPTools) != 0 || got.MCPServers == nil || len(got.MCPServers) != 0 || got.OutputSchema != nil {
			t.Fatalf("HTTPTools, MCPServers, OutputSchema = %#v, %#v, %s; want empty, empty, nil", got.HTTPTools, got.MCPServers, got.OutputSchema)
		}
	})

	t.Run("Missing", func(t *testing.T) {
		f := setup(t, newStore)
		_, err := f.store.AgentGetByID(f.ctx, &tessera.AgentGetParams{ID: 999, WorkspaceID: f.ws.ID})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.AgentGetBySlug(f.ctx, f.ws.ID, "nope")
		wantCode(t, err, tessera.ENOTFOUND)
		ghost := f.newAgent("ghost")
		ghost.ID = 999
		_, err = f.store.AgentUpdate(f.ctx, &tessera.AgentUpdateParams{Agent: ghost, Now: f.now})
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.AgentDelete(f.ctx, &tessera.AgentGetParams{ID: 999, WorkspaceID: f.ws.ID}), tessera.ENOTFOUND)
	})

	t.Run("OtherWorkspaceIsNotFound", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("mine"))
		theirs := &tessera.AgentGetParams{ID: a.ID, WorkspaceID: f.other.ID}

		_, err := f.store.AgentGetByID(f.ctx, theirs)
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.AgentGetBySlug(f.ctx, f.other.ID, "mine")
		wantCode(t, err, tessera.ENOTFOUND)
		moved := *a
		moved.WorkspaceID, moved.Title = f.other.ID, "hijacked"
		_, err = f.store.AgentUpdate(f.ctx, &tessera.AgentUpdateParams{Agent: &moved, Now: f.now})
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.AgentDelete(f.ctx, theirs), tessera.ENOTFOUND)

		got, err := f.store.AgentGetByID(f.ctx, &tessera.AgentGetParams{ID: a.ID, WorkspaceID: f.ws.ID})
		ok(t, err)
		sameJSON(t, "untouched", got, a)
	})

	t.Run("SlugConflict", func(t *testing.T) {
		f := setup(t, newStore)
		f.createAgent(f.newAgent("taken"))
		_, err := f.store.AgentCreate(f.ctx, &tessera.AgentCreateParams{Agent: f.newAgent("taken"), Now: f.now})
		wantCode(t, err, tessera.ECONFLICT)

		elsewhere := f.newAgent("taken")
		elsewhere.WorkspaceID = f.other.ID
		f.createAgent(elsewhere) // slugs are unique per workspace only

		nowhere := f.newAgent("lost")
		nowhere.WorkspaceID = 999
		_, err = f.store.AgentCreate(f.ctx, &tessera.AgentCreateParams{Agent: nowhere, Now: f.now})
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("Update", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("plain"))
		f.createAgent(f.newAgent("taken"))

		changed := f.fullAgent("renamed")
		changed.ID = a.ID
		later := f.at(time.Hour)
		got, err := f.store.AgentUpdate(f.ctx, &tessera.AgentUpdateParams{Agent: changed, Now: later})
		ok(t, err)
		want := saved(changed, a, f.now)
		want.Version, want.UpdatedAt = 2, stored(later)
		sameJSON(t, "updated", got, want)

		// Version goes up even when nothing changed.
		got, err = f.store.AgentUpdate(f.ctx, &tessera.AgentUpdateParams{Agent: changed, Now: later})
		ok(t, err)
		equal(t, "Version", got.Version, 3)

		reread, err := f.store.AgentGetBySlug(f.ctx, f.ws.ID, "renamed")
		ok(t, err)
		sameJSON(t, "reread", reread, got)

		clash := *got
		clash.Slug = "taken"
		_, err = f.store.AgentUpdate(f.ctx, &tessera.AgentUpdateParams{Agent: &clash, Now: later})
		wantCode(t, err, tessera.ECONFLICT)
	})

	t.Run("Delete", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("doomed"))
		params := &tessera.AgentGetParams{ID: a.ID, WorkspaceID: f.ws.ID}
		ok(t, f.store.AgentDelete(f.ctx, params))
		_, err := f.store.AgentGetByID(f.ctx, params)
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.AgentDelete(f.ctx, params), tessera.ENOTFOUND)

		// The slug is free again, and ids are never reused.
		again := f.createAgent(f.newAgent("doomed"))
		if again.ID <= a.ID {
			t.Fatalf("ID after delete = %d, want above %d", again.ID, a.ID)
		}
	})

	t.Run("NowIsRequired", func(t *testing.T) {
		f := setup(t, newStore)
		_, err := f.store.AgentCreate(f.ctx, &tessera.AgentCreateParams{Agent: f.newAgent("x")})
		wantCode(t, err, tessera.EINTERNAL)
	})
}

func testAgentList(t *testing.T, newStore NewStore) {
	// seed creates three agents in the default workspace and one in the other.
	seed := func(t *testing.T) (*fixture, []*tessera.Agent) {
		f := setup(t, newStore)
		support := f.newAgent("support-bot")
		support.Title = "Support Bot"
		sales := f.newAgent("sales-writer")
		sales.Title, sales.Type, sales.Description = "Sales Writer", tessera.AgentTypeText, "Writes 100% of the emails"
		code := f.newAgent("code-helper")
		code.Title = "Code_Helper"
		theirs := f.newAgent("support-bot")
		theirs.WorkspaceID, theirs.Title = f.other.ID, "Support Bot"
		agents := []*tessera.Agent{f.createAgent(support), f.createAgent(sales), f.createAgent(code)}
		f.createAgent(theirs)
		return f, agents
	}
	list := func(t *testing.T, f *fixture, p tessera.AgentListParams) ([]int64, int) {
		t.Helper()
		p.WorkspaceID = f.ws.ID
		got, total, err := f.store.AgentList(f.ctx, &p)
		ok(t, err)
		return agentIDs(got), total
	}

	t.Run("All", func(t *testing.T) {
		f, a := seed(t)
		got, total := list(t, f, tessera.AgentListParams{})
		equal(t, "ids", got, []int64{a[0].ID, a[1].ID, a[2].ID})
		equal(t, "total", total, 3)
		all, _, err := f.store.AgentList(f.ctx, &tessera.AgentListParams{WorkspaceID: f.ws.ID})
		ok(t, err)
		sameJSON(t, "agents", all, a)
	})

	t.Run("Query", func(t *testing.T) {
		f, a := seed(t)
		for _, tc := range []struct {
			query string
			want  []int64
		}{
			{"SUPPORT", []int64{a[0].ID}},   // title, any case
			{"emails", []int64{a[1].ID}},    // description
			{"code-help", []int64{a[2].ID}}, // slug
			{"%", []int64{a[1].ID}},         // % is literal
			{"_", []int64{a[2].ID}},         // _ is literal
			{"o", []int64{a[0].ID, a[1].ID, a[2].ID}},
			{"nothing", []int64{}},
		} {
			got, total := list(t, f, tessera.AgentListParams{Query: tc.query})
			equal(t, "ids for "+tc.query, got, tc.want)
			equal(t, "total for "+tc.query, total, len(tc.want))
		}
	})

	t.Run("Type", func(t *testing.T) {
		f, a := seed(t)
		got, total := list(t, f, tessera.AgentListParams{Type: tessera.AgentTypeChat})
		equal(t, "ids", got, []int64{a[0].ID, a[2].ID})
		equal(t, "total", total, 2)
	})

	t.Run("Paging", func(t *testing.T) {
		f, a := seed(t)
		got, total := list(t, f, tessera.AgentListParams{Limit: 2, Offset: 1})
		equal(t, "ids", got, []int64{a[1].ID, a[2].ID})
		equal(t, "total", total, 3)

		got, total = list(t, f, tessera.AgentListParams{Limit: 2, Desc: true})
		equal(t, "desc ids", got, []int64{a[2].ID, a[1].ID})
		equal(t, "desc total", total, 3)

		got, total = list(t, f, tessera.AgentListParams{Limit: 2, Offset: 5})
		equal(t, "past the end", got, []int64{})
		equal(t, "total past the end", total, 3)

		got, total = list(t, f, tessera.AgentListParams{Query: "s", Type: tessera.AgentTypeChat, Limit: 1, Desc: true})
		equal(t, "filtered page", got, []int64{a[0].ID})
		equal(t, "filtered total", total, 1)
	})
}

func testAgentUpsert(t *testing.T, newStore NewStore) {
	t.Run("CreateThenNoOpThenUpdate", func(t *testing.T) {
		f := setup(t, newStore)
		def := f.fullAgent("cfg")
		created, written, err := f.store.AgentUpsertBySlug(f.ctx, &tessera.AgentCreateParams{Agent: def, Now: f.now})
		ok(t, err)
		equal(t, "written on create", written, true)
		sameJSON(t, "created", created, saved(def, created, f.now))

		same := f.fullAgent("cfg")
		got, written, err := f.store.AgentUpsertBySlug(f.ctx, &tessera.AgentCreateParams{Agent: same, Now: f.at(time.Hour)})
		ok(t, err)
		equal(t, "written when unchanged", written, false)
		sameJSON(t, "unchanged", got, created)

		changed := f.fullAgent("cfg")
		changed.Instructions = "Be thorough."
		later := f.at(2 * time.Hour)
		got, written, err = f.store.AgentUpsertBySlug(f.ctx, &tessera.AgentCreateParams{Agent: changed, Now: later})
		ok(t, err)
		equal(t, "written when changed", written, true)
		want := saved(changed, created, f.now)
		want.Version, want.UpdatedAt = 2, stored(later)
		sameJSON(t, "updated", got, want)
	})

	t.Run("EveryFieldCounts", func(t *testing.T) {
		f := setup(t, newStore)
		base := f.createAgent(f.fullAgent("cfg"))
		for i, change := range []func(a *tessera.Agent){
			func(a *tessera.Agent) { a.Temperature = nil },
			func(a *tessera.Agent) { a.Temperature = ptr(0.0) },
			func(a *tessera.Agent) { a.Questions = a.Questions[:1] },
			func(a *tessera.Agent) { a.Tools = []string{"http"} },
			func(a *tessera.Agent) { a.MaxIterations = 9 },
			func(a *tessera.Agent) { a.TimeoutSeconds = 0 },
			func(a *tessera.Agent) { a.TimeoutSeconds = 300 },
			func(a *tessera.Agent) { a.MultitaskStrategy = tessera.MultitaskInterrupt },
			func(a *tessera.Agent) { a.Source = "api" },
			func(a *tessera.Agent) { a.HTTPTools[0].URL = "https://api.example.com/v2/{{id}}" },
			func(a *tessera.Agent) { a.MCPServers = a.MCPServers[:1] },
			func(a *tessera.Agent) { a.OutputSchema = json.RawMessage(`{"type":"object"}`) },
			func(a *tessera.Agent) { a.OutputSchema = nil },
			func(a *tessera.Agent) { a.FallbackModels = a.FallbackModels[:1] },
		} {
			a, err := f.store.AgentGetByID(f.ctx, &tessera.AgentGetParams{ID: base.ID, WorkspaceID: f.ws.ID})
			ok(t, err)
			change(a)
			got, written, err := f.store.AgentUpsertBySlug(f.ctx, &tessera.AgentCreateParams{Agent: a, Now: f.now})
			ok(t, err)
			equal(t, "written", written, true)
			equal(t, "Version", got.Version, i+2)
			equal(t, "ID", got.ID, base.ID)
			want := *a
			want.Version = i + 2
			sameJSON(t, "upserted", got, &want)
		}
	})

	t.Run("OtherWorkspaceIsSeparate", func(t *testing.T) {
		f := setup(t, newStore)
		mine := f.createAgent(f.newAgent("cfg"))
		theirs := f.newAgent("cfg")
		theirs.WorkspaceID = f.other.ID
		got, written, err := f.store.AgentUpsertBySlug(f.ctx, &tessera.AgentCreateParams{Agent: theirs, Now: f.now})
		ok(t, err)
		equal(t, "written", written, true)
		if got.ID == mine.ID || got.WorkspaceID != f.other.ID || got.Version != 1 {
			t.Fatalf("upsert in another workspace = %+v, want a new agent there", got)
		}
	})
}
