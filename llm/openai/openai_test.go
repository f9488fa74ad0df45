package openai_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/llmtest"
	"github.com/tessera-run/tessera/llm/openai"
)

func replying(r llmtest.Reply) llmtest.Handler {
	return func(*llmtest.ChatRequest) llmtest.Reply { return r }
}

func TestNew(t *testing.T) {
	t.Parallel()
	p := newProvider(t, openai.Config{MaxRetries: 3})
	if p.Name() != "openai" || p.MaxRetries() != 3 {
		t.Errorf("Name, MaxRetries = %q, %d", p.Name(), p.MaxRetries())
	}
	if p := newProvider(t, openai.Config{Name: "ollama"}); p.Name() != "ollama" {
		t.Errorf("Name = %q", p.Name())
	}
	for _, cfg := range []openai.Config{
		{BaseURL: "localhost:11434"},
		{BaseURL: "ftp://host/v1"},
		{Timeout: -1},
		{MaxRetries: -1},
	} {
		if _, err := openai.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Content: "hello there", Model: "m-2024", PromptTokens: 12, CompletionTokens: 2, CachedTokens: 8,
	})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL + "/v1", APIKey: "k"})
	resp, err := p.Generate(context.Background(), userRequest("hi"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Response{Content: "hello there", FinishReason: "stop", Model: "m-2024",
		Usage: llm.Usage{InputTokens: 12, OutputTokens: 2, CachedInputTokens: 8}}
	if !reflect.DeepEqual(*resp, want) {
		t.Errorf("response = %+v, want %+v", *resp, want)
	}
}

func TestStream(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Chunks: []string{"Hel", "lo", ", ", "world"}, Content: "ignored", FinishReason: "length",
		PromptTokens: 5, CompletionTokens: 4, CachedTokens: 2,
	})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	resp, deltas, err := generate(context.Background(), p, userRequest("hi"), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deltas, "|"); got != "Hel|lo|, |world" {
		t.Errorf("deltas = %q", got)
	}
	want := llm.Response{Content: "Hello, world", FinishReason: "length", Model: "m",
		Usage: llm.Usage{InputTokens: 5, OutputTokens: 4, CachedInputTokens: 2}}
	if !reflect.DeepEqual(*resp, want) {
		t.Errorf("response = %+v, want %+v", *resp, want)
	}
}

func TestStreamWithoutUsage(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{Content: "a b", NoUsage: true})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	resp, _, err := generate(context.Background(), p, userRequest("hi"), true)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Content != "a b" || resp.Usage != (llm.Usage{}) {
		t.Errorf("response = %+v, want content %q and zero usage", resp, "a b")
	}
}

func TestStreamFuncErrorAborts(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{Content: "one two three"})})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
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

func TestAPIKeyHeader(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	for _, key := range []string{"", "sk-abc"} {
		p := newProvider(t, openai.Config{BaseURL: srv.URL, APIKey: key})
		resp, err := p.Generate(context.Background(), userRequest("hi"), nil)
		if err != nil {
			t.Fatalf("key %q: %v", key, err)
		}
		if resp.Content != "fake: hi" {
			t.Errorf("content = %q", resp.Content)
		}
	}
	reqs := srv.Requests()
	if got := reqs[0].Header.Values("Authorization"); len(got) != 0 {
		t.Errorf("empty key sent Authorization %q", got)
	}
	if got := reqs[1].Header.Get("Authorization"); got != "Bearer sk-abc" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestInvalidRequestIsNotSent(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	for _, req := range []*llm.Request{
		nil,
		{Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}}},
		{Model: "m", Messages: []llm.Message{{Role: "tool", Content: "x"}}},
	} {
		_, err := p.Generate(context.Background(), req, nil)
		wantKind(t, err, llm.ErrKindInvalid)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			msg := fmt.Sprintf("n%d", i)
			resp, _, err := generate(context.Background(), p, userRequest(msg), i%2 == 0)
			if err != nil || resp.Content != "fake: "+msg {
				t.Errorf("call %d: %v, %+v", i, err, resp)
			}
		})
	}
	wg.Wait()
	if n := len(srv.Requests()); n != 8 {
		t.Errorf("server got %d requests", n)
	}
}

// TestIgnoresEnvironment checks that the SDK's OPENAI_* variables do not
// leak in: a key meant for OpenAI must never reach a local server. Not
// parallel, because it sets the environment.
func TestIgnoresEnvironment(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_ADMIN_KEY", "sk-admin-from-env")
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1")
	t.Setenv("OPENAI_CUSTOM_HEADERS", "X-From-Env: 1")
	srv := llmtest.NewTest(t, llmtest.Config{})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	if _, err := p.Generate(context.Background(), userRequest("hi"), nil); err != nil {
		t.Fatal(err)
	}
	h := srv.Requests()[0].Header
	if h.Get("Authorization") != "" || h.Get("X-From-Env") != "" {
		t.Errorf("environment leaked into the request: %v", h)
	}
}
