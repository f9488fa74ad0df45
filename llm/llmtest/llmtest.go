// Package llmtest is a fake OpenAI-compatible Chat Completions server for
// tests and benchmarks. It speaks the real wire protocol (JSON answers, SSE
// streams of chat.completion.chunk events ending in "data: [DONE]", OpenAI
// error bodies), so that clients are exercised end to end, SDK included.
//
// Behaviour is scripted by a Handler that turns each decoded request into a
// Reply: content, tool calls, usage, an HTTP error, latency, a broken
// stream; Script plays a conversation, one reply per request. Requests are
// decoded with their tools, tool calls and tool results, and refused as
// OpenAI would when those do not fit together. Every
// request is recorded; Block and Release hold requests open until the test
// lets them go, and Arrived tells when one came in, so that tests wait on
// signals rather than sleeps. A client that goes away ends its request.
//
// New needs no *testing.T, so that a benchmark binary can run the server;
// NewTest is the shorthand for tests.
package llmtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Server.
type Config struct {
	// Handler scripts the answers; nil means DefaultHandler.
	Handler Handler
	// Models are listed by GET /models; default ["fake"].
	Models []string
}

// Handler decides the reply to one request. It runs on the request's
// goroutine, so it may block; it should then honour req.Context().
type Handler func(req *ChatRequest) Reply

// arrivedBuffer bounds unread arrival notices; past it they are dropped
// so that a server nobody watches never stalls.
const arrivedBuffer = 1024

// Server is a running fake server. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL to give a client, e.g. openai.Config.BaseURL.
	URL string

	srv     *httptest.Server
	models  []string
	arrived chan *ChatRequest
	seq     atomic.Int64

	inFlight    atomic.Int64
	maxInFlight atomic.Int64

	mu       sync.Mutex
	handler  Handler
	requests []*ChatRequest
	gate     chan struct{} // non-nil while blocking; closed by Release
}

// New starts a server. Close it when done.
func New(cfg Config) *Server {
	s := &Server{
		models:  cfg.Models,
		arrived: make(chan *ChatRequest, arrivedBuffer),
		handler: cfg.Handler,
	}
	if len(s.models) == 0 {
		s.models = []string{"fake"}
	}
	if s.handler == nil {
		s.handler = DefaultHandler
	}
	s.srv = httptest.NewServer(s.routes())
	s.URL = s.srv.URL
	return s
}

// TB is the part of testing.TB that NewTest uses; taking an interface keeps
// the testing package out of non-test binaries.
type TB interface {
	Helper()
	Cleanup(func())
}

// NewTest starts a server that is closed when the test ends.
func NewTest(t TB, cfg Config) *Server {
	t.Helper()
	s := New(cfg)
	t.Cleanup(s.Close)
	return s
}

// Close releases any blocked request and shuts the server down, waiting
// for the requests in flight. It may be called more than once.
func (s *Server) Close() {
	s.Release()
	s.srv.Close()
}

// Client returns an HTTP client for the server.
func (s *Server) Client() *http.Client { return s.srv.Client() }

// SetHandler replaces the handler for the requests that follow.
func (s *Server) SetHandler(h Handler) {
	if h == nil {
		h = DefaultHandler
	}
	s.mu.Lock()
	s.handler = h
	s.mu.Unlock()
}

// Requests returns the chat requests received so far, in arrival order.
func (s *Server) Requests() []*ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*ChatRequest(nil), s.requests...)
}

// InFlight returns how many chat requests are being served now.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// MaxInFlight returns the most chat requests served at the same time.
func (s *Server) MaxInFlight() int { return int(s.maxInFlight.Load()) }

// Arrived delivers each chat request once it is recorded, before it is
// held by Block or answered. Up to 1024 unread notices are kept.
func (s *Server) Arrived() <-chan *ChatRequest { return s.arrived }

