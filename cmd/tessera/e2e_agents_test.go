package main

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// fullAgent is the native create body of DESIGN §2.2 with every field.
func fullAgent() map[string]any {
	return map[string]any{
		"title":        "Support writer",
		"type":         "chat",
		"instructions": "You answer support tickets.",
		"prompt":       "Product: {{product}}",
		"questions": []map[string]any{
			{"name": "product", "type": "text", "description": "The product", "required": true},
			{"name": "tone", "type": "select", "description": "Tone", "required": false, "options": []string{"calm", "warm"}, "default": "calm"},
		},
		"model":          "tess-5",
		"temperature":    0.25,
		"tools":          []string{"no-tools"},
		"max_iterations": 4,
	}
}

func TestNativeCreateAgentReturnsTheDefinition(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	m := s.must(t, http.StatusCreated, "POST", "/api/v1/agents", fullAgent(), nil)
	if intOf(t, m["id"]) < 1 {
		t.Fatalf("created agent without id: %v", m)
	}
	want := map[string]any{
		"title": "Support writer", "type": "chat", "instructions": "You answer support tickets.",
		"prompt": "Product: {{product}}", "model": "tess-5", "temperature": 0.25, "max_iterations": 4.0,
		"workspace_id": 1.0, "version": 1.0,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("created agent %s = %#v, want %#v", k, m[k], v)
		}
	}
	qs, _ := m["questions"].([]any)
	if len(qs) != 2 {
		t.Errorf("native questions = %v, want the agent's own two", m["questions"])
	}
	if slug, _ := m["slug"].(string); !regexp.MustCompile(`^support-writer-[a-z0-9]+$`).MatchString(slug) {
		t.Errorf("slug = %q", slug)
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if !laravelTimeRE.MatchString(m[k].(string)) {
			t.Errorf("%s = %v, want a Laravel timestamp", k, m[k])
		}
	}
	got := s.must(t, http.StatusOK, "GET", path("/api/v1/agents/%v", m["id"]), nil, nil)
	if got["title"] != "Support writer" || got["instructions"] != m["instructions"] {
		t.Errorf("GET after create = %v", got)
	}
}

func TestNativeCreateAgentValidation(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	base := func(changes map[string]any) map[string]any {
		b := map[string]any{"title": "Valid", "type": "chat"}
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	cases := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"missing title", base(map[string]any{"title": nil}), "body.title"},
		{"blank title", base(map[string]any{"title": "   "}), "body.title"},
		{"bad type", base(map[string]any{"type": "video"}), "body.type"},
		{"type not a string", base(map[string]any{"type": 5}), "body.type"},
		{"select without options", base(map[string]any{"questions": []map[string]any{{"name": "tone", "type": "select"}}}), "body.questions.0.options"},
		{"reserved question name", base(map[string]any{"questions": []map[string]any{{"name": "messages", "type": "text"}}}), "body.questions.0.name"},
		{"reserved name waitExecution", base(map[string]any{"questions": []map[string]any{{"name": "ok"}, {"name": "waitExecution"}}}), "body.questions.1.name"},
		{"duplicate question", base(map[string]any{"questions": []map[string]any{{"name": "a"}, {"name": "a"}}}), "body.questions.1.name"},
		{"bad question type", base(map[string]any{"questions": []map[string]any{{"name": "a", "type": "colour"}}}), "body.questions.0.type"},
		{"temperature 3", base(map[string]any{"temperature": 3}), "body.temperature"},
		{"negative temperature", base(map[string]any{"temperature": -0.5}), "body.temperature"},
		{"unknown field", base(map[string]any{"colour": "red"}), "body.colour"},
		{"max_iterations too high", base(map[string]any{"max_iterations": 1000}), "body.max_iterations"},
		{"unknown tool", base(map[string]any{"tools": []string{"teleport"}}), "body.tools"},
		{"bad slug", base(map[string]any{"slug": "Not A Slug"}), "body.slug"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := s.doRaw(t, "POST", "/api/v1/agents", tc.body, nil)
			if res.Status != http.StatusUnprocessableEntity {
				t.Fatalf("HTTP %d %s, want 422", res.Status, res.Body)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			m := res.JSON(t)
			if intOf(t, m["status"]) != 422 {
				t.Errorf("problem status %v, want 422", m["status"])
			}
			if locs := problemFields(t, m); !slices.Contains(locs, tc.field) {
				t.Errorf("problem errors at %v, want one at %s: %s", locs, tc.field, res.Body)
			}
		})
	}
	t.Run("every problem at once", func(t *testing.T) {
		t.Parallel()
		m := s.must(t, http.StatusUnprocessableEntity, "POST", "/api/v1/agents", map[string]any{"type": "video", "temperature": 3}, nil)
		locs := problemFields(t, m)
		for _, want := range []string{"body.title", "body.type", "body.temperature"} {
			if !slices.Contains(locs, want) {
				t.Errorf("errors at %v, missing %s", locs, want)
			}
		}
	})
	// Registered after setup's, so it runs after every subtest and before the
	// server stops.
	t.Cleanup(func() {
		if m := s.must(t, http.StatusOK, "GET", "/agents", nil, nil); intOf(t, m["total"]) != 0 {
			t.Errorf("invalid agents were created: %v", m["data"])
		}
	})
}

