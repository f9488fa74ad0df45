package anthropic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/anthropic"
)

func newProvider(t *testing.T, cfg anthropic.Config) *anthropic.Provider {
	t.Helper()
	p, err := anthropic.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// fake is a Messages API server: it records every request, tells when one
// arrives, and answers with h.
type fake struct {
	URL     string
	arrived chan *http.Request

	mu   sync.Mutex
	reqs []received
}

// received is one request the fake got.
type received struct {
	body   map[string]any
	raw    []byte
	header http.Header
	path   string
}

func newFake(t *testing.T, h http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{arrived: make(chan *http.Request, 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.record(t, r)
		select {
		case f.arrived <- r:
		default: // nobody is watching
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fake) record(t *testing.T, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(data)) // for h to read again
	var body map[string]any
	if err := json.Unmarshal(data, &body); err != nil {
		t.Errorf("request body is not JSON: %v: %s", err, data)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, received{body: body, raw: data, header: r.Header.Clone(), path: r.URL.Path})
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// only returns the one request the fake got.
func (f *fake) only(t *testing.T) received {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) != 1 {
		t.Fatalf("server got %d requests, want 1", len(f.reqs))
	}
	return f.reqs[0]
}

// replying answers every request with status and the JSON body.
func replying(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_011")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// streaming answers every request with the SSE events.
func streaming(events ...event) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeSSE(w, events...)
	}
}

// blocking holds every request until the client goes away.
func blocking(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// event is one server-sent event.
type event struct{ name, data string }

func writeSSE(w http.ResponseWriter, events ...event) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	for _, e := range events {
		_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
		w.(http.Flusher).Flush()
	}
}

// message is a whole Messages API answer.
func message(content, stopReason, usage string) string {
	return `{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-test-1",` +
		`"content":[` + content + `],"stop_reason":"` + stopReason + `","stop_sequence":null,"usage":` + usage + `}`
}

func textBlock(s string) string {
	b, _ := json.Marshal(s)
	return `{"type":"text","text":` + string(b) + `}`
}

const smallUsage = `{"input_tokens":3,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}`

// apiError is an Anthropic error body.
func apiError(typ, msg string) string {
	return `{"type":"error","error":{"type":"` + typ + `","message":"` + msg + `"},"request_id":"req_011"}`
}

// Stream events, as Anthropic sends them.

func messageStart(usage string) event {
	return event{"message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",` +
		`"model":"claude-test-1","content":[],"stop_reason":null,"stop_sequence":null,"usage":` + usage + `}}`}
}

func textStart(index int) event {
	return event{"content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"text","text":""}}`, index)}
}

func textDelta(index int, s string) event {
	b, _ := json.Marshal(s)
	return event{"content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"text_delta","text":%s}}`, index, b)}
}

func toolStart(index int, id, name string) event {
	return event{"content_block_start", fmt.Sprintf(
		`{"type":"content_block_start","index":%d,"content_block":{"type":"tool_use","id":%q,"name":%q,"input":{}}}`, index, id, name)}
}

func jsonDelta(index int, partial string) event {
	b, _ := json.Marshal(partial)
	return event{"content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"input_json_delta","partial_json":%s}}`, index, b)}
}

func blockStop(index int) event {
	return event{"content_block_stop", fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, index)}
}

func messageDelta(stopReason string, outputTokens int) event {
	return event{"message_delta", fmt.Sprintf(
		`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":{"output_tokens":%d}}`, stopReason, outputTokens)}
}

var (
	ping        = event{"ping", `{"type": "ping"}`}
	messageStop = event{"message_stop", `{"type":"message_stop"}`}
)

// textStream is the whole stream of a text answer in the given deltas.
func textStream(deltas ...string) []event {
	events := []event{messageStart(smallUsage), textStart(0), ping}
	for _, d := range deltas {
		events = append(events, textDelta(0, d))
	}
	return append(events, blockStop(0), messageDelta("end_turn", len(deltas)), messageStop)
}

func userRequest(content string) *llm.Request {
	return &llm.Request{Model: "claude-test-1", Messages: []llm.Message{{Role: llm.RoleUser, Content: content}}}
}

// generate calls p, streaming when asked, and returns the deltas seen.
func generate(ctx context.Context, p *anthropic.Provider, req *llm.Request, streamed bool) (*llm.Response, []string, error) {
	if !streamed {
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

// jsonOf decodes s, for comparisons with a decoded request body.
func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.NewDecoder(strings.NewReader(s)).Decode(&v); err != nil {
		t.Fatalf("bad JSON in the test: %v: %s", err, s)
	}
	return v
}

var errStop = errors.New("stop")
