package openai_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/openai"
)

const okCompletion = `{"id":"c1","object":"chat.completion","created":1,"model":"m-2024",
"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop","logprobs":null}],
"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`

// capture records the bodies and headers a raw server receives.
type capture struct {
	mu      sync.Mutex
	bodies  []map[string]any
	raws    [][]byte
	headers []http.Header
	paths   []string
	queries []url.Values
}

func (c *capture) record(t *testing.T, r *http.Request) {
	t.Helper()
	data, _ := io.ReadAll(r.Body)
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Errorf("request body is not JSON: %v: %s", err, data)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bodies = append(c.bodies, body)
	c.raws = append(c.raws, data)
	c.headers = append(c.headers, r.Header.Clone())
	c.paths = append(c.paths, r.URL.Path)
	c.queries = append(c.queries, r.URL.Query())
}

func (c *capture) only(t *testing.T) (map[string]any, http.Header, string) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bodies) != 1 {
		t.Fatalf("server got %d requests, want 1", len(c.bodies))
	}
	return c.bodies[0], c.headers[0], c.paths[0]
}

func completionServer(t *testing.T, c *capture) string {
	t.Helper()
	srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		c.record(t, r)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, okCompletion)
	})
	return srv.URL + "/v1"
}

func TestRequestWire(t *testing.T) {
	t.Parallel()
	var c capture
	p := newProvider(t, openai.Config{APIKey: "sk-test", BaseURL: completionServer(t, &c)})
	temp := 0.3
	req := &llm.Request{
		Model: "gpt-x",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "be brief"},
			{Role: llm.RoleUser, Content: "hello"},
			{Role: llm.RoleAssistant, Content: "hi"},
			{Role: llm.RoleUser, Content: "again"},
		},
		Temperature: &temp,
		MaxTokens:   50,
	}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	body, header, path := c.only(t)
	if path != "/v1/chat/completions" {
		t.Errorf("path = %q", path)
	}
	if got := header.Get("Authorization"); got != "Bearer sk-test" {
		t.Errorf("Authorization = %q", got)
	}
	want := map[string]any{
		"model": "gpt-x",
		"messages": []any{
			map[string]any{"role": "system", "content": "be brief"},
			map[string]any{"role": "user", "content": "hello"},
			map[string]any{"role": "assistant", "content": "hi"},
			map[string]any{"role": "user", "content": "again"},
		},
		"temperature": 0.3,
		"max_tokens":  50.0,
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body =\n%v\nwant\n%v", body, want)
	}
}

func TestRequestWireOmitsDefaults(t *testing.T) {
	t.Parallel()
	var c capture
	p := newProvider(t, openai.Config{BaseURL: completionServer(t, &c)})
	if _, err := p.Generate(context.Background(), userRequest("x"), nil); err != nil {
		t.Fatal(err)
	}
	body, _, _ := c.only(t)
	for _, key := range []string{"temperature", "max_tokens", "max_completion_tokens", "stream", "stream_options",
		"tools", "tool_choice", "parallel_tool_calls", "response_format"} {
		if v, ok := body[key]; ok {
			t.Errorf("body has %s = %v, want it absent", key, v)
		}
	}
}

func TestRequestWireOutputSchema(t *testing.T) {
	t.Parallel()
	var c capture
	p := newProvider(t, openai.Config{BaseURL: completionServer(t, &c)})
	req := userRequest("x")
	req.OutputSchema = json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer"}}}`)
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	body, _, _ := c.only(t)
	want := map[string]any{"type": "json_schema", "json_schema": map[string]any{
		"name": "output", "schema": map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "integer"}}},
	}}
	if !reflect.DeepEqual(body["response_format"], want) {
		t.Errorf("response_format = %v, want %v", body["response_format"], want)
	}

	req.OutputSchema = json.RawMessage(`[1]`)
	if _, err := p.Generate(context.Background(), req, nil); err == nil {
		t.Error("a schema that is not an object was sent")
	}
}

func TestRequestWireZeroTemperature(t *testing.T) {
	t.Parallel()
	var c capture
	p := newProvider(t, openai.Config{BaseURL: completionServer(t, &c)})
	req := userRequest("x")
	zero := 0.0
	req.Temperature = &zero
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	body, _, _ := c.only(t)
	if v, ok := body["temperature"]; !ok || v != 0.0 {
		t.Errorf("temperature = %v (present %v), want 0", v, ok)
	}
}

func TestStreamRequestWire(t *testing.T) {
	t.Parallel()
	var c capture
	srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		c.record(t, r)
		writeSSE(w,
			`{"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}`,
			"[DONE]")
	})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	if _, _, err := generate(context.Background(), p, userRequest("x"), true); err != nil {
		t.Fatal(err)
	}
	body, header, path := c.only(t)
	if path != "/chat/completions" {
		t.Errorf("path = %q", path)
	}
	if body["stream"] != true {
		t.Errorf("stream = %v, want true", body["stream"])
	}
	if opts, _ := body["stream_options"].(map[string]any); opts["include_usage"] != true {
		t.Errorf("stream_options = %v, want include_usage true", body["stream_options"])
	}
	if got := header.Get("Authorization"); got != "" {
		t.Errorf("Authorization = %q with no API key, want none", got)
	}
}

func TestNoChoicesIsInvalid(t *testing.T) {
	t.Parallel()
	srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","model":"m","choices":[]}`)
	})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, err := p.Generate(context.Background(), userRequest("x"), nil)
	e := wantKind(t, err, llm.ErrKindInvalid)
	if e.Message != "the response has no choices" || e.StatusCode != http.StatusOK {
		t.Errorf("error = %+v", e)
	}
}

func TestStreamNoChoicesIsInvalid(t *testing.T) {
	t.Parallel()
	srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, `{"id":"s","object":"chat.completion.chunk","model":"m","choices":[]}`, "[DONE]")
	})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	_, _, err := generate(context.Background(), p, userRequest("x"), true)
	wantKind(t, err, llm.ErrKindInvalid)
}
