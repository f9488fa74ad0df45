package builtin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
	"github.com/tessera-run/tessera/tool/builtin"
)

// fakeSearXNG speaks SearXNG's JSON API and records the queries it got.
type fakeSearXNG struct {
	*httptest.Server
	mu      sync.Mutex
	queries []string
	status  int // answered instead of results when set
}

func newFakeSearXNG(t *testing.T) *fakeSearXNG {
	t.Helper()
	f := &fakeSearXNG{}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSearXNG) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/search" || r.URL.Query().Get("format") != "json" {
		http.Error(w, "wrong request "+r.URL.String(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.queries = append(f.queries, r.URL.Query().Get("q"))
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	type result struct {
		Title   string   `json:"title"`
		URL     string   `json:"url"`
		Content string   `json:"content"`
		Engines []string `json:"engines"`
	}
	var out struct {
		Query   string   `json:"query"`
		Results []result `json:"results"`
	}
	out.Query = r.URL.Query().Get("q")
	for i := 1; i <= 12; i++ {
		out.Results = append(out.Results, result{
			Title: fmt.Sprintf("Result  %d", i), URL: fmt.Sprintf("https://example.org/%d", i),
			Content: fmt.Sprintf("Snippet\n%d", i), Engines: []string{"duckduckgo"},
		})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (f *fakeSearXNG) lastQuery() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.queries[len(f.queries)-1]
}

func newBackend(t *testing.T, f *fakeSearXNG) builtin.Search {
	t.Helper()
	// The backend's client is not guarded: the fake is on 127.0.0.1 and
	// must be reachable without any allow-list.
	backend, err := builtin.NewSearXNG(builtin.SearXNGConfig{BaseURL: f.URL})
	if err != nil {
		t.Fatalf("NewSearXNG: %v", err)
	}
	return backend
}

func TestWebSearch(t *testing.T) {
	t.Parallel()

	fake := newFakeSearXNG(t)
	search := builtin.NewWebSearch(builtin.WebSearchConfig{Backend: newBackend(t, fake)})

	res := call(t, search, map[string]string{"query": "  tessera   agents "})
	if fake.lastQuery() != "tessera agents" {
		t.Errorf("query sent = %q", fake.lastQuery())
	}
	wantContains(t, res.Content, "1. Result 1\n   https://example.org/1\n   Snippet 1\n\n2. Result 2", "5. Result 5")
	if strings.Contains(res.Content, "6. ") {
		t.Errorf("more than the default 5 results:\n%s", res.Content)
	}

	res = call(t, search, map[string]any{"query": "go", "site": "https://Go.dev/", "max_results": 2})
	if fake.lastQuery() != "go site:go.dev" {
		t.Errorf("query sent = %q, want the site restriction", fake.lastQuery())
	}
	if strings.Contains(res.Content, "3. ") || !strings.Contains(res.Content, "2. Result 2") {
		t.Errorf("max_results 2 gave:\n%s", res.Content)
	}

	res = call(t, search, map[string]any{"query": "go", "max_results": 50})
	wantContains(t, res.Content, "10. Result 10")
	if strings.Contains(res.Content, "11. ") {
		t.Errorf("more than 10 results:\n%s", res.Content)
	}
}

func TestWebSearchSitePreset(t *testing.T) {
	t.Parallel()

	fake := newFakeSearXNG(t)
	tools, err := builtin.TessToolSet("wikipedia", builtin.Deps{Search: newBackend(t, fake)})
	if err != nil {
		t.Fatal(err)
	}
	search := tools[0]
	if search.Name() != "wikipedia_search" {
		t.Fatalf("first tool = %s, want wikipedia_search", search.Name())
	}
	call(t, search, map[string]string{"query": "Lisbon"})
	if fake.lastQuery() != "Lisbon site:wikipedia.org" {
		t.Errorf("query sent = %q", fake.lastQuery())
	}
	_, err = callErr(t, search, map[string]string{"query": "Lisbon", "site": "evil.example"})
	wantError(t, err, `unknown field "site"`)
	if strings.Contains(string(search.Parameters()), `"site"`) {
		t.Errorf("preset schema offers site: %s", search.Parameters())
	}
}

func TestWebSearchErrors(t *testing.T) {
	t.Parallel()

	fake := newFakeSearXNG(t)
	search := builtin.NewWebSearch(builtin.WebSearchConfig{Backend: newBackend(t, fake)})
	for args, want := range map[string]string{
		`{}`:                                   "query is required",
		`{"query": "x", "max_results": -1}`:    "max_results must be from 1 to 10",
		`{"query": "x", "max_results": 1.5}`:   "max_results must be an integer, not number",
		`{"query": "x", "site": "not a site"}`: `site "not a site" must be a domain`,
		`{"query": "x", "site": "localhost"}`:  `must be a domain`,
		`{"q": "x"}`:                           `unknown field "q"`,
	} {
		_, err := callErr(t, search, args)
		wantError(t, err, want)
	}
	_, err := callErr(t, search, map[string]string{"query": strings.Repeat("x", 501)})
	wantError(t, err, "query is longer than 500 characters")
}

func TestWebSearchNotConfigured(t *testing.T) {
	t.Parallel()

	search := builtin.NewWebSearch(builtin.WebSearchConfig{})
	_, err := callErr(t, search, map[string]string{"query": "anything"})
	if err == nil || err.Error() != "web search is not configured: set tools.web_search.searxng_url" {
		t.Errorf("error = %v", err)
	}
}

func TestSearXNGBackendErrors(t *testing.T) {
	t.Parallel()

	for status, want := range map[int]string{
		http.StatusForbidden:           `enable "json" in search.formats`,
		http.StatusTooManyRequests:     "rate limiting",
		http.StatusInternalServerError: "answered HTTP 500 Internal Server Error",
	} {
		fake := newFakeSearXNG(t)
		fake.status = status
		search := builtin.NewWebSearch(builtin.WebSearchConfig{Backend: newBackend(t, fake)})
		_, err := callErr(t, search, map[string]string{"query": "x"})
		wantError(t, err, "web search failed: ")
		wantError(t, err, want)
		if strings.Contains(err.Error(), fake.URL) {
			t.Errorf("error %q shows the backend's address", err)
		}
	}

	fake := newFakeSearXNG(t)
	fake.Close()
	search := builtin.NewWebSearch(builtin.WebSearchConfig{Backend: newBackend(t, fake)})
	_, err := callErr(t, search, map[string]string{"query": "x"})
	wantError(t, err, "web search failed: the search backend is unreachable")
}

func TestNewSearXNGValidates(t *testing.T) {
	t.Parallel()

	for _, base := range []string{"", "localhost:8888", "ftp://x"} {
		if _, err := builtin.NewSearXNG(builtin.SearXNGConfig{BaseURL: base}); tessera.ErrorCode(err) != tessera.EINVALID {
			t.Errorf("NewSearXNG(%q) error = %v, want EINVALID", base, err)
		}
	}
}

func TestSearXNGBasePath(t *testing.T) {
	t.Parallel()

	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.Write([]byte(`{"results":[]}`))
	}))
	t.Cleanup(srv.Close)
	backend, err := builtin.NewSearXNG(builtin.SearXNGConfig{BaseURL: srv.URL + "/searx/"})
	if err != nil {
		t.Fatal(err)
	}
	res := call(t, builtin.NewWebSearch(builtin.WebSearchConfig{Backend: backend}), map[string]string{"query": "nothing"})
	if path != "/searx/search" || res.Content != `No results for "nothing".` {
		t.Errorf("path = %q, content = %q", path, res.Content)
	}
}

