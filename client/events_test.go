package client

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func TestSSEReader(t *testing.T) {
	t.Parallel()
	stream := ": ping\n\n" +
		"id: 1\nevent: delta\ndata: {\"a\":1}\n\n" +
		"data: line one\r\ndata:line two\r\n\r\n" +
		"id: 3\n\n" + // no data: not an event
		"retry: 10\ndata: last\n\n" +
		"data: cut off"
	r := newSSEReader(strings.NewReader(stream))
	var got []string
	for {
		data, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(data))
	}
	want := []string{`{"a":1}`, "line one\nline two", "last"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// eventServer speaks the events endpoint's wire format: it serves the
// events after Last-Event-ID, and closes the first connection after
// cutAfter events.
type eventServer struct {
	events   int
	cutAfter int
	mu       sync.Mutex
	lastIDs  []string
	requests int
	// onRetry, when set, answers every request after the first.
	onRetry int
}

func (s *eventServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.lastIDs = append(s.lastIDs, r.Header.Get("Last-Event-ID"))
	s.mu.Unlock()
	if n > 1 && s.onRetry != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(s.onRetry)
		fmt.Fprint(w, `{"detail":"Execution not found"}`)
		return
	}
	after := 0
	fmt.Sscan(r.Header.Get("Last-Event-ID"), &after)
	w.Header().Set("Content-Type", "text/event-stream")
	for seq := after + 1; seq <= s.events; seq++ {
		typ := "delta"
		if seq == s.events {
			typ = "done"
		}
		fmt.Fprintf(w, ": ping\n\nid: %d\nevent: %s\ndata: {\"execution_id\":7,\"seq\":%d,\"type\":%q,\"data\":{\"text\":\"%d\"}}\n\n", seq, typ, seq, typ, seq)
		if n == 1 && seq == s.cutAfter {
			return // the connection ends before the done event
		}
	}
}

func TestEventsResumeWithLastEventID(t *testing.T) {
	t.Parallel()
	es := &eventServer{events: 5, cutAfter: 2}
	srv := httptest.NewServer(es)
	defer srv.Close()
	c := New(srv.URL, "k", WithHTTPClient(srv.Client()))
	var text strings.Builder
	for ev, err := range c.Events(t.Context(), 7, nil) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(ev.Text())
	}
	if text.String() != "1234" {
		t.Errorf("text %q, want each delta once", text.String())
	}
	if fmt.Sprint(es.lastIDs) != "[ 2]" {
		t.Errorf("Last-Event-ID per request %q, want none then 2", es.lastIDs)
	}

	// Resuming from a given event sends its id at once.
	es2 := &eventServer{events: 5}
	srv2 := httptest.NewServer(es2)
	defer srv2.Close()
	c2 := New(srv2.URL, "k", WithHTTPClient(srv2.Client()))
	var seqs []int64
	err := c2.FollowEvents(t.Context(), 7, &EventsOptions{After: 3}, func(ev *Event) error {
		seqs = append(seqs, ev.Seq)
		return nil
	})
	if err != nil || fmt.Sprint(seqs) != "[4 5]" || fmt.Sprint(es2.lastIDs) != "[3]" {
		t.Errorf("after 3: seqs %v, err %v, Last-Event-IDs %q", seqs, err, es2.lastIDs)
	}
}

// A refusal on reconnect is not retried; neither is a first connection
// that fails.
func TestEventsGiveUp(t *testing.T) {
	t.Parallel()
	es := &eventServer{events: 5, cutAfter: 2, onRetry: http.StatusNotFound}
	srv := httptest.NewServer(es)
	defer srv.Close()
	c := New(srv.URL, "k", WithHTTPClient(srv.Client()))
	var got error
	n := 0
	for _, err := range c.Events(t.Context(), 7, nil) {
		if err != nil {
			got = err
		} else {
			n++
		}
	}
	var e *Error
	if !errors.As(got, &e) || e.Status != http.StatusNotFound || n != 2 || es.requests != 2 {
		t.Errorf("after %d events and %d requests: %v, want a 404 *Error after one reconnect", n, es.requests, got)
	}

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer refusing.Close()
	c = New(refusing.URL, "k", WithHTTPClient(refusing.Client()))
	err := c.FollowEvents(t.Context(), 7, nil, func(*Event) error { return nil })
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable {
		t.Errorf("first connection refused: %v", err)
	}

	// A callback's error stops the stream and is returned.
	stop := errors.New("enough")
	es3 := &eventServer{events: 5}
	srv3 := httptest.NewServer(es3)
	defer srv3.Close()
	c = New(srv3.URL, "k", WithHTTPClient(srv3.Client()))
	if err := c.FollowEvents(t.Context(), 7, nil, func(*Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error: %v", err)
	}
}

func TestBackoffGrowsToItsBound(t *testing.T) {
	t.Parallel()
	if backoff(1) != firstBackoff || backoff(2) != 2*firstBackoff || backoff(10) != maxBackoff || backoff(100) != maxBackoff {
		t.Errorf("backoff = %v %v %v %v", backoff(1), backoff(2), backoff(10), backoff(100))
	}
}
