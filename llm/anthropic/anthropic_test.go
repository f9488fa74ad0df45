package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/anthropic"
)

func TestNew(t *testing.T) {
	t.Parallel()
	p := newProvider(t, anthropic.Config{MaxRetries: 3})
	if p.Name() != "anthropic" || p.MaxRetries() != 3 {
		t.Errorf("Name, MaxRetries = %q, %d", p.Name(), p.MaxRetries())
	}
	if p := newProvider(t, anthropic.Config{Name: "claude-proxy"}); p.Name() != "claude-proxy" {
		t.Errorf("Name = %q", p.Name())
	}
	for _, cfg := range []anthropic.Config{
		{BaseURL: "api.anthropic.com"},
		{BaseURL: "ftp://host/"},
		{Timeout: -1},
		{MaxRetries: -1},
		{MaxTokens: -1},
	} {
		if _, err := anthropic.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, message(textBlock("Hello")+","+textBlock(" there."), "end_turn",
		`{"input_tokens":12,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":6,
		  "output_tokens_details":{"thinking_tokens":2},"service_tier":"standard"}`)))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL, APIKey: "k"})
	resp, err := p.Generate(context.Background(), userRequest("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Response{Content: "Hello there.", FinishReason: "stop", Model: "claude-test-1",
		Usage: llm.Usage{InputTokens: 1112, OutputTokens: 6, CachedInputTokens: 1000, ReasoningTokens: 2}}
	if !reflect.DeepEqual(*resp, want) {
		t.Errorf("response = %+v, want %+v", *resp, want)
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	f := newFake(t, streaming(
		messageStart(`{"input_tokens":25,"cache_creation_input_tokens":7,"cache_read_input_tokens":300,"output_tokens":1}`),
		textStart(0), ping,
		textDelta(0, "Hel"), textDelta(0, "lo"), ping, textDelta(0, ", "), textDelta(0, "world"),
		blockStop(0),
		messageDelta("max_tokens", 4),
		messageStop,
	))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	resp, deltas, err := generate(context.Background(), p, userRequest("hi"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deltas, "|"); got != "Hel|lo|, |world" {
		t.Errorf("deltas = %q", got)
	}
	want := llm.Response{Content: "Hello, world", FinishReason: "length", Model: "claude-test-1",
		Usage: llm.Usage{InputTokens: 332, OutputTokens: 4, CachedInputTokens: 300}}
	if !reflect.DeepEqual(*resp, want) {
		t.Errorf("response = %+v, want %+v", *resp, want)
	}
}

func TestFinishReasons(t *testing.T) {
	t.Parallel()
	for stop, want := range map[string]string{
		"end_turn":                      "stop",
		"stop_sequence":                 "stop",
		"tool_use":                      "tool_calls",
		"max_tokens":                    "length",
		"model_context_window_exceeded": "length",
		"refusal":                       "content_filter",
		"pause_turn":                    "pause_turn",
	} {
		for _, streamed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", stop, streamed), func(t *testing.T) {
				t.Parallel()
				f := newFake(t, replying(200, message(textBlock("x"), stop, smallUsage)))
				if streamed {
					f = newFake(t, streaming(messageStart(smallUsage), textStart(0), textDelta(0, "x"), blockStop(0),
						messageDelta(stop, 1), messageStop))
				}
				p := newProvider(t, anthropic.Config{BaseURL: f.URL})
				resp, _, err := generate(context.Background(), p, userRequest("x"), streamed)
				if err != nil {
					t.Fatal(err)
				}
				if resp.FinishReason != want {
					t.Errorf("finish reason = %q, want %q", resp.FinishReason, want)
				}
			})
		}
	}
}

func TestStreamFuncErrorAborts(t *testing.T) {
	t.Parallel()
	f := newFake(t, streaming(textStream("one", " two", " three")...))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
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

func TestInvalidRequestIsNotSent(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, message(textBlock("x"), "end_turn", smallUsage)))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	for _, req := range []*llm.Request{
		nil,
		{Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}},
		{Model: "m", Messages: []llm.Message{{Role: "function", Content: "x"}}},
		{Model: "m"},
		{Model: "m", Messages: []llm.Message{{Role: llm.RoleSystem, Content: "only a system prompt"}}},
		{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: " \n"}}},
	} {
		_, err := p.Generate(context.Background(), req, nil)
		if e := wantKind(t, err, llm.ErrKindInvalid); e.StatusCode != 0 || e.Retryable() {
			t.Errorf("error = %+v", e)
		}
	}
	if n := f.count(); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Stream bool }
		_ = json.NewDecoder(r.Body).Decode(&body)
		if body.Stream {
			writeSSE(w, textStream("ok")...)
			return
		}
		replying(200, message(textBlock("ok"), "end_turn", smallUsage))(w, r)
	})
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			resp, _, err := generate(context.Background(), p, userRequest(fmt.Sprintf("n%d", i)), i%2 == 0)
			if err != nil || resp.Content != "ok" {
				t.Errorf("call %d: %v, %+v", i, err, resp)
			}
		})
	}
	wg.Wait()
	if n := f.count(); n != 8 {
		t.Errorf("server got %d requests", n)
	}
}

// TestIgnoresEnvironment checks that the SDK's ANTHROPIC_* variables do not
// leak in: the configuration is the Config alone. Not parallel, because it
// sets the environment.
func TestIgnoresEnvironment(t *testing.T) {
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-from-env")
	t.Setenv("ANTHROPIC_AUTH_TOKEN", "token-from-env")
	t.Setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1/")
	t.Setenv("ANTHROPIC_CUSTOM_HEADERS", "X-From-Env: 1")
	t.Setenv("ANTHROPIC_PROFILE", "nonexistent")
	f := newFake(t, replying(200, message(textBlock("x"), "end_turn", smallUsage)))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	if _, err := p.Generate(context.Background(), userRequest("hi"), nil); err != nil {
		t.Fatal(err)
	}
	h := f.only(t).header
	if h.Get("Authorization") != "" || h.Get("X-Api-Key") != "" || h.Get("X-From-Env") != "" {
		t.Errorf("environment leaked into the request: %v", h)
	}
}