func TestTessToolSet(t *testing.T) {
	t.Parallel()

	names := func(tools []tool.Tool) string {
		var n []string
		for _, tl := range tools {
			n = append(n, tl.Name())
		}
		return strings.Join(n, ",")
	}
	for value, want := range map[string]string{
		"internet":  "web_search,web_fetch",
		"wikipedia": "wikipedia_search,web_fetch",
		"twitter":   "twitter_search,web_fetch",
		"no-tools":  "",
	} {
		tools, err := builtin.TessToolSet(value, builtin.Deps{})
		if err != nil || names(tools) != want {
			t.Errorf("TessToolSet(%q) = %s, %v; want %s", value, names(tools), err, want)
		}
	}

	tools, err := builtin.TessToolSets([]string{"wikipedia", "reddit", "internet"}, builtin.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(tools); got != "wikipedia_search,web_fetch,reddit_search,web_search" {
		t.Errorf("TessToolSets = %s", got)
	}
	if _, err := tool.NewSet(tools...); err != nil {
		t.Errorf("NewSet(TessToolSets(…)): %v", err)
	}

	_, err = builtin.TessToolSet("calculator-pro", builtin.Deps{})
	if tessera.ErrorCode(err) != tessera.EINVALID {
		t.Fatalf("unknown value error = %v, want EINVALID", err)
	}
	wantError(t, err, `unknown tools value "calculator-pro": valid values are internet, facebook, instagram, linkedin, medium, quora, reddit, twitter, wikipedia, no-tools`)
}

func TestTwitterSearchUsesX(t *testing.T) {
	t.Parallel()

	fake := newFakeSearXNG(t)
	tools, err := builtin.TessToolSet("twitter", builtin.Deps{Search: newBackend(t, fake)})
	if err != nil {
		t.Fatal(err)
	}
	call(t, tools[0], map[string]string{"query": "golang"})
	if fake.lastQuery() != "golang site:x.com" {
		t.Errorf("query sent = %q", fake.lastQuery())
	}
}

func TestAllBuiltins(t *testing.T) {
	t.Parallel()

	tools, err := builtin.All(builtin.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := tool.NewSet(tools...)
	if err != nil {
		t.Fatalf("NewSet(All): %v", err)
	}
	for _, name := range []string{"calculator", "current_time", "http_request", "web_fetch", "web_search"} {
		if _, ok := set.Get(name); !ok {
			t.Errorf("All lacks %s", name)
		}
	}
	for _, tl := range tools {
		var schema struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(tl.Parameters(), &schema); err != nil || schema.Type != "object" || tl.Description() == "" {
			t.Errorf("%s: schema %s (%v), description %q", tl.Name(), tl.Parameters(), err, tl.Description())
		}
	}
}
