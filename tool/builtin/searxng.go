package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/tessera-run/tessera"
)

// SearXNGConfig configures a SearXNG (or compatible) search backend.
type SearXNGConfig struct {
	// BaseURL is the instance, e.g. "http://localhost:8888"; searches go to
	// {BaseURL}/search?q=…&format=json.
	BaseURL string
	// Client makes the requests; nil means a plain client with Timeout.
	// It must not be the SSRF-guarded client: the operator chose this
	// address, and a self-hosted instance usually lives on localhost or a
	// private network, which the guard would refuse.
	Client *http.Client
	// Timeout bounds one search when Client is nil. Default 15s.
	Timeout time.Duration
}

// maxSearchResponse bounds the JSON read from the backend.
const maxSearchResponse = 4 << 20

// SearXNG is a Search over SearXNG's JSON API. The instance must have
// "json" in search.formats of its settings.yml.
type SearXNG struct {
	endpoint *url.URL
	client   *http.Client
}

// NewSearXNG returns a SearXNG backend. It returns an EINVALID error when
// BaseURL is not an absolute http(s) URL.
func NewSearXNG(cfg SearXNGConfig) (*SearXNG, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, tessera.Errorf(tessera.EINVALID, "tools.web_search.searxng_url: %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	client := cfg.Client
	if client == nil {
		if cfg.Timeout <= 0 {
			cfg.Timeout = DefaultHTTPTimeout
		}
		client = &http.Client{Timeout: cfg.Timeout}
	}
	return &SearXNG{endpoint: u.JoinPath("search"), client: client}, nil
}

type searxngResponse struct {
	Results []struct {
		Title   string `json:"title"`
		URL     string `json:"url"`
		Content string `json:"content"`
	} `json:"results"`
}

// Search runs one query. Its errors describe the failure without the
// instance's address, because the model reads them.
func (s *SearXNG) Search(ctx context.Context, p SearchParams) ([]SearchResult, error) {
	resp, err := s.do(ctx, p.Query)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := statusError(resp); err != nil {
		return nil, err
	}
	body, _, err := readBody(resp.Body, maxSearchResponse)
	if err != nil {
		return nil, fmt.Errorf("reading the search backend's answer: %v", err)
	}
	var out searxngResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("the search backend's answer is not SearXNG JSON")
	}
	results := make([]SearchResult, 0, min(len(out.Results), p.MaxResults))
	for _, r := range out.Results {
		if len(results) == p.MaxResults {
			break
		}
		results = append(results, SearchResult{Title: r.Title, URL: r.URL, Snippet: r.Content})
	}
	return results, nil
}

func (s *SearXNG) do(ctx context.Context, query string) (*http.Response, error) {
	u := *s.endpoint
	u.RawQuery = url.Values{"q": {query}, "format": {"json"}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("the search backend is unreachable")
	}
	return resp, nil
}

func statusError(resp *http.Response) error {
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("the search backend refused the JSON format (HTTP 403); its operator must enable \"json\" in search.formats")
	case resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("the search backend is rate limiting (HTTP 429); try again later")
	default:
		return fmt.Errorf("the search backend answered HTTP %s", resp.Status)
	}
}