func TestNativeAgentGetPutPatchDelete(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.createAgent(t, fullAgent(), nil)
	p := path("/api/v1/agents/%d", id)

	patched := s.must(t, http.StatusOK, "PATCH", p, map[string]any{"title": "Renamed"}, nil)
	if patched["title"] != "Renamed" || patched["instructions"] != "You answer support tickets." || intOf(t, patched["version"]) != 2 {
		t.Errorf("PATCH merges and bumps the version: %v", patched)
	}
	slug := patched["slug"]

	replaced := s.must(t, http.StatusOK, "PUT", p, map[string]any{"title": "Replaced", "type": "text", "prompt": "Say {{x}}",
		"questions": []map[string]any{{"name": "x", "type": "text"}}}, nil)
	if replaced["title"] != "Replaced" || replaced["type"] != "text" || replaced["instructions"] != "" || replaced["model"] != "" ||
		replaced["temperature"] != nil || intOf(t, replaced["version"]) != 3 {
		t.Errorf("PUT replaces the whole definition: %v", replaced)
	}
	if replaced["slug"] != slug || intOf(t, replaced["id"]) != id {
		t.Errorf("PUT keeps id and slug: %v", replaced)
	}
	s.must(t, http.StatusUnprocessableEntity, "PUT", p, map[string]any{"type": "chat"}, nil) // no title
	s.must(t, http.StatusUnprocessableEntity, "PATCH", p, map[string]any{"temperature": 9}, nil)
	got := s.must(t, http.StatusOK, "GET", p, nil, nil)
	if got["title"] != "Replaced" || intOf(t, got["version"]) != 3 {
		t.Errorf("a refused update changed the agent: %v", got)
	}

	s.must(t, http.StatusNoContent, "DELETE", p, nil, nil)
	for _, q := range []string{p, path("/agents/%d", id)} {
		res := s.doRaw(t, "GET", q, nil, nil)
		if res.Status != http.StatusNotFound {
			t.Errorf("GET %s after delete: HTTP %d", q, res.Status)
		}
		res.JSON(t)
	}
	s.must(t, http.StatusNotFound, "DELETE", p, nil, nil)
	s.must(t, http.StatusNotFound, "PATCH", p, map[string]any{"title": "ghost"}, nil)
}

