package gemini_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/gemini"
)

func TestNew(t *testing.T) {
	t.Parallel()
	p := newProvider(t, gemini.Config{MaxRetries: 3})
	if p.Name() != "gemini" || p.MaxRetries() != 3 {
		t.Errorf("Name, MaxRetries = %q, %d", p.Name(), p.MaxRetries())
	}
	if p := newProvider(t, gemini.Config{Name: "google"}); p.Name() != "google" {
		t.Errorf("Name = %q", p.Name())
	}
	for _, cfg := range []gemini.Config{
		{},
		{APIKey: testKey, BaseURL: "localhost:8080"},
		{APIKey: testKey, BaseURL: "ftp://host/"},
		{APIKey: testKey, Timeout: -1},
		{APIKey: testKey, MaxRetries: -1},
	} {
		_, err := gemini.New(cfg)
		if err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), testKey) {
			t.Errorf("the key leaks into %q", err)
		}
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(`{
  "candidates": [{
    "content": {"parts": [{"text": "Let me think.", "thought": true}, {"text": "hello "}, {"text": "there"}], "role": "model"},
    "finishReason": "STOP", "index": 0
  }],
  "usageMetadata": {"promptTokenCount": 12, "candidatesTokenCount": 2, "totalTokenCount": 19,
    "cachedContentTokenCount": 8, "thoughtsTokenCount": 5,
    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]},
  "modelVersion": "gemini-2.5-flash", "responseId": "abc"
}`))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	resp, err := p.Generate(context.Background(), userRequest("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Response{Content: "hello there", FinishReason: "stop", Model: "gemini-2.5-flash",
		Usage: llm.Usage{InputTokens: 12, OutputTokens: 7, CachedInputTokens: 8, ReasoningTokens: 5}}
	if !reflect.DeepEqual(*resp, want) {
		t.Errorf("response = %+v, want %+v", *resp, want)
	}
	if r := f.only(t); r.Method != http.MethodPost || r.Path != "/v1beta/models/gemini-test:generateContent" {
		t.Errorf("request = %s %s", r.Method, r.Path)
	}
}

func TestFinishReasons(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
		"PROHIBITED_CONTENT": "content_filter", "MALFORMED_FUNCTION_CALL": "malformed_function_call", "OTHER": "other",
	}
	for reason, want := range cases {
		f := newFake(t, replying(textResponse("x", reason)))
		p := newProvider(t, gemini.Config{BaseURL: f.URL})
		resp, err := p.Generate(context.Background(), userRequest("hi"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.FinishReason != want {
			t.Errorf("%s: FinishReason = %q, want %q", reason, resp.FinishReason, want)
		}
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	f := newFake(t, streaming(
		`{"candidates":[{"content":{"parts":[{"text":"Planning…","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"totalTokenCount":5},"modelVersion":"gemini-2.5-pro"}`,
		`{"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":1,"totalTokenCount":6},"modelVersion":"gemini-2.5-pro"}`,
		`{"candidates":[{"content":{"parts":[{"text":"lo"},{"text":", "}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-pro"}`,
		`{"candidates":[{"content":{"parts":[{"text":"world"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],
"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":4,"cachedContentTokenCount":2,"thoughtsTokenCount":3,"totalTokenCount":12},"modelVersion":"gemini-2.5-pro"}`,
	))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	resp, deltas, err := generate(context.Background(), p, userRequest("hi"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deltas, "|"); got != "Hel|lo|, |world" {
		t.Errorf("deltas = %q", got)
	}
	want := llm.Response{Content: "Hello, world", FinishReason: "length", Model: "gemini-2.5-pro",
		Usage: llm.Usage{InputTokens: 5, OutputTokens: 7, CachedInputTokens: 2, ReasoningTokens: 3}}
	if !reflect.DeepEqual(*resp, want) {
		t.Errorf("response = %+v, want %+v", *resp, want)
	}
	r := f.only(t)
	if r.Path != "/v1beta/models/gemini-test:streamGenerateContent" || r.Query.Get("alt") != "sse" {
		t.Errorf("request = %s ?%v", r.Path, r.Query)
	}
}

func TestStreamWithoutUsage(t *testing.T) {
	t.Parallel()
	f := newFake(t, streaming(`{"candidates":[{"content":{"parts":[{"text":"a b"}],"role":"model"},"finishReason":"STOP"}]}`))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	resp, _, err := generate(context.Background(), p, userRequest("hi"), true)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != "a b" || resp.Usage != (llm.Usage{}) || resp.Model != "gemini-test" {
		t.Errorf("response = %+v, want content %q, zero usage and the request's model", resp, "a b")
	}
}

func TestStreamFuncErrorAborts(t *testing.T) {
	t.Parallel()
	f := newFake(t, streaming(
		`{"candidates":[{"content":{"parts":[{"text":"one"}],"role":"model"}}]}`,
		`{"candidates":[{"content":{"parts":[{"text":" two"}],"role":"model"}}]}`,
		`{"candidates":[{"content":{"parts":[{"text":" three"}],"role":"model"},"finishReason":"STOP"}]}`,
	))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	calls := 0
	_, err := p.Generate(context.Background(), userRequest("hi"), func(string) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("err = %v after %d calls, want errStop after 1", err, calls)
	}
	if _, ok := llm.AsError(err); ok {
		t.Errorf("the stream func's error was wrapped as *llm.Error: %v", err)
	}
}

func TestStreamEndsEarly(t *testing.T) {
	t.Parallel()
	// A clean end of body before any finish reason.
	f := newFake(t, streaming(`{"candidates":[{"content":{"parts":[{"text":"par"}],"role":"model"}}]}`))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	_, deltas, err := generate(context.Background(), p, userRequest("x"), true)
	wantKind(t, err, llm.ErrKindUnavailable)
	if strings.Join(deltas, "") != "par" {
		t.Errorf("deltas = %q", deltas)
	}
}

func TestPromptBlocked(t *testing.T) {
	t.Parallel()
	const blocked = `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},
"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7},"modelVersion":"gemini-test-001"}`
	for _, streaming := range []bool{false, true} {
		f := newFake(t, replying(blocked))
		p := newProvider(t, gemini.Config{BaseURL: f.URL})
		_, _, err := generate(context.Background(), p, userRequest("x"), streaming)
		e := wantKind(t, err, llm.ErrKindInvalid)
		if e.Message != "the prompt was blocked: SAFETY" {
			t.Errorf("stream=%v: message = %q", streaming, e.Message)
		}
	}
}

func TestNoCandidatesIsInvalid(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(`{"modelVersion":"gemini-test-001"}`))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	_, err := p.Generate(context.Background(), userRequest("x"), nil)
	e := wantKind(t, err, llm.ErrKindInvalid)
	if e.Message != "the response has no candidates" || e.StatusCode != http.StatusOK {
		t.Errorf("error = %+v", e)
	}
}

func TestInvalidRequestIsNotSent(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(textResponse("x", "STOP")))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	for _, req := range []*llm.Request{
		nil,
		{Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}},
		{Model: "../files", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}},
		{Model: "m?key=1", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}},
		{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser}}},
		{Model: "m", Messages: []llm.Message{{Role: "tool", Content: "x"}}},
	} {
		_, err := p.Generate(context.Background(), req, nil)
		wantKind(t, err, llm.ErrKindInvalid)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *received) {
		contents := r.Body["contents"].([]any)
		text := contents[0].(map[string]any)["parts"].([]any)[0].(map[string]any)["text"].(string)
		replying(textResponse("echo: "+text, "STOP"))(w, r)
	})
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			msg := fmt.Sprintf("n%d", i)
			resp, _, err := generate(context.Background(), p, userRequest(msg), i%2 == 0)
			if err != nil || resp.Content != "echo: "+msg {
				t.Errorf("call %d: %v, %+v", i, err, resp)
			}
		})
	}
	wg.Wait()
	if n := len(f.requests()); n != 8 {
		t.Errorf("server got %d requests", n)
	}
}

