package anthropic_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/anthropic"
)

var okMessage = message(textBlock("hi"), "end_turn", smallUsage)

func TestRequestWire(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{APIKey: "sk-ant-test", BaseURL: f.URL})
	temp := 0.3
	req := &llm.Request{
		Model: "claude-test-1",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "Be brief."},
			{Role: llm.RoleUser, Content: "hello"},
			{Role: llm.RoleSystem, Content: "Answer in French."},
			{Role: llm.RoleAssistant, Content: "hi"},
			{Role: llm.RoleUser, Content: "again"},
		},
		Temperature: &temp,
		MaxTokens:   50,
	}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	if r.path != "/v1/messages" {
		t.Errorf("path = %q", r.path)
	}
	// API version 2026-10-21 takes the key as a bearer token, as the SDK
	// sends it, rather than in X-Api-Key.
	if got := r.header.Get("Authorization"); got != "Bearer sk-ant-test" {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.header.Get("Anthropic-Version"); got != "2026-10-21" {
		t.Errorf("anthropic-version = %q", got)
	}
	if got := r.header.Get("X-Api-Key"); got != "" {
		t.Errorf("X-Api-Key = %q, want none", got)
	}
	// The system messages go to the top-level system, and the temperature
	// nowhere: the API version refuses it.
	want := jsonOf(t, `{
		"model": "claude-test-1",
		"max_tokens": 50,
		"system": [{"type": "text", "text": "Be brief.\n\nAnswer in French."}],
		"messages": [
			{"role": "user", "content": [{"type": "text", "text": "hello"}]},
			{"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
			{"role": "user", "content": [{"type": "text", "text": "again"}]}
		]
	}`)
	if !reflect.DeepEqual(r.body, want) {
		t.Errorf("body =\n%v\nwant\n%v", r.body, want)
	}
}

func TestRequestWireDefaults(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	if _, err := p.Generate(context.Background(), userRequest("x"), nil); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	if r.body["max_tokens"] != 4096.0 {
		t.Errorf("max_tokens = %v, want the default 4096", r.body["max_tokens"])
	}
	for _, key := range []string{"system", "temperature", "top_p", "top_k", "stream", "tools", "tool_choice", "output_config", "thinking"} {
		if v, ok := r.body[key]; ok {
			t.Errorf("body has %s = %v, want it absent", key, v)
		}
	}
	if got := r.header.Values("Authorization"); len(got) != 0 {
		t.Errorf("no key sent Authorization %q", got)
	}
}

func TestRequestWireMaxTokens(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL, MaxTokens: 1000})
	for _, tc := range []struct{ req, want int }{{0, 1000}, {-5, 1000}, {64000, 64000}} {
		req := userRequest("x")
		req.MaxTokens = tc.req
		// 64000 unstreamed: the SDK would refuse it ("streaming is
		// required") without an explicit request timeout.
		if _, err := p.Generate(context.Background(), req, nil); err != nil {
			t.Fatalf("max tokens %d: %v", tc.req, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, want := range []float64{1000, 1000, 64000} {
		if got := f.reqs[i].body["max_tokens"]; got != want {
			t.Errorf("request %d: max_tokens = %v, want %v", i, got, want)
		}
	}
}

func TestRequestWireMergesTurns(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	req := &llm.Request{Model: "m", Messages: []llm.Message{
		{Role: llm.RoleUser, Content: "one"},
		{Role: llm.RoleUser, Content: "two"},
		{Role: llm.RoleAssistant, Content: ""}, // empty: left out
		{Role: llm.RoleUser, Content: "three"},
		{Role: llm.RoleAssistant, Content: "a"},
		{Role: llm.RoleSystem, Content: "  "},
		{Role: llm.RoleAssistant, Content: "b"},
	}}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	want := jsonOf(t, `[
		{"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}, {"type": "text", "text": "three"}]},
		{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
	]`)
	r := f.only(t)
	if !reflect.DeepEqual(r.body["messages"], want) {
		t.Errorf("messages =\n%v\nwant\n%v", r.body["messages"], want)
	}
	if _, ok := r.body["system"]; ok {
		t.Errorf("a blank system message was sent: %v", r.body["system"])
	}
}

func TestRequestWireImages(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "What is this?", Images: []llm.Image{
		{MIMEType: "image/jpg", Data: []byte("jpeg bytes")},
		{Data: png}, // no type: sniffed
		{URL: "https://example.com/cat.webp"},
	}}}}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	want := jsonOf(t, `[{"role": "user", "content": [
		{"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "anBlZyBieXRlcw=="}},
		{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUg=="}},
		{"type": "image", "source": {"type": "url", "url": "https://example.com/cat.webp"}},
		{"type": "text", "text": "What is this?"}
	]}]`)
	if got := f.only(t).body["messages"]; !reflect.DeepEqual(got, want) {
		t.Errorf("messages =\n%v\nwant\n%v", got, want)
	}
}