func TestTessListAgentsIsALaravelPaginator(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	s.createAgent(t, map[string]any{"title": "Alpha helper", "type": "chat"}, nil)
	s.createAgent(t, map[string]any{"title": "Beta writer", "type": "chat", "description": "writes the newsletter"}, nil)
	s.createAgent(t, map[string]any{"title": "Gamma summariser", "type": "text", "prompt": "Sum up {{t}}",
		"questions": []map[string]any{{"name": "t", "type": "textarea", "required": true}}}, nil)

	for _, prefix := range []string{"/agents", "/api/agents", "/templates", "/api/templates"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			m := s.must(t, http.StatusOK, "GET", prefix+"?per_page=2", nil, nil)
			checkPaginator(t, m, 1, 2, 2, 3, 2)
			next, _ := m["next_page_url"].(string)
			if !strings.Contains(next, "page=2") || !strings.Contains(next, prefix) {
				t.Errorf("next_page_url = %q", next)
			}
			if m["prev_page_url"] != nil {
				t.Errorf("prev_page_url on page 1 = %v", m["prev_page_url"])
			}
			links, _ := m["links"].([]any)
			var labels []string
			for _, l := range links {
				labels = append(labels, l.(map[string]any)["label"].(string))
			}
			if !slices.Equal(labels, []string{"pagination.previous", "1", "2", "pagination.next"}) {
				t.Errorf("links labels = %v", labels)
			}
			if active := links[1].(map[string]any)["active"]; active != true {
				t.Errorf("link of page 1 is not active: %v", links[1])
			}

			m = s.must(t, http.StatusOK, "GET", prefix+"?per_page=2&page=2", nil, nil)
			checkPaginator(t, m, 2, 2, 2, 3, 1)
			if m["next_page_url"] != nil || m["prev_page_url"] == nil {
				t.Errorf("page 2 of 2: next %v, prev %v", m["next_page_url"], m["prev_page_url"])
			}

			m = s.must(t, http.StatusOK, "GET", prefix, nil, nil)
			checkPaginator(t, m, 1, 15, 1, 3, 3)
			if m["next_page_url"] != nil {
				t.Errorf("next_page_url of the only page = %v", m["next_page_url"])
			}

			m = s.must(t, http.StatusOK, "GET", prefix+"?q=BETA", nil, nil)
			if titles := titlesOf(m); !slices.Equal(titles, []string{"Beta writer"}) {
				t.Errorf("q=BETA found %v", titles)
			}
			m = s.must(t, http.StatusOK, "GET", prefix+"?q=newsletter", nil, nil)
			if titles := titlesOf(m); !slices.Equal(titles, []string{"Beta writer"}) {
				t.Errorf("q=newsletter (description) found %v", titles)
			}
			m = s.must(t, http.StatusOK, "GET", prefix+"?type=text", nil, nil)
			if titles := titlesOf(m); !slices.Equal(titles, []string{"Gamma summariser"}) {
				t.Errorf("type=text found %v", titles)
			}
			m = s.must(t, http.StatusOK, "GET", prefix+"?page=7", nil, nil)
			checkPaginator(t, m, 7, 15, 1, 3, 0)

			// Items are full agents, questions included.
			m = s.must(t, http.StatusOK, "GET", prefix+"?type=text", nil, nil)
			item := m["data"].([]any)[0].(map[string]any)
			if qs, _ := item["questions"].([]any); len(qs) != 1 {
				t.Errorf("listed text agent questions = %v", item["questions"])
			}
		})
	}
	t.Run("bad page values are 422", func(t *testing.T) {
		t.Parallel()
		for _, q := range []string{"page=0", "page=x", "per_page=0", "per_page=-1"} {
			status, m := s.do(t, "GET", "/agents?"+q, nil, nil)
			if status != http.StatusUnprocessableEntity || m["error"] == nil {
				t.Errorf("GET /agents?%s: HTTP %d %v, want 422", q, status, m)
			}
		}
	})
}

// Pipedream's search action allows per_page up to 1000 (tess-api.md §12);
// a drop-in server must answer it, capping the page size, not refuse it.
func TestTessListAgentsCapsALargePerPage(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	s.chatAgent(t, "Only one")
	status, m := s.do(t, "GET", "/agents?per_page=1000", nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET /agents?per_page=1000: HTTP %d %v, want 200 with the page size capped", status, m)
	}
	if n := intOf(t, m["per_page"]); n < 1 || n > 1000 {
		t.Errorf("per_page = %d", n)
	}
	if len(m["data"].([]any)) != 1 {
		t.Errorf("data = %v", m["data"])
	}
}