// TestIgnoresEnvironment checks that the SDK's environment variables do
// not leak in: neither another key, nor another server, nor Vertex AI.
// Not parallel, because it sets the environment.
func TestIgnoresEnvironment(t *testing.T) {
	t.Setenv("GEMINI_API_KEY", "AIza-from-env")
	t.Setenv("GOOGLE_GEMINI_BASE_URL", "http://127.0.0.1:1/")
	t.Setenv("GOOGLE_GENAI_USE_VERTEXAI", "true")
	t.Setenv("GOOGLE_CLOUD_PROJECT", "env-project")
	t.Setenv("GOOGLE_CLOUD_LOCATION", "us-central1")
	f := newFake(t, replying(textResponse("ok", "STOP")))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	if _, err := p.Generate(context.Background(), userRequest("hi"), nil); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	if got := r.Header.Get("X-Goog-Api-Key"); got != testKey || r.Path != "/v1beta/models/gemini-test:generateContent" {
		t.Errorf("the environment leaked into the request: key %q, path %q", got, r.Path)
	}
}

// TestHTTPClientIsNotModified checks that the caller's client is copied,
// not wrapped in place.
func TestHTTPClientIsNotModified(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(textResponse("ok", "STOP")))
	hc := &http.Client{}
	p := newProvider(t, gemini.Config{BaseURL: f.URL, HTTPClient: hc})
	if _, err := p.Generate(context.Background(), userRequest("hi"), nil); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != nil {
		t.Errorf("the client's transport was replaced by %T", hc.Transport)
	}
}

// TestNoAutomaticContinuation checks that a response the API stopped with
// a continuation token is returned as is: the SDK would otherwise send
// the request again by itself.
func TestNoAutomaticContinuation(t *testing.T) {
	t.Parallel()
	const stopped = `{"candidates":[{"content":{"parts":[{"text":"part one"}],"role":"model"},
"finishReason":"CONTINUATION","continuationToken":"Y29udGludWU="}],"modelVersion":"gemini-test-001"}`
	for _, streaming := range []bool{false, true} {
		f := newFake(t, replying(stopped))
		p := newProvider(t, gemini.Config{BaseURL: f.URL})
		resp, _, err := generate(context.Background(), p, userRequest("x"), streaming)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Content != "part one" || resp.FinishReason != "continuation" {
			t.Errorf("stream=%v: response = %+v", streaming, resp)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("stream=%v: server got %d requests, want 1", streaming, n)
		}
	}
}
