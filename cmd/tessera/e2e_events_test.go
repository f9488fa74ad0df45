package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// sseEvent is one event as an SSE client parses it.
type sseEvent struct {
	ID, Event string
	Data      map[string]any
	Comment   string
}

// sseStream is a real SSE client on one connection.
type sseStream struct {
	resp   *http.Response
	lines  *bufio.Scanner
	cancel context.CancelFunc
}

func openSSE(t *testing.T, s *testServer, path string, h hdr) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("GET %s: HTTP %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	st := &sseStream{resp: resp, lines: bufio.NewScanner(resp.Body), cancel: cancel}
	t.Cleanup(st.close)
	return st
}

// next reads one event (or comment); ok is false at the end of the stream.
func (st *sseStream) next(t *testing.T) (ev sseEvent, ok bool) {
	t.Helper()
	var data strings.Builder
	for st.lines.Scan() {
		line := st.lines.Text()
		switch {
		case line == "":
			if ev.Comment != "" {
				return ev, true
			}
			if data.Len() > 0 {
				if err := json.Unmarshal([]byte(data.String()), &ev.Data); err != nil {
					t.Fatalf("event data %q: %v", data.String(), err)
				}
				return ev, true
			}
		case strings.HasPrefix(line, ":"):
			ev.Comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			ev.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			data.WriteString(line[6:])
		}
	}
	return ev, false
}

func (st *sseStream) close() {
	st.cancel()
	st.resp.Body.Close()
}

func eventsPath(id any) string { return path("/api/v1/ai/agents/executions/%v/events", id) }

// A client that loses its stream and reconnects with the last id it saw
// gets every later event exactly once, and the stream ends with done.
func TestEventStreamResumesWithLastEventID(t *testing.T) {
	t.Parallel()
	words := []string{"one", " two", " three", " four", " five", " six"}
	s := setup(t, opts{Handler: func(*llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Content: strings.Join(words, ""), Chunks: words, ChunkDelay: 60 * time.Millisecond}
	}})
	agent := s.chatAgent(t, "Streamer")
	ex := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "count"}, nil))

	seen := map[string]int{}
	var order []int
	st := openSSE(t, s, eventsPath(ex["id"]), nil)
	last := ""
	for {
		ev, ok := st.next(t)
		if !ok {
			t.Fatal("stream ended before the drop")
		}
		if ev.Comment != "" {
			continue
		}
		seen[ev.ID]++
		n, _ := strconv.Atoi(ev.ID)
		order = append(order, n)
		last = ev.ID
		if ev.Event == "delta" {
			break // drop the connection mid-stream, right after the first delta
		}
	}
	st.close()

	var done map[string]any
	for _, h := range []hdr{{"Last-Event-ID": last}} {
		st := openSSE(t, s, eventsPath(ex["id"]), h)
		for {
			ev, ok := st.next(t)
			if !ok {
				break
			}
			if ev.Comment != "" {
				continue
			}
			seen[ev.ID]++
			n, _ := strconv.Atoi(ev.ID)
			order = append(order, n)
			if ev.Event == "done" {
				done = ev.Data
			}
		}
	}
	for i, n := range order {
		if n != i+1 {
			t.Fatalf("event ids across the reconnect = %v, want 1..n in order", order)
		}
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("event %s seen %d times", id, c)
		}
	}
	data, _ := done["data"].(map[string]any)
	if done == nil || data["status"] != "completed" || data["output"] != strings.Join(words, "") {
		t.Fatalf("terminal event = %v", done)
	}

	// After the end the whole log replays, and last_event_id in the query
	// works like the header.
	st = openSSE(t, s, eventsPath(ex["id"])+"?last_event_id="+strconv.Itoa(len(order)-1), nil)
	ev, ok := st.next(t)
	if !ok || ev.Event != "done" || ev.ID != strconv.Itoa(len(order)) {
		t.Errorf("replay after %d = %+v", len(order)-1, ev)
	}
	if _, more := st.next(t); more {
		t.Error("the stream goes on after done")
	}
}

func TestEventStreamSendsHeartbeatsWhileIdle(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Env: map[string]string{"TESSERA_SSE_HEARTBEAT": "50ms"}})
	agent := s.chatAgent(t, "Slow")
	s.Fake.Block()
	ex := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "wait"}, nil))
	<-s.Fake.Arrived()
	st := openSSE(t, s, eventsPath(ex["id"]), nil)
	for {
		ev, ok := st.next(t)
		if !ok {
			t.Fatal("stream ended without a heartbeat")
		}
		if ev.Comment == "ping" {
			break
		}
	}
	s.Fake.Release()
}

// Dropping a stream does not cancel the execution, unless the client asked
// for on_disconnect=cancel: then the provider sees its request cancelled.
func TestEventStreamDisconnectCancelsOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	agent := s.chatAgent(t, "Dropper")
	s.Fake.Block()

	keep := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "keep going"}, nil))
	kept := <-s.Fake.Arrived()
	st := openSSE(t, s, eventsPath(keep["id"]), nil)
	st.next(t)
	st.close()

	drop := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "stop if I leave"}, nil))
	dropped := <-s.Fake.Arrived()
	st = openSSE(t, s, eventsPath(drop["id"])+"?on_disconnect=cancel", nil)
	st.next(t)
	st.close()

	select {
	case <-dropped.Context().Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the provider call was not cancelled after the client left")
	}
	if got := s.awaitResponse(t, intOf(t, drop["id"]), 20*time.Second); got["status"] != "failed" {
		t.Errorf("dropped stream's execution = %v, want failed (cancelled)", got)
	}
	select {
	case <-kept.Context().Done():
		t.Fatal("a plain disconnect cancelled the provider call")
	default:
	}
	s.Fake.Release()
	if got := s.awaitResponse(t, intOf(t, keep["id"]), 20*time.Second); got["status"] != "succeeded" {
		t.Errorf("kept execution = %v, want succeeded", got)
	}
}

func TestNativeCancelReachesTheProvider(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	agent := s.chatAgent(t, "Cancelled")
	s.Fake.Block()
	defer s.Fake.Release()
	ex := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agent), map[string]any{"messages": "long job"}, nil))
	req := <-s.Fake.Arrived()
	got := s.must(t, http.StatusAccepted, "POST", path("/api/v1/ai/agents/executions/%v/cancel", ex["id"]), nil, nil)
	if got["cancel_requested"] != true {
		t.Errorf("cancel answer = %v", got)
	}
	select {
	case <-req.Context().Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the provider call was not cancelled")
	}
	final := s.awaitResponse(t, intOf(t, ex["id"]), 20*time.Second)
	if final["status"] != "failed" || !strings.Contains(final["error"].(string), "cancelled") {
		t.Errorf("after cancel: %v", final)
	}
	if status, body := s.do(t, "POST", path("/api/v1/ai/agents/executions/%v/cancel", ex["id"]), nil, nil); status != http.StatusConflict || body["detail"] == nil {
		t.Errorf("second cancel: HTTP %d %v, want 409 with detail", status, body)
	}
	if status, body := s.do(t, "GET", eventsPath("abc"), nil, nil); status != http.StatusUnprocessableEntity || body["detail"] == nil {
		t.Errorf("non-integer id: HTTP %d %v, want FastAPI 422", status, body)
	}
	if status, _ := s.do(t, "GET", eventsPath(999999), nil, nil); status != http.StatusNotFound {
		t.Errorf("unknown execution: HTTP %d, want 404", status)
	}
}