func checkPaginator(t *testing.T, m map[string]any, page, perPage, lastPage, total int64, n int) {
	t.Helper()
	for _, k := range []string{"current_page", "data", "first_page_url", "from", "last_page", "last_page_url", "links",
		"next_page_url", "path", "per_page", "prev_page_url", "to", "total"} {
		if _, ok := m[k]; !ok {
			t.Errorf("paginator has no %q: %v", k, m)
		}
	}
	if intOf(t, m["current_page"]) != page || intOf(t, m["per_page"]) != perPage ||
		intOf(t, m["last_page"]) != lastPage || intOf(t, m["total"]) != total {
		t.Errorf("paginator current_page %v per_page %v last_page %v total %v, want %d %d %d %d",
			m["current_page"], m["per_page"], m["last_page"], m["total"], page, perPage, lastPage, total)
	}
	data, ok := m["data"].([]any)
	if !ok || len(data) != n {
		t.Errorf("data has %d items, want %d: %v", len(data), n, m["data"])
	}
	if n > 0 {
		if from := intOf(t, m["from"]); from != (page-1)*perPage+1 {
			t.Errorf("from = %d", from)
		}
	}
}

func titlesOf(m map[string]any) []string {
	var out []string
	for _, it := range m["data"].([]any) {
		out = append(out, it.(map[string]any)["title"].(string))
	}
	return out
}

func questionNames(t *testing.T, a map[string]any) []string {
	t.Helper()
	qs, ok := a["questions"].([]any)
	if !ok {
		t.Fatalf("agent has no questions array: %v", a)
	}
	var out []string
	for _, q := range qs {
		out = append(out, q.(map[string]any)["name"].(string))
	}
	return out
}

func TestTessGetAgentQuestions(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	chat := s.createAgent(t, fullAgent(), nil)
	text := s.createAgent(t, map[string]any{"title": "Text one", "type": "text", "prompt": "About {{topic}}",
		"questions": []map[string]any{{"name": "topic", "type": "text", "required": true}}}, nil)

	for _, p := range []string{"/agents/%d", "/api/agents/%d", "/templates/%d", "/api/templates/%d"} {
		a := s.must(t, http.StatusOK, "GET", path(p, chat), nil, nil)
		names := questionNames(t, a)
		if !slices.Equal(names, []string{"product", "tone", "temperature", "model", "tools", "root_id", "messages"}) {
			t.Errorf("GET %s questions = %v", path(p, chat), names)
		}
		for _, k := range []string{"id", "title", "description", "long_description", "workspace_id", "visibility", "slug", "active", "type", "created_at", "updated_at"} {
			if _, ok := a[k]; !ok {
				t.Errorf("Get Agent has no %q", k)
			}
		}
		if intOf(t, a["id"]) != chat || a["type"] != "chat" {
			t.Errorf("agent = %v", a)
		}
	}
	a := s.must(t, http.StatusOK, "GET", path("/agents/%d", chat), nil, nil)
	byName := map[string]map[string]any{}
	for _, q := range a["questions"].([]any) {
		byName[q.(map[string]any)["name"].(string)] = q.(map[string]any)
	}
	for _, name := range []string{"temperature", "model", "tools"} {
		q := byName[name]
		if q["type"] != "select" {
			t.Errorf("question %s type = %v, want select", name, q["type"])
		}
		opts, _ := q["options"].([]any)
		if len(opts) == 0 {
			t.Errorf("question %s has no options", name)
		}
		for _, o := range opts {
			if _, ok := o.(string); !ok {
				t.Errorf("question %s option %#v is not a string", name, o)
			}
		}
	}
	if opts := byName["temperature"]["options"].([]any); !slices.Contains(opts, any("0.25")) || !slices.Contains(opts, any("1")) {
		t.Errorf("temperature options = %v", opts)
	}
	if opts := byName["model"]["options"].([]any); !slices.Contains(opts, any("tess-5")) {
		t.Errorf("model options = %v, want tess-5 among them", opts)
	}
	if opts := byName["tools"]["options"].([]any); !slices.Contains(opts, any("no-tools")) {
		t.Errorf("tools options = %v", opts)
	}
	if byName["root_id"]["type"] != "number" || byName["messages"]["type"] != "array" || byName["messages"]["required"] != true {
		t.Errorf("root_id %v, messages %v", byName["root_id"], byName["messages"])
	}
	if byName["product"]["required"] != true || byName["product"]["description"] != "The product" {
		t.Errorf("own question product = %v", byName["product"])
	}

	ta := s.must(t, http.StatusOK, "GET", path("/agents/%d", text), nil, nil)
	if names := questionNames(t, ta); !slices.Equal(names, []string{"topic"}) {
		t.Errorf("text agent questions = %v, want only its own", names)
	}
	// An agent without questions still has the array.
	bare := s.createAgent(t, map[string]any{"title": "Bare text", "type": "text", "prompt": "Hi"}, nil)
	if names := questionNames(t, s.must(t, http.StatusOK, "GET", path("/agents/%d", bare), nil, nil)); len(names) != 0 {
		t.Errorf("bare text agent questions = %v", names)
	}
}

