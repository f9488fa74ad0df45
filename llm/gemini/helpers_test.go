package gemini_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/gemini"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines outlive every test:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to d for goroutines running Tessera code to
// end, and describes those that remain.
func leakedGoroutines(d time.Duration) string {
	deadline := time.Now().Add(d)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for g := range strings.SplitSeq(string(buf), "\n\n") {
			if strings.Contains(g, "TestMain") || strings.Contains(g, "leakedGoroutines") {
				continue
			}
			if strings.Contains(g, "tessera-run/tessera/") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const testKey = "AIzaTestKey-0123456789"

// received is one request a fake server got.
type received struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Body         map[string]any
	Raw          []byte
	ctx          context.Context
}

// fake is an httptest server speaking the Gemini REST API: it records each
// request, then answers it with handle.
type fake struct {
	URL     string
	mu      sync.Mutex
	reqs    []*received
	arrived chan *received
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *received)) *fake {
	t.Helper()
	f := &fake{arrived: make(chan *received, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		rec := &received{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Raw: data, ctx: r.Context()}
		if err := json.Unmarshal(data, &rec.Body); err != nil {
			t.Errorf("request body is not JSON: %v: %s", err, data)
		}
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		f.mu.Unlock()
		f.arrived <- rec
		handle(w, rec)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// requests returns the requests received so far.
func (f *fake) requests() []*received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*received(nil), f.reqs...)
}

func (f *fake) only(t *testing.T) *received {
	t.Helper()
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// replying answers every request with body: JSON for generateContent,
// and for streamGenerateContent the same body as the one SSE event.
func replying(body string) func(http.ResponseWriter, *received) {
	return func(w http.ResponseWriter, r *received) {
		if strings.HasSuffix(r.Path, ":streamGenerateContent") {
			writeSSE(w, compact(body))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = io.WriteString(w, body)
	}
}

// streaming answers every request with the events, as Gemini streams.
func streaming(events ...string) func(http.ResponseWriter, *received) {
	return func(w http.ResponseWriter, _ *received) { writeSSE(w, events...) }
}

// failing answers every request with an error status and a Google error
// body, plus the headers given as name, value pairs.
func failing(status int, body string, header ...string) func(http.ResponseWriter, *received) {
	return func(w http.ResponseWriter, _ *received) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// blocking answers nothing until the client goes away.
func blocking(w http.ResponseWriter, r *received) { <-r.ctx.Done() }

// writeSSE writes events the way Gemini does (alt=sse), and flushes.
func writeSSE(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		_, _ = io.WriteString(w, "data: "+e+"\r\n\r\n")
	}
	w.(http.Flusher).Flush()
}

// compact puts a JSON body on one line, as an SSE event needs.
func compact(s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		panic(err)
	}
	return b.String()
}

// textResponse is a GenerateContentResponse of one text candidate.
func textResponse(text, finish string) string {
	return fmt.Sprintf(`{"candidates":[{"content":{"parts":[{"text":%q}],"role":"model"},"finishReason":%q,"index":0}],
"modelVersion":"gemini-test-001","responseId":"r1"}`, text, finish)
}

func newProvider(t *testing.T, cfg gemini.Config) *gemini.Provider {
	t.Helper()
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	p, err := gemini.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func userRequest(content string) *llm.Request {
	return &llm.Request{Model: "gemini-test", Messages: []llm.Message{{Role: llm.RoleUser, Content: content}}}
}

// generate calls p, streaming when asked, and returns the deltas seen.
func generate(ctx context.Context, p *gemini.Provider, req *llm.Request, streaming bool) (*llm.Response, []string, error) {
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

var errStop = errors.New("stop")
