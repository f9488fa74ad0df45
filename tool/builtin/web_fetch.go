package builtin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tessera-run/tessera/tool"
)

const webFetchSchema = `{
  "type": "object",
  "properties": {
    "url": {"type": "string", "description": "Absolute http or https URL of the page to read."}
  },
  "required": ["url"],
  "additionalProperties": false
}`

// NewWebFetch returns the web_fetch tool, which reads a page as plain
// text. client should come from NewHTTPClient; cfg supplies the size limit.
func NewWebFetch(client *http.Client, cfg HTTPConfig) tool.Tool {
	f := newFetcher(client, cfg)
	return tool.Func("web_fetch",
		"Fetch a public web page and return its readable text (headings, paragraphs, lists, links as \"text (url)\"). "+
			"Use it to read a page found with web search.",
		json.RawMessage(webFetchSchema), f.callWebFetch)
}

func (f *httpFetcher) callWebFetch(ctx context.Context, args json.RawMessage) (tool.Result, error) {
	var in struct {
		URL string `json:"url"`
	}
	if err := decodeArgs(args, &in); err != nil {
		return tool.Result{}, err
	}
	u, err := parseURL(in.URL)
	if err != nil {
		return tool.Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return tool.Result{}, fmt.Errorf("invalid url %q", in.URL)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5")
	resp, err := f.client.Do(req)
	if err != nil {
		return tool.Result{}, requestError(http.MethodGet, u, err, f.timeout)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return tool.Result{}, fmt.Errorf("GET %s: HTTP %s", u.Redacted(), resp.Status)
	}
	body, truncated, err := readBody(resp.Body, f.maxBytes)
	if err != nil {
		return tool.Result{}, requestError(http.MethodGet, u, err, f.timeout)
	}
	return pageResult(resp, body, truncated)
}

// pageResult renders the page under a short header naming its final URL,
// which differs from the one asked for after redirects.
func pageResult(resp *http.Response, body []byte, truncated bool) (tool.Result, error) {
	final := resp.Request.URL
	contentType := resp.Header.Get("Content-Type")
	var b strings.Builder
	switch contentKind(contentType, body) {
	case kindHTML:
		text, title, err := htmlToText(strings.ToValidUTF8(string(body), "\uFFFD"), final)
		if err != nil {
			return tool.Result{}, fmt.Errorf("GET %s: the page cannot be read: %v", final.Redacted(), err)
		}
		if title != "" {
			fmt.Fprintf(&b, "Title: %s\n", title)
		}
		fmt.Fprintf(&b, "URL: %s\n\n%s", final.Redacted(), text)
	case kindText:
		fmt.Fprintf(&b, "URL: %s\n\n%s", final.Redacted(), strings.ToValidUTF8(string(body), "\uFFFD"))
	default:
		return tool.Result{}, fmt.Errorf("GET %s: the response is %s, which web_fetch cannot read: only HTML and text are supported",
			final.Redacted(), mediaType(contentType, body))
	}
	if truncated {
		fmt.Fprintf(&b, "\n[page truncated at %d bytes]", len(body))
	}
	return tool.Result{Content: b.String(), Truncated: truncated}, nil
}
