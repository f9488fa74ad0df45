package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
)

// FuzzInstanceExecute posts arbitrary bodies and query strings (context,
// async_execution, max_iterations) to seed 003's execute endpoint, for an
// instance of a bare chat agent and one of a text agent with a question
// of every type. The server never answers 5xx; a refusal is FastAPI's
// {"detail": …}; an answer is the execution of the instance's agent, with
// the context the query gave. The seed corpus is in
// testdata/fuzz/FuzzInstanceExecute.
func FuzzInstanceExecute(f *testing.F) {
	s := newStack(f)
	for _, seed := range []struct {
		inst  byte
		query string
		body  string
	}{
		{0, "", `{"message":"hi"}`},
		{0, "async_execution=true&context_type=deal&context_id=7", `{"input":"  ","query":"q","extra":[1]}`},
		{0, "max_iterations=0", `{}`}, {0, "context_id=x&async_execution=maybe", `[]`},
		{1, "max_iterations=5", `{"topic":"t","n":"4","flag":"on","pick":"a","many":"x,y","list":"[1]","obj":{"a":1},"doc":"f"}`},
		{1, "", `{"n":"x","pick":"c","many":["z"],"obj":"[]"}`}, {1, "", ``}, {1, "", `null`}, {0, "", `{"a":1}]`},
	} {
		f.Add(seed.inst, seed.query, []byte(seed.body))
	}
	insts := []*tessera.Instance{s.ChatInst, s.WriterInst}
	f.Fuzz(func(t *testing.T, sel byte, query string, body []byte) {
		in := insts[int(sel)%len(insts)]
		path := "/api/v1/ai/agents/instances/" + strconv.FormatInt(in.ID, 10) + "/execute"
		rep := s.do(t, http.MethodPost, path, query, nil, body)
		s.check(t, "POST "+path+"?"+query, rep, fastAPIShape)
		if rep.status >= 400 {
			return
		}
		var got struct {
			ID        int64  `json:"id"`
			AgentID   int64  `json:"agent_id"`
			Status    string `json:"status"`
			ContextID *int64 `json:"context_id"`
		}
		must(t, json.Unmarshal(rep.body, &got))
		q, _ := url.ParseQuery(query)
		var wantCtx *int64
		if c := q.Get("context_id"); c != "" {
			n, err := strconv.ParseInt(c, 10, 64)
			must(t, err)
			wantCtx = &n
		}
		if got.ID <= 0 || got.AgentID != in.AgentID || !reflect.DeepEqual(got.ContextID, wantCtx) ||
			!slices.Contains([]string{"pending", "running", "completed", "failed", "cancelled", "timeout"}, got.Status) {
			t.Fatalf("POST %s?%s: %d %s", path, query, rep.status, clip(rep.body))
		}
	})
}

// FuzzEventsResume reads a finished execution's event stream with
// arbitrary Last-Event-ID headers and last_event_id / on_disconnect query
// parameters. A bad cursor is a FastAPI 422; a good one replays exactly
// the events after it, numbered in order, and ends with done. The seed
// corpus is in testdata/fuzz/FuzzEventsResume.
func FuzzEventsResume(f *testing.F) {
	s := newStack(f)
	id, last := s.finished(f)
	for _, seed := range [][3]string{
		{"", "", ""}, {"1", "", ""}, {" 2 ", "on_disconnect=cancel", ""}, {"-1", "", ""}, {"x", "last_event_id=1", ""},
		{"", "last_event_id=%2B1", ""}, {"", "on_disconnect=never", ""}, {"", "", "999"}, {"", "", "x"}, {"", "", "+" + id},
		{"99999999999999999999", "", ""}, {strconv.FormatInt(last-1, 10), "", ""},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, lastEventID, query, path string) {
		if path == "" {
			path = id
		}
		n, perr := strconv.ParseInt(path, 10, 64)
		atEnd := false
		if cursor, ok := cursorOf(lastEventID, query); ok && cursor >= last && perr == nil && strconv.FormatInt(n, 10) == id {
			atEnd = true
		}
		target := "/api/v1/ai/agents/executions/" + url.PathEscape(path) + "/events"
		rep := s.do(t, http.MethodGet, target, query, map[string]string{"Last-Event-ID": lastEventID}, nil)
		s.check(t, "GET "+target+"?"+query, rep, fastAPIShape)
		if atEnd {
			// Nothing follows the cursor of a finished execution: 204, so
			// that EventSource stops reconnecting.
			if rep.status != http.StatusNoContent || len(rep.body) != 0 {
				t.Fatalf("GET %s from the end: HTTP %d %q, want 204", target, rep.status, rep.body)
			}
			return
		}
		if rep.status != http.StatusOK {
			return
		}
		cursor, ok := cursorOf(lastEventID, query)
		if !ok {
			t.Fatalf("GET %s with Last-Event-ID %q: a bad cursor streamed", target, lastEventID)
		}
		checkReplay(t, rep.body, cursor, last)
	})
}

// cursorOf is the resume rule written out: the query parameter, else the
// trimmed header, a non-negative integer.
func cursorOf(header, query string) (int64, bool) {
	q, _ := url.ParseQuery(query)
	raw := strings.TrimSpace(header)
	if s := q.Get("last_event_id"); s != "" {
		raw = s
	}
	if mode := q.Get("on_disconnect"); mode != "" && mode != "continue" && mode != "cancel" {
		return 0, false
	}
	if raw == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	return n, err == nil && n >= 0
}

// checkReplay checks an SSE body holds the events after cursor up to last,
// each with its sequence number as id, the last one done.
func checkReplay(t *testing.T, body []byte, cursor, last int64) {
	t.Helper()
	want := cursor + 1
	typ := ""
	for block := range strings.SplitSeq(strings.TrimSpace(string(body)), "\n\n") {
		var evID, data string
		for line := range strings.SplitSeq(block, "\n") {
			switch k, v, _ := strings.Cut(line, ": "); k {
			case "id":
				evID = v
			case "event":
				typ = v
			case "data":
				data = v
			}
		}
		if evID == "" {
			continue // a keep-alive comment
		}
		var ev tessera.Event
		if evID != strconv.FormatInt(want, 10) || json.Unmarshal([]byte(data), &ev) != nil || ev.Seq != want || ev.Type != typ {
			t.Fatalf("after %d: event %q (%s) %s, want id %d", cursor, evID, typ, data, want)
		}
		want++
	}
	if want != last+1 || typ != tessera.EventDone {
		t.Fatalf("after %d: the stream ended at %d with %q, want %d done", cursor, want-1, typ, last)
	}
}

// finished runs one execution to its end and returns its id and the
// sequence number of its last event.
func (s *stack) finished(f *testing.F) (string, int64) {
	f.Helper()
	ctx := context.Background()
	ex, err := s.engine.Submit(ctx, &engine.ExecuteRequest{WorkspaceID: tessera.DefaultWorkspaceID, AgentID: s.Chat.ID,
		Messages: []tessera.Message{{Role: tessera.RoleUser, Content: "one two three"}}})
	must(f, err)
	ex, err = s.engine.Wait(ctx, ex.WorkspaceID, ex.ID, 5*time.Second)
	must(f, err)
	if !ex.Status.Terminal() {
		f.Fatalf("execution %d is still %s", ex.ID, ex.Status)
	}
	evs, err := s.store.EventListAfter(ctx, &tessera.EventListParams{ExecutionID: ex.ID, WorkspaceID: ex.WorkspaceID, Limit: 1000})
	must(f, err)
	return strconv.FormatInt(ex.ID, 10), evs[len(evs)-1].Seq
}
