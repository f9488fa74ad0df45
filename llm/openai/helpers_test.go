package openai_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/openai"
)

func newProvider(t *testing.T, cfg openai.Config) *openai.Provider {
	t.Helper()
	p, err := openai.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// rawServer serves h, for checks of the exact wire format.
func rawServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func userRequest(content string) *llm.Request {
	return &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: content}}}
}

// generate calls p, streaming when asked, and returns the deltas seen.
func generate(ctx context.Context, p *openai.Provider, req *llm.Request, streaming bool) (*llm.Response, []string, error) {
	if !streaming {
		resp, err := p.Generate(ctx, req, nil)
		return resp, nil, err
	}
	var deltas []string
	resp, err := p.Generate(ctx, req, func(d string) error {
		deltas = append(deltas, d)
		return nil
	})
	return resp, deltas, err
}

func asLLMError(t *testing.T, err error) *llm.Error {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	e, ok := llm.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *llm.Error", err, err)
	}
	return e
}

func wantKind(t *testing.T, err error, kind string) *llm.Error {
	t.Helper()
	e := asLLMError(t, err)
	if e.Kind != kind {
		t.Fatalf("kind = %q, want %q (error: %v)", e.Kind, kind, err)
	}
	return e
}

func writeSSE(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		_, _ = w.Write([]byte("data: " + e + "\n\n"))
	}
	w.(http.Flusher).Flush()
}

var errStop = errors.New("stop")