func TestInvalidImagesAreNotSent(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	cases := map[string]llm.Message{
		"unsupported type":  {Role: llm.RoleUser, Images: []llm.Image{{MIMEType: "image/tiff", Data: []byte("x")}}},
		"not an image":      {Role: llm.RoleUser, Images: []llm.Image{{Data: []byte("plain text")}}},
		"no data, no URL":   {Role: llm.RoleUser, Content: "x", Images: []llm.Image{{MIMEType: "image/png"}}},
		"on the assistant":  {Role: llm.RoleAssistant, Content: "x", Images: []llm.Image{{URL: "https://example.com/a.png"}}},
		"on a tool message": {Role: llm.RoleTool, ToolCallID: "c", Images: []llm.Image{{URL: "https://example.com/a.png"}}},
	}
	for name, m := range cases {
		_, err := p.Generate(context.Background(), &llm.Request{Model: "m", Messages: []llm.Message{m}}, nil)
		if e := asLLMError(t, err); e.Kind != llm.ErrKindInvalid || !strings.HasPrefix(e.Message, "message 0 has image") && !strings.Contains(e.Message, "images") {
			t.Errorf("%s: error %+v", name, e)
		}
	}
	if n := f.count(); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

func TestRequestWireOutputSchema(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, message(textBlock(`{"n":3}`), "end_turn", smallUsage)))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	req := userRequest("x")
	req.OutputSchema = json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","minimum":1}},"required":["n"]}`)
	resp, err := p.Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != `{"n":3}` {
		t.Errorf("content = %q", resp.Content)
	}
	// Closed with additionalProperties false, as structured outputs require;
	// the unsupported minimum is moved into the description.
	want := jsonOf(t, `{"format": {"type": "json_schema", "schema": {
		"type": "object",
		"properties": {"n": {"type": "integer", "description": "{minimum: 1}"}},
		"required": ["n"],
		"additionalProperties": false
	}}}`)
	if got := f.only(t).body["output_config"]; !reflect.DeepEqual(got, want) {
		t.Errorf("output_config =\n%v\nwant\n%v", got, want)
	}

	req.OutputSchema = json.RawMessage(`[1]`)
	_, err = p.Generate(context.Background(), req, nil)
	wantKind(t, err, llm.ErrKindInvalid)
	if n := f.count(); n != 1 {
		t.Errorf("server got %d requests, want the invalid schema not sent", n)
	}
}

// TestRequestWireOutputSchemaAsWritten checks that a schema the SDK's
// transformation cannot read (a type list) is sent as written.
func TestRequestWireOutputSchemaAsWritten(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	req := userRequest("x")
	const schema = `{"type":"object","properties":{"n":{"type":["integer","null"]}},"additionalProperties":false}`
	req.OutputSchema = json.RawMessage(schema)
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	want := jsonOf(t, `{"format": {"type": "json_schema", "schema": `+schema+`}}`)
	if got := f.only(t).body["output_config"]; !reflect.DeepEqual(got, want) {
		t.Errorf("output_config =\n%v\nwant\n%v", got, want)
	}
}

func TestStreamRequestWire(t *testing.T) {
	t.Parallel()
	f := newFake(t, streaming(textStream("ok")...))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL, APIKey: "sk-ant-test"})
	if _, _, err := generate(context.Background(), p, userRequest("x"), true); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	if r.path != "/v1/messages" || r.body["stream"] != true {
		t.Errorf("path %q, stream = %v, want /v1/messages and true", r.path, r.body["stream"])
	}
	if r.header.Get("Authorization") != "Bearer sk-ant-test" || r.header.Get("Anthropic-Version") != "2026-10-21" {
		t.Errorf("headers = %v", r.header)
	}
}

func TestBaseURLWithPath(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL + "/anthropic"})
	if _, err := p.Generate(context.Background(), userRequest("x"), nil); err != nil {
		t.Fatal(err)
	}
	if got := f.only(t).path; got != "/anthropic/v1/messages" {
		t.Errorf("path = %q", got)
	}
}
