package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tessera-run/tessera/tool"
)

const httpRequestSchema = `{
  "type": "object",
  "properties": {
    "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "description": "Default GET."},
    "url": {"type": "string", "description": "Absolute http or https URL."},
    "headers": {"type": "object", "additionalProperties": {"type": "string"}, "description": "Request headers."},
    "body": {"type": "string", "description": "Request body, sent as is."}
  },
  "required": ["url"],
  "additionalProperties": false
}`

var httpMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead}

// shownHeaders are the response headers worth the model's tokens.
var shownHeaders = []string{"Content-Type", "Content-Length", "Location", "Last-Modified", "ETag", "Retry-After", "WWW-Authenticate"}

// httpFetcher holds what http_request and web_fetch share.
type httpFetcher struct {
	client   *http.Client
	maxBytes int64
	timeout  time.Duration
}

func newFetcher(client *http.Client, cfg HTTPConfig) *httpFetcher {
	cfg = cfg.WithDefaults()
	return &httpFetcher{client: client, maxBytes: cfg.MaxResponseBytes, timeout: cfg.Timeout}
}

// NewHTTPRequest returns the http_request tool. client should come from
// NewHTTPClient so that requests pass the SSRF guard; cfg supplies the
// size limit.
func NewHTTPRequest(client *http.Client, cfg HTTPConfig) tool.Tool {
	f := newFetcher(client, cfg)
	return tool.Func("http_request",
		"Send an HTTP request to a public URL and return the status, the main response headers and the body as text. "+
			"Use it for APIs; use web_fetch to read web pages.",
		json.RawMessage(httpRequestSchema), f.callHTTPRequest)
}

type httpRequestArgs struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func (f *httpFetcher) callHTTPRequest(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	var in httpRequestArgs
	if err := decodeArgs(args, &in); err != nil {
		return tool.Result{}, err
	}
	req, err := newHTTPRequest(ctx, in)
	if err != nil {
		return tool.Result{}, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return tool.Result{}, requestError(req.Method, req.URL, err, f.timeout)
	}
	defer resp.Body.Close()
	body, truncated, err := readBody(resp.Body, f.maxBytes)
	if err != nil {
		return tool.Result{}, requestError(req.Method, req.URL, err, f.timeout)
	}
	return tool.Result{Content: formatResponse(resp, body, truncated), Truncated: truncated}, nil
}

func newHTTPRequest(ctx context.Context, in httpRequestArgs) (*http.Request, error) {
	method := strings.ToUpper(strings.TrimSpace(in.Method))
	if method == "" {
		method = http.MethodGet
	}
	if !slices.Contains(httpMethods, method) {
		return nil, fmt.Errorf("invalid arguments: method %q is not one of %s", in.Method, strings.Join(httpMethods, ", "))
	}
	u, err := parseURL(in.URL)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(in.Body))
	if err != nil {
		return nil, fmt.Errorf("invalid request: %v", err)
	}
	for k, v := range in.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v // net/http ignores a Host header; the dial still goes to the URL's host
			continue
		}
		req.Header.Set(k, v)
	}
	return req, nil
}

func formatResponse(resp *http.Response, body []byte, truncated bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %s\n", resp.Status)
	for _, h := range shownHeaders {
		if v := resp.Header.Get(h); v != "" {
			fmt.Fprintf(&b, "%s: %s\n", h, v)
		}
	}
	b.WriteString("\n")
	b.WriteString(bodyText(resp.Header.Get("Content-Type"), body))
	if truncated {
		fmt.Fprintf(&b, "\n[body truncated at %d bytes]", len(body))
	}
	return b.String()
}

// bodyText shows text bodies and describes binary ones, which are useless
// to the model and expensive in tokens.
func bodyText(contentType string, body []byte) string {
	if len(body) == 0 {
		return ""
	}
	if kind := contentKind(contentType, body); kind == kindBinary {
		return fmt.Sprintf("[%d bytes of binary content (%s) not shown]", len(body), mediaType(contentType, body))
	}
	return strings.ToValidUTF8(string(body), "\uFFFD")
}
