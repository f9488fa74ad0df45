package builtin

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
)

// Deps is what the built-in tools need from the server.
type Deps struct {
	// Now is the clock of current_time; nil means time.Now.
	Now func() time.Time
	// HTTP configures the guarded client of http_request and web_fetch.
	HTTP HTTPConfig
	// Search is the web search backend; nil leaves the search tools in
	// place but answering that search is not configured.
	Search Search
}

// NoTools is the Tess tools value that binds no tool.
const NoTools = "no-tools"

// siteSearches maps the Tess site names to the domain their search is
// restricted to.
var siteSearches = map[string]string{
	"wikipedia": "wikipedia.org",
	"reddit":    "reddit.com",
	"linkedin":  "linkedin.com",
	"twitter":   "x.com",
	"quora":     "quora.com",
	"medium":    "medium.com",
	"instagram": "instagram.com",
	"facebook":  "facebook.com",
}

// TessToolSetNames returns the Tess tools values TessToolSet accepts.
func TessToolSetNames() []string {
	names := append([]string{"internet"}, slices.Sorted(maps.Keys(siteSearches))...)
	return append(names, NoTools)
}

// TessToolSet returns the tools of one Tess tools value: "internet" gives
// web_search and web_fetch; a site name ("wikipedia", "twitter", …) gives
// a search restricted to that site (wikipedia_search, …) and web_fetch;
// "no-tools" gives none. It returns an EINVALID error naming the valid
// values for anything else, or for a malformed deps.HTTP.Allow.
func TessToolSet(name string, deps Deps) ([]tool.Tool, error) {
	return TessToolSets([]string{name}, deps)
}

// TessToolSets is TessToolSet for several values at once, e.g. an agent's
// "wikipedia,reddit": the union, in order, without repeating web_fetch, so
// the result can go straight into tool.NewSet. The tools share one client.
func TessToolSets(names []string, deps Deps) ([]tool.Tool, error) {
	client, err := NewHTTPClient(deps.HTTP)
	if err != nil {
		return nil, err
	}
	var tools []tool.Tool
	seen := map[string]bool{}
	for _, name := range names {
		set, err := tessTools(strings.ToLower(strings.TrimSpace(name)), deps, client)
		if err != nil {
			return nil, err
		}
		for _, t := range set {
			if !seen[t.Name()] {
				seen[t.Name()] = true
				tools = append(tools, t)
			}
		}
	}
	return tools, nil
}

func tessTools(name string, deps Deps, client *http.Client) ([]tool.Tool, error) {
	fetch := NewWebFetch(client, deps.HTTP)
	if name == "internet" {
		return []tool.Tool{NewWebSearch(WebSearchConfig{Backend: deps.Search}), fetch}, nil
	}
	if name == NoTools || name == "" {
		return nil, nil
	}
	site, ok := siteSearches[name]
	if !ok {
		return nil, tessera.Errorf(tessera.EINVALID, "unknown tools value %q: valid values are %s",
			name, strings.Join(TessToolSetNames(), ", "))
	}
	search := NewWebSearch(WebSearchConfig{Backend: deps.Search, Site: site, Name: name + "_search"})
	return []tool.Tool{search, fetch}, nil
}

// All returns every built-in tool — calculator, current_time,
// http_request, web_fetch and web_search — for agents that name tools
// individually. It returns an EINVALID error for a malformed
// deps.HTTP.Allow.
func All(deps Deps) ([]tool.Tool, error) {
	client, err := NewHTTPClient(deps.HTTP)
	if err != nil {
		return nil, err
	}
	return []tool.Tool{
		NewCalculator(),
		NewCurrentTime(CurrentTimeConfig{Now: deps.Now}),
		NewHTTPRequest(client, deps.HTTP),
		NewWebFetch(client, deps.HTTP),
		NewWebSearch(WebSearchConfig{Backend: deps.Search}),
	}, nil
}
