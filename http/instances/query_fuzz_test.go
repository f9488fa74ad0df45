package instances

import (
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/tessera-run/tessera"
)

// FuzzEventsQuery feeds arbitrary Last-Event-ID headers and query strings
// to the SSE resume cursor's parser and checks it against the rule written
// out: the last_event_id query parameter, else the trimmed header, a
// non-negative decimal integer; on_disconnect continue or cancel. A refusal
// is EINVALID at a header. or query. location (a FastAPI 422 naming it),
// and an accepted cursor, sent back as the header, reads the same. The
// seed corpus is in testdata/fuzz/FuzzEventsQuery.
func FuzzEventsQuery(f *testing.F) {
	for _, seed := range [][2]string{
		{"5", ""}, {" 7 ", "on_disconnect=cancel"}, {"-1", ""}, {"x", "last_event_id=3"},
		{"", "last_event_id=+4&on_disconnect=continue"}, {"", "last_event_id=%205"},
		{"99999999999999999999", ""}, {"", "on_disconnect=abort&last_event_id=-0"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, header, query string) {
		after, cancel, err := eventsQuery(request(header, query))
		q, _ := url.ParseQuery(query)
		raw, field := strings.TrimSpace(header), "header.last-event-id"
		if s := q.Get("last_event_id"); s != "" {
			raw, field = s, "query.last_event_id"
		}
		wantAfter, cursorOK := int64(0), true
		if raw != "" {
			n, perr := strconv.ParseInt(raw, 10, 64)
			wantAfter, cursorOK = n, perr == nil && n >= 0
		}
		mode := q.Get("on_disconnect")
		modeOK := mode == "" || mode == "continue" || mode == "cancel"
		if err != nil {
			checkLocations(t, err)
			e, _ := tessera.AsError(err)
			if _, named := e.Fields[field]; named == cursorOK || modeOK && cursorOK {
				t.Fatalf("cursor %q (%s), on_disconnect %q: %v", raw, field, mode, err)
			}
			return
		}
		if !cursorOK || !modeOK || after != wantAfter || cancel != (mode == "cancel") {
			t.Fatalf("cursor %q, on_disconnect %q: after %d, cancel %v", raw, mode, after, cancel)
		}
		back, _, err := eventsQuery(request(strconv.FormatInt(after, 10), ""))
		if err != nil || back != after {
			t.Fatalf("cursor %d sent back reads %d, %v", after, back, err)
		}
	})
}

// FuzzExecuteQuery feeds arbitrary query strings to the seed 003 execute
// query's parser: a refusal is EINVALID at query. locations only; an
// accepted query has max_iterations within the cap and, written back,
// parses equal. The seed corpus is in testdata/fuzz/FuzzExecuteQuery.
func FuzzExecuteQuery(f *testing.F) {
	for _, seed := range []string{
		"context_type=crm&context_id=42&async_execution=true&max_iterations=3",
		"async_execution=Yes&context_id=-9", "async_execution=maybe", "max_iterations=0",
		"max_iterations=101&context_id=x", "context_type=%20deal%20&async_execution=0",
		"context_id=9223372036854775808", "max_iterations=+5",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := parseExecuteQuery(request("", query))
		if err != nil {
			checkLocations(t, err)
			return
		}
		if q.maxIterations < 0 || q.maxIterations > tessera.MaxIterationsCap {
			t.Fatalf("query %q: max_iterations %d accepted", query, q.maxIterations)
		}
		v := url.Values{}
		v.Set("context_type", q.contextType)
		if q.contextID != nil {
			v.Set("context_id", strconv.FormatInt(*q.contextID, 10))
		}
		v.Set("async_execution", strconv.FormatBool(q.async))
		if q.maxIterations != 0 {
			v.Set("max_iterations", strconv.Itoa(q.maxIterations))
		}
		back, err := parseExecuteQuery(request("", v.Encode()))
		if err != nil || !reflect.DeepEqual(back, q) {
			t.Fatalf("query %q parsed to %+v; written back as %q, to %+v, %v", query, q, v.Encode(), back, err)
		}
	})
}

func request(lastEventID, query string) *http.Request {
	r := &http.Request{URL: &url.URL{RawQuery: query}, Header: http.Header{}}
	r.Header["Last-Event-Id"] = []string{lastEventID}
	return r
}

// checkLocations checks that err is EINVALID and renders as FastAPI's 422
// with a header or query location for every problem.
func checkLocations(t *testing.T, err error) {
	t.Helper()
	if tessera.ErrorCode(err) != tessera.EINVALID {
		t.Fatalf("error kind %s: %v", tessera.ErrorCode(err), err)
	}
	for _, d := range validationDetails(err) {
		if len(d.Loc) != 2 || (d.Loc[0] != "query" && d.Loc[0] != "header") || d.Msg == "" {
			t.Fatalf("detail %+v of %v", d, err)
		}
	}
}