func TestTessGetAgentNotFoundIsAJSONObject(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	for _, p := range []string{"/agents/999999", "/agents/abc", "/agents/0", "/agents/-3", "/agents/99999999999999999999",
		"/api/agents/999999", "/templates/abc", "/agent-responses/999999", "/agent-responses/abc", "/template-responses/x"} {
		res := s.doRaw(t, "GET", p, nil, nil)
		if res.Status != http.StatusNotFound {
			t.Errorf("GET %s: HTTP %d, want 404", p, res.Status)
			continue
		}
		if m := res.JSON(t); m["error"] == nil {
			t.Errorf("GET %s: 404 body %s has no error", p, res.Body)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
	}
	status, m := s.do(t, "POST", "/agents/999999/execute", map[string]any{"messages": "hi"}, nil)
	if status != http.StatusNotFound || m["error"] == nil {
		t.Errorf("execute unknown agent: HTTP %d %v", status, m)
	}
}

const configAgentsV1 = `
agents:
  - slug: support-bot
    title: Support bot
    type: chat
    instructions: Be kind.
    questions:
      - name: product
        type: text
        description: The product
  - slug: summariser
    title: Summariser
    type: text
    prompt: "Summarise {{text}}"
    questions:
      - name: text
        type: textarea
        required: true
`

func TestConfigAgentsAreUpsertedBySlugAtStart(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Config: configAgentsV1})
	bySlug := func(c *testServer) map[string]map[string]any {
		m := c.must(t, http.StatusOK, "GET", "/api/v1/agents", nil, nil)
		out := map[string]map[string]any{}
		for _, it := range m["data"].([]any) {
			a := it.(map[string]any)
			if _, dup := out[a["slug"].(string)]; dup {
				t.Errorf("two agents with slug %v", a["slug"])
			}
			out[a["slug"].(string)] = a
		}
		return out
	}
	v1 := bySlug(s)
	bot, sum := v1["support-bot"], v1["summariser"]
	if bot == nil || sum == nil || len(v1) != 2 {
		t.Fatalf("config agents at start: %v", v1)
	}
	if bot["title"] != "Support bot" || bot["instructions"] != "Be kind." || bot["source"] != "config" || intOf(t, bot["version"]) != 1 {
		t.Errorf("support-bot = %v", bot)
	}
	// Tess clients see them too.
	tess := s.must(t, http.StatusOK, "GET", path("/agents/%v", bot["id"]), nil, nil)
	if names := questionNames(t, tess); !slices.Equal(names[:1], []string{"product"}) {
		t.Errorf("Tess questions of support-bot = %v", names)
	}
	s.run(t, intOf(t, sum["id"]), map[string]any{"text": "the quarter"})
	if r := requestWith(t, s.Fake, "Summarise the quarter"); r == nil {
		t.Error("the config agent's prompt was not rendered")
	}

	// Same definition: nothing changes.
	s2 := s.restart(t, opts{Config: configAgentsV1})
	same := bySlug(s2)
	if intOf(t, same["support-bot"]["version"]) != 1 || same["support-bot"]["updated_at"] != bot["updated_at"] {
		t.Errorf("an unchanged config rewrote the agent: %v", same["support-bot"])
	}

	// A changed definition updates in place.
	v2 := strings.Replace(configAgentsV1, "instructions: Be kind.", "instructions: Be brief.", 1)
	s3 := s2.restart(t, opts{Config: v2})
	after := bySlug(s3)
	if len(after) != 2 {
		t.Errorf("after the change there are %d agents, want 2", len(after))
	}
	nb := after["support-bot"]
	if intOf(t, nb["id"]) != intOf(t, bot["id"]) || nb["instructions"] != "Be brief." || intOf(t, nb["version"]) != 2 {
		t.Errorf("changed support-bot = %v, want the same id with version 2", nb)
	}
	if intOf(t, after["summariser"]["version"]) != 1 {
		t.Errorf("the unchanged summariser was rewritten: %v", after["summariser"])
	}
}

