package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultUserAgent is sent when no WithUserAgent option is given.
const DefaultUserAgent = "tessera-go-client"

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// Client calls one Tessera server with one API key. Its services group the
// calls by resource; the zero value is not usable, use New.
type Client struct {
	Agents     *AgentsService
	Executions *ExecutionsService
	Keys       *KeysService
	Models     *ModelsService

	base      string
	key       string
	hc        *http.Client
	userAgent string
	workspace int64
	trigger   string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (its transport, timeouts, proxies).
// A Timeout on it also bounds event streams, so leave it at zero when you
// follow executions and use contexts instead. The default is
// http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// WithWorkspace acts in workspace id (the x-workspace-id header) instead of
// the key's default workspace.
func WithWorkspace(id int64) Option {
	return func(c *Client) { c.workspace = id }
}

// WithTrigger sets the trigger type the executions this client starts
// record (the Tessera-Trigger header): "manual" for a person at a console
// or a terminal; the server's default is "api".
func WithTrigger(trigger string) Option {
	return func(c *Client) { c.trigger = trigger }
}

// New returns a client of the server at baseURL (for example
// "http://127.0.0.1:8080", or a URL with a path prefix when a proxy mounts
// the server under one) acting with apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), key: apiKey, hc: http.DefaultClient, userAgent: DefaultUserAgent}
	for _, o := range opts {
		o(c)
	}
	c.Agents = &AgentsService{c: c}
	c.Executions = &ExecutionsService{c: c}
	c.Keys = &KeysService{c: c}
	c.Models = &ModelsService{c: c}
	return c
}

// BaseURL returns the server's URL as given to New, without a trailing
// slash.
func (c *Client) BaseURL() string { return c.base }

// request is one API call.
type request struct {
	method string
	path   string
	query  url.Values
	body   any // JSON-encoded when not nil
	header http.Header
}

// newRequest builds an authenticated HTTP request.
func (c *Client) newRequest(ctx context.Context, r *request) (*http.Request, error) {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.workspace > 0 {
		req.Header.Set("X-Workspace-Id", strconv.FormatInt(c.workspace, 10))
	}
	if c.trigger != "" {
		req.Header.Set("Tessera-Trigger", c.trigger)
	}
	return req, nil
}

// send performs r and returns the response when its status is 2xx; any
// other status is an *Error. The caller closes the body.
func (c *Client) send(ctx context.Context, r *request) (*http.Response, error) {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, err // a *url.Error: the server could not be reached
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		defer res.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		return nil, parseError(res, body)
	}
	return res, nil
}

// do performs r and decodes a JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, r *request, out any) error {
	res, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil || res.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the answer to %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// pathf formats a path, escaping string arguments.
func pathf(format string, args ...any) string {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = url.PathEscape(s)
		}
	}
	return fmt.Sprintf(format, args...)
}