// Block holds every chat request, arrived or to come, before it is
// answered, until Release or until its client goes away.
func (s *Server) Block() {
	s.mu.Lock()
	if s.gate == nil {
		s.gate = make(chan struct{})
	}
	s.mu.Unlock()
}

// Release lets the held requests go on and stops blocking.
func (s *Server) Release() {
	s.mu.Lock()
	if s.gate != nil {
		close(s.gate)
		s.gate = nil
	}
	s.mu.Unlock()
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, prefix := range []string{"", "/v1"} {
		mux.HandleFunc("POST "+prefix+"/chat/completions", s.serveChat)
		mux.HandleFunc("GET "+prefix+"/models", s.serveModels)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "unknown_url", "unknown URL "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (s *Server) serveModels(w http.ResponseWriter, _ *http.Request) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	list := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list"}
	for _, m := range s.models {
		list.Data = append(list.Data, model{ID: m, Object: "model", OwnedBy: "llmtest"})
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) serveChat(w http.ResponseWriter, r *http.Request) {
	defer s.enter()()
	req, err := decodeRequest(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", err.Error())
		return
	}
	s.record(req)
	if !s.held(r.Context()) {
		return // the client went away
	}
	reply := s.currentHandler()(req)
	if !sleep(r.Context(), reply.Delay) {
		return
	}
	s.answer(w, req, &reply)
}

// enter counts a request in flight and returns the function that counts it
// out.
func (s *Server) enter() func() {
	n := s.inFlight.Add(1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return func() { s.inFlight.Add(-1) }
}

func (s *Server) record(req *ChatRequest) {
	req.Seq = int(s.seq.Add(1))
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	select {
	case s.arrived <- req:
	default:
	}
}

// held waits while the server blocks; false means the client went away.
func (s *Server) held(ctx context.Context) bool {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate == nil {
		return true
	}
	select {
	case <-gate:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) currentHandler() Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handler
}

func (s *Server) answer(w http.ResponseWriter, req *ChatRequest, reply *Reply) {
	for k, vs := range reply.Header {
		w.Header()[k] = vs
	}
	switch {
	case reply.Status != 0 && reply.Status != http.StatusOK:
		writeErrorReply(w, reply)
	case req.Stream:
		s.writeStream(w, req, reply)
	case reply.Break:
		panic(http.ErrAbortHandler) // drop the connection, no answer
	default:
		writeJSON(w, http.StatusOK, completion(s.id(req), req, reply))
	}
}

func (s *Server) id(req *ChatRequest) string {
	return "chatcmpl-llmtest-" + strconv.Itoa(req.Seq)
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Script returns a handler that answers the requests it gets with
// replies, in order: the first request with the first reply, and so on, so
// that a test of a loop can say "first a tool call, then the answer". A
// request past the last reply gets a 500 saying that the script is
// exhausted. It is safe for concurrent use; concurrent requests take the
// replies in the order they reach the handler.
func Script(replies ...Reply) Handler {
	replies = slices.Clone(replies)
	var next atomic.Int64
	return func(*ChatRequest) Reply {
		n := int(next.Add(1))
		if n > len(replies) {
			return Reply{
				Status: http.StatusInternalServerError, ErrorType: "server_error",
				ErrorMessage: fmt.Sprintf("llmtest: script exhausted: this is request %d of a script of %d replies", n, len(replies)),
			}
		}
		return replies[n-1]
	}
}

// RoughTokens counts whitespace-separated words: the fake's token count.
func RoughTokens(s string) int { return len(strings.Fields(s)) }

// DefaultHandler answers "fake: " and the last user message, with rough
// token counts as usage.
func DefaultHandler(req *ChatRequest) Reply {
	content := "fake: " + req.LastUserMessage()
	prompt := 0
	for _, m := range req.Messages {
		prompt += RoughTokens(m.Content)
	}
	return Reply{Content: content, PromptTokens: prompt, CompletionTokens: RoughTokens(content)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