const configAgentDeclared = `
agents:
  - slug: order-desk
    title: Order desk
    http_tools:
      - name: lookup_order
        description: Look an order up
        parameters: {type: object, required: [id], properties: {id: {type: string}}}
        url: "https://api.example.com/orders/{{id}}"
        headers: {Authorization: "Bearer {{secret.orders_token}}"}
    mcp_servers:
      - {name: docs, url: "https://mcp.example.com/mcp", allowed_tools: [search]}
    output_schema:
      type: object
      required: [answer]
      properties: {answer: {type: string}}
`

func TestConfigAgentDeclaresToolsAndSchema(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Config: configAgentDeclared})
	list := s.must(t, http.StatusOK, "GET", "/api/v1/agents", nil, nil)["data"].([]any)
	if len(list) != 1 {
		t.Fatalf("agents = %v", list)
	}
	a := list[0].(map[string]any)
	tools, servers := a["http_tools"].([]any), a["mcp_servers"].([]any)
	if len(tools) != 1 || tools[0].(map[string]any)["url"] != "https://api.example.com/orders/{{id}}" ||
		tools[0].(map[string]any)["method"] != "GET" || tools[0].(map[string]any)["parameters"].(map[string]any)["type"] != "object" {
		t.Errorf("http_tools = %v", tools)
	}
	if len(servers) != 1 || servers[0].(map[string]any)["name"] != "docs" {
		t.Errorf("mcp_servers = %v", servers)
	}
	if schema, _ := a["output_schema"].(map[string]any); schema["type"] != "object" {
		t.Errorf("output_schema = %v", a["output_schema"])
	}
}

func TestInvalidConfigAgentIsAUsageError(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]string{
		"bad slug":        "agents:\n  - slug: Bad Slug\n    title: x\n",
		"no title":        "agents:\n  - slug: no-title\n",
		"unknown key":     "agents:\n  - slug: x\n    title: x\n    colour: red\n",
		"reserved name":   "agents:\n  - slug: x\n    title: x\n    questions:\n      - name: messages\n",
		"unknown section": "nonsense: true\n",
		"templated host":  "agents:\n  - slug: x\n    title: x\n    http_tools:\n      - {name: t, description: d, url: \"https://{{h}}/\"}\n",
		"bad schema":      "agents:\n  - slug: x\n    title: x\n    output_schema: {type: 12}\n",
		"bad http tool":   "agents:\n  - slug: x\n    title: x\n    http_tools:\n      - {name: t, description: d, url: \"https://x.example/\", timeout_seconds: soon}\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := opts{Config: cfg}
			env := testEnv(t, &o)
			env["TESSERA_ADDR"] = "127.0.0.1:0"
			var out, errOut strings.Builder
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := Run(ctx, []string{"serve"}, getenvFrom(env), &out, &errOut)
			if err == nil || exitCode(err) != 2 {
				t.Errorf("serve with %s: %v (exit %d), want a usage error", name, err, exitCode(err))
			}
		})
	}
}

var laravelTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
