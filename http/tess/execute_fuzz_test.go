package tess

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
)

// FuzzParseExecute feeds arbitrary execute bodies and query strings to the
// decoder. A refusal is EMALFORMED, or EINVALID with per-field messages;
// an accepted request keeps every root-level answer (over the legacy
// answers object), has a temperature in [0, 2] and a positive timeout when
// one was sent; and, written back in the canonical form (answers at the
// root unless reserved, numbers as numbers, messages as an array, the wait
// flag as a boolean), it decodes equal. The seed corpus is in
// testdata/fuzz/FuzzParseExecute.
func FuzzParseExecute(f *testing.F) {
	for _, seed := range []struct{ body, query string }{
		{`{"topic":"x","temperature":"0.5","messages":"hi","waitExecution":"True"}`, ""},
		{`{"answers":{"topic":"a","model":"m"},"topic":"root wins","messages":[{"role":" User ","content":[{"type":"text","text":"a"},{"text":"b"}]}]}`, "wait_execution=1"},
		{`{"root_id":"12","file_ids":"3","stream":0,"timeout":2.5,"multitask_strategy":" reject ","tools":"no-tools"}`, "waitExecution=off"},
		{`{"temperature":3,"root_id":0,"file_ids":[1,"x"],"answers":[],"stream":"maybe","timeout":-1}`, "waitExecution=perhaps"},
		{`{"timeout":1e10}`, ""},
		{`{"timeout":1e-12}`, ""},
		{`[]`, ""}, {`null`, ""}, {``, ""}, {`{"a":1}}`, ""},
		{`{"messages":null,"temperature":"","model":null,"waitExecution":null}`, "waitExecution=true%0B"},
	} {
		f.Add([]byte(seed.body), seed.query)
	}
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		r := &http.Request{URL: &url.URL{RawQuery: query}}
		req, opts, err := parseExecute(body, r)
		checkQueryFlags(t, query)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		var root map[string]json.RawMessage
		if json.Unmarshal(body, &root) != nil {
			return // a trailing ] or } that DecodeJSON lets through (reported in httpx)
		}
		for k, v := range root {
			if !reserved[k] && string(req.Inputs[k]) != string(v) {
				t.Fatalf("root answer %q = %s, want %s", k, req.Inputs[k], v)
			}
		}
		if tp := req.Temperature; tp != nil && (math.IsNaN(*tp) || *tp < 0 || *tp > 2) {
			t.Fatalf("temperature %v accepted", *tp)
		}
		if raw, ok := root["timeout"]; ok && !isNull(raw) && req.Timeout <= 0 {
			t.Fatalf("timeout %s accepted as %v", raw, req.Timeout)
		}
		again, againOpts, err := parseExecute(encodeExecute(t, req, opts), &http.Request{URL: &url.URL{}})
		if err != nil {
			t.Fatalf("the canonical form of %s is refused: %v", body, err)
		}
		if !sameRequest(req, again) || againOpts != opts {
			t.Fatalf("%s decoded to %+v %+v; written back, to %+v %+v", body, req, opts, again, againOpts)
		}
	})
}

func checkRefusal(t *testing.T, err error) {
	t.Helper()
	e, ok := tessera.AsError(err)
	switch {
	case !ok:
		t.Fatalf("untyped error %v", err)
	case e.Code == tessera.EINVALID && len(e.Fields) == 0:
		t.Fatalf("EINVALID without fields: %v", err)
	case e.Code != tessera.EINVALID && e.Code != tessera.EMALFORMED:
		t.Fatalf("error kind %s: %v", e.Code, err)
	}
}

// checkQueryFlags checks the wait flags of the query string alone against
// the words a flag may be, which the body accepts too.
func checkQueryFlags(t *testing.T, query string) {
	t.Helper()
	q, _ := url.ParseQuery(query)
	_, opts, err := parseExecute([]byte(`{}`), &http.Request{URL: &url.URL{RawQuery: query}})
	want, wantOK := false, true
	for _, name := range []string{"waitExecution", "wait_execution"} {
		s := q.Get(name)
		w, ok := refFlagWord(s)
		want, wantOK = want || w, wantOK && ok
		if b, ferr := parseFlag(mustJSON(t, s)); (ferr == nil) != ok || b != w {
			t.Fatalf("body flag %q = %v, %v; want %v, ok %v", s, b, ferr, w, ok)
		}
	}
	if (err == nil) != wantOK || err == nil && opts.wait != want {
		t.Fatalf("query %q: wait %v, %v; want %v, ok %v", query, opts.wait, err, want, wantOK)
	}
}

// refFlagWord is what a flag's text means, written apart from the code
// under test.
func refFlagWord(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, true
	case "false", "0", "no", "off", "":
		return false, true
	}
	return false, false
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// encodeExecute writes a decoded request in the canonical body form.
func encodeExecute(t *testing.T, req *engine.ExecuteRequest, opts executeOptions) []byte {
	t.Helper()
	root := map[string]any{}
	answers := map[string]json.RawMessage{}
	for k, v := range req.Inputs {
		if reserved[k] {
			answers[k] = v
		} else {
			root[k] = v
		}
	}
	set := func(name string, v any, present bool) {
		if present {
			root[name] = v
		}
	}
	set("answers", answers, len(answers) > 0)
	set("temperature", req.Temperature, req.Temperature != nil)
	set("model", req.Model, req.Model != "")
	set("tools", req.Tools, req.Tools != "")
	set("root_id", req.RootID, req.RootID != 0)
	set("file_ids", req.FileIDs, req.FileIDs != nil)
	set("timeout", req.Timeout.Seconds(), req.Timeout != 0)
	set("multitask_strategy", req.MultitaskStrategy, req.MultitaskStrategy != "")
	set("stream", true, opts.stream)
	set("waitExecution", true, opts.wait)
	if req.Messages != nil {
		msgs := make([]map[string]string, len(req.Messages))
		for i, m := range req.Messages {
			msgs[i] = map[string]string{"role": m.Role, "content": m.Content}
		}
		root["messages"] = msgs
	}
	return mustJSON(t, root)
}

// sameRequest compares requests with answers compared as encoded values
// (written back, they are compacted) and timeouts to the microsecond
// (written back, they are float seconds).
func sameRequest(a, b *engine.ExecuteRequest) bool {
	if len(a.Inputs) != len(b.Inputs) {
		return false
	}
	for k, v := range a.Inputs {
		x, err1 := json.Marshal(v)
		y, err2 := json.Marshal(b.Inputs[k])
		if err1 != nil || err2 != nil || string(x) != string(y) {
			return false
		}
	}
	if d := a.Timeout - b.Timeout; d > time.Microsecond || d < -time.Microsecond {
		return false
	}
	ca, cb := *a, *b
	ca.Inputs, cb.Inputs, ca.Timeout, cb.Timeout = nil, nil, 0, 0
	return reflect.DeepEqual(ca, cb)
}
