package builtin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/tessera-run/tessera/tool"
)

// Search is a web search backend.
type Search interface {
	// Search returns up to p.MaxResults results for p.Query. Errors are
	// shown to the model, so they must not carry the backend's address or
	// credentials.
	Search(ctx context.Context, p SearchParams) ([]SearchResult, error)
}

// SearchParams is one search.
type SearchParams struct {
	// Query is the full query, "site:" restriction included.
	Query      string
	MaxResults int
}

// SearchResult is one hit.
type SearchResult struct {
	Title   string
	URL     string
	Snippet string
}

// Limits of web_search.
const (
	DefaultSearchResults = 5
	MaxSearchResults     = 10
	maxQueryLen          = 500
	maxSnippetLen        = 500
)

// errSearchNotConfigured names the setting, since only the operator can fix it.
var errSearchNotConfigured = errors.New("web search is not configured: set tools.web_search.searxng_url")

// WebSearchConfig configures one web search tool.
type WebSearchConfig struct {
	// Backend runs the searches; nil makes every call fail with a message
	// that search is not configured.
	Backend Search
	// Site, when set, restricts every search to that domain and removes the
	// site argument: a preset such as wikipedia_search.
	Site string
	// Name is the tool's name; default "web_search".
	Name string
}

// NewWebSearch returns a web search tool.
func NewWebSearch(cfg WebSearchConfig) tool.Tool {
	if cfg.Name == "" {
		cfg.Name = "web_search"
	}
	s := &webSearch{backend: cfg.Backend, site: cfg.Site}
	desc := "Search the web and return the top results (title, URL, snippet). Read a result with web_fetch."
	if cfg.Site != "" {
		desc = fmt.Sprintf("Search %s and return the top results (title, URL, snippet). Read a result with web_fetch.", cfg.Site)
	}
	return tool.Func(cfg.Name, desc, searchSchema(cfg.Site == ""), s.call)
}

// searchSchema is the arguments' schema; presets have no site argument.
func searchSchema(withSite bool) json.RawMessage {
	site := ""
	if withSite {
		site = `
    "site": {"type": "string", "description": "Restrict results to this domain, e.g. \"go.dev\"."},`
	}
	return json.RawMessage(`{
  "type": "object",
  "properties": {
    "query": {"type": "string", "description": "What to search for."},` + site + `
    "max_results": {"type": "integer", "minimum": 1, "maximum": 10, "description": "How many results; default 5, at most 10."}
  },
  "required": ["query"],
  "additionalProperties": false
}`)
}

type webSearch struct {
	backend Search
	site    string
}

type searchArgs struct {
	Query      string `json:"query"`
	Site       string `json:"site"`
	MaxResults int    `json:"max_results"`
}

func (s *webSearch) call(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	p, err := s.params(args)
	if err != nil {
		return tool.Result{}, err
	}
	if s.backend == nil {
		return tool.Result{}, errSearchNotConfigured
	}
	results, err := s.backend.Search(ctx, p)
	if err != nil {
		return tool.Result{}, fmt.Errorf("web search failed: %w", err)
	}
	return tool.Result{Content: formatResults(p.Query, results, p.MaxResults)}, nil
}

func (s *webSearch) params(args json.RawMessage) (SearchParams, error) {
	var in searchArgs
	if err := decodeArgs(args, &in); err != nil {
		return SearchParams{}, err
	}
	if s.site != "" && in.Site != "" {
		return SearchParams{}, errors.New(`invalid arguments: unknown field "site"`) // the preset fixes it
	}
	query := collapse(in.Query)
	if err := requireString("query", query); err != nil {
		return SearchParams{}, err
	}
	if len(query) > maxQueryLen {
		return SearchParams{}, fmt.Errorf("invalid arguments: query is longer than %d characters", maxQueryLen)
	}
	n, err := resultCount(in.MaxResults)
	if err != nil {
		return SearchParams{}, err
	}
	site := s.site
	if site == "" && in.Site != "" {
		if site, err = normalSite(in.Site); err != nil {
			return SearchParams{}, err
		}
	}
	if site != "" {
		query += " site:" + site
	}
	return SearchParams{Query: query, MaxResults: n}, nil
}

// resultCount defaults and clamps max_results: asking for too many is not
// worth a failed call.
func resultCount(n int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("invalid arguments: max_results must be from 1 to %d", MaxSearchResults)
	case n == 0:
		return DefaultSearchResults, nil
	default:
		return min(n, MaxSearchResults), nil
	}
}

// normalSite accepts "wikipedia.org", "https://en.wikipedia.org/" and the
// like, and returns the bare domain.
func normalSite(site string) (string, error) {
	s := strings.ToLower(strings.TrimSpace(site))
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil {
			s = u.Hostname()
		}
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "site:"), "/")
	if !validHostName(s) || !strings.Contains(s, ".") {
		return "", fmt.Errorf("invalid arguments: site %q must be a domain such as \"wikipedia.org\"", site)
	}
	return s, nil
}

func formatResults(query string, results []SearchResult, limit int) string {
	if len(results) == 0 {
		return fmt.Sprintf("No results for %q.", query)
	}
	var b strings.Builder
	for i, r := range results[:min(len(results), limit)] {
		if i > 0 {
			b.WriteString("\n\n")
		}
		fmt.Fprintf(&b, "%d. %s\n   %s", i+1, collapse(r.Title), r.URL)
		if snippet := collapse(r.Snippet); snippet != "" {
			fmt.Fprintf(&b, "\n   %s", clip(snippet, maxSnippetLen))
		}
	}
	return b.String()
}

// clip cuts s to about n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
