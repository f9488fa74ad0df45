package gemini_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/gemini"
)

func okServer(t *testing.T) *fake {
	t.Helper()
	return newFake(t, replying(textResponse("ok", "STOP")))
}

func text(s string) any { return map[string]any{"text": s} }

func TestRequestWire(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	temp := 0.25
	req := &llm.Request{
		Model: "gemini-2.5-flash",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "be brief"},
			{Role: llm.RoleUser, Content: "hello"},
			{Role: llm.RoleAssistant, Content: "hi"},
			{Role: llm.RoleSystem, Content: "answer in French"},
			{Role: llm.RoleUser, Content: "again"},
		},
		Temperature: &temp,
		MaxTokens:   50,
	}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	if r.Path != "/v1beta/models/gemini-2.5-flash:generateContent" {
		t.Errorf("path = %q", r.Path)
	}
	if got := r.Header.Get("X-Goog-Api-Key"); got != testKey {
		t.Errorf("x-goog-api-key = %q", got)
	}
	if len(r.Query) != 0 {
		t.Errorf("query = %v, want none (the key goes in a header)", r.Query)
	}
	want := map[string]any{
		"systemInstruction": map[string]any{"role": "user", "parts": []any{text("be brief"), text("answer in French")}},
		"contents": []any{
			map[string]any{"role": "user", "parts": []any{text("hello")}},
			map[string]any{"role": "model", "parts": []any{text("hi")}},
			map[string]any{"role": "user", "parts": []any{text("again")}},
		},
		"generationConfig": map[string]any{"temperature": 0.25, "maxOutputTokens": 50.0},
	}
	if !reflect.DeepEqual(r.Body, want) {
		t.Errorf("body =\n%v\nwant\n%v", r.Body, want)
	}
}

func TestRequestWireOmitsDefaults(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	if _, err := p.Generate(context.Background(), userRequest("x"), nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"contents":         []any{map[string]any{"role": "user", "parts": []any{text("x")}}},
		"generationConfig": map[string]any{},
	}
	if r := f.only(t); !reflect.DeepEqual(r.Body, want) {
		t.Errorf("body = %v, want %v", r.Body, want)
	}
}

func TestRequestWireZeroTemperature(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	req := userRequest("x")
	zero := 0.0
	req.Temperature = &zero
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	config, _ := f.only(t).Body["generationConfig"].(map[string]any)
	if v, ok := config["temperature"]; !ok || v != 0.0 {
		t.Errorf("temperature = %v (present %v), want 0", v, ok)
	}
}

func TestRequestWireOutputSchema(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	req := userRequest("x")
	req.OutputSchema = json.RawMessage(`{"type": "object", "properties": {"title": {"type": "string"}, "author": {"type": "string"}}}`)
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	want := map[string]any{"responseMimeType": "application/json", "responseJsonSchema": map[string]any{
		"type": "object", "properties": map[string]any{"title": map[string]any{"type": "string"}, "author": map[string]any{"type": "string"}},
	}}
	if !reflect.DeepEqual(r.Body["generationConfig"], want) {
		t.Errorf("generationConfig = %v, want %v", r.Body["generationConfig"], want)
	}
	// Gemini answers with the keys in the schema's order: it is kept.
	const raw = `"responseJsonSchema":{"type":"object","properties":{"title":{"type":"string"},"author":{"type":"string"}}}`
	if !strings.Contains(string(r.Raw), raw) {
		t.Errorf("raw body %s does not contain %s", r.Raw, raw)
	}

	req.OutputSchema = json.RawMessage(`[1]`)
	if _, err := p.Generate(context.Background(), req, nil); err == nil {
		t.Error("a schema that is not an object was sent")
	}
}

func TestRequestWireImages(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "what is this?", Images: []llm.Image{
		{MIMEType: "image/png", Data: []byte("\x89PNG")},
		{URL: "https://example.com/cat.jpg", MIMEType: "image/jpeg"},
		{URL: "https://example.com/dog"},
	}}}}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	want := []any{map[string]any{"role": "user", "parts": []any{
		map[string]any{"inlineData": map[string]any{"mimeType": "image/png", "data": "iVBORw=="}},
		map[string]any{"fileData": map[string]any{"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}},
		map[string]any{"fileData": map[string]any{"fileUri": "https://example.com/dog"}},
		text("what is this?"),
	}}}
	if got := f.only(t).Body["contents"]; !reflect.DeepEqual(got, want) {
		t.Errorf("contents =\n%v\nwant\n%v", got, want)
	}
}

func TestInvalidImagesAreNotSent(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	for name, m := range map[string]llm.Message{
		"data and URL":   {Role: llm.RoleUser, Images: []llm.Image{{MIMEType: "image/png", Data: []byte{1}, URL: "https://x/y"}}},
		"neither":        {Role: llm.RoleUser, Images: []llm.Image{{MIMEType: "image/png"}}},
		"no MIME type":   {Role: llm.RoleUser, Images: []llm.Image{{Data: []byte{1}}}},
		"from assistant": {Role: llm.RoleAssistant, Content: "x", Images: []llm.Image{{URL: "https://x/y"}}},
	} {
		_, err := p.Generate(context.Background(), &llm.Request{Model: "m", Messages: []llm.Message{m}}, nil)
		if e := asLLMError(t, err); e.Kind != llm.ErrKindInvalid {
			t.Errorf("%s: error %+v, want invalid", name, e)
		}
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}
