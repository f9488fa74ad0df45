package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestMalformedBodiesAre4xxAndStoreNothing(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	chat := s.chatAgent(t, "Target")
	text := textAgent(t, s.api)
	exec := path("/agents/%d/execute", chat)
	cases := []struct {
		name   string
		path   string
		body   any
		status int
	}{
		{"truncated JSON", exec, `{"messages": "hi"`, 400},
		{"not JSON", exec, `messages=hi`, 400},
		{"bare garbage", exec, "\x00\xff\xfe", 400},
		{"trailing data", exec, `{"messages":"hi"} {"again":1}`, 400},
		{"array body", exec, `[{"messages":"hi"}]`, 400},
		{"string body", exec, `"hi"`, 400},
		{"number body", exec, `42`, 400},
		{"null body", exec, `null`, 400},
		{"messages is a number", exec, `{"messages": 5}`, 422},
		{"messages is an object", exec, `{"messages": {"role":"user"}}`, 422},
		{"message content is an object", exec, `{"messages": [{"role":"user","content":{"x":1}}]}`, 422},
		{"message role is a number", exec, `{"messages": [{"role":5,"content":"x"}]}`, 422},
		{"temperature is an object", exec, `{"messages":"hi","temperature":{}}`, 422},
		{"temperature is huge", exec, `{"messages":"hi","temperature":1e400}`, 422},
		{"root_id is an object", exec, `{"messages":"hi","root_id":{}}`, 422},
		{"root_id is huge", exec, `{"messages":"hi","root_id":1e30}`, 422},
		{"file_ids is an object", exec, `{"messages":"hi","file_ids":{"a":1}}`, 422},
		{"model is an array", exec, `{"messages":"hi","model":["a"]}`, 422},
		{"answer is an object", path("/agents/%d/execute", text), `{"topic":{"a":1}}`, 422},
		{"number answer is an array", path("/agents/%d/execute", text), `{"topic":"x","words":[1]}`, 422},
		{"native malformed", "/api/v1/agents", `{"title":`, 400},
		{"native wrong type", "/api/v1/agents", `{"title": 5}`, 422},
		{"native array", "/api/v1/agents", `[]`, 400},
		{"native empty", "/api/v1/agents", ``, 400},
		{"native key malformed", "/api/v1/api-keys", `{"name":"x","workspace_ids":"1"}`, 422},
	}
	before := s.responsesTotal(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := s.doRaw(t, "POST", tc.path, tc.body, nil)
			if res.Status != tc.status {
				t.Fatalf("HTTP %d %s, want %d", res.Status, res.Body, tc.status)
			}
			m := res.JSON(t)
			if strings.HasPrefix(tc.path, "/api/v1/") {
				if res.Header.Get("Content-Type") != "application/problem+json" || intOf(t, m["status"]) != int64(tc.status) {
					t.Errorf("native error is not a problem: %s", res.Body)
				}
			} else if msg, _ := m["error"].(string); msg == "" {
				t.Errorf(`body %s has no "error"`, res.Body)
			}
		})
	}
	t.Cleanup(func() {
		if after := s.responsesTotal(t); after != before {
			t.Errorf("bad requests stored %d executions", after-before)
		}
		if m := s.must(t, http.StatusOK, "GET", "/agents", nil, nil); intOf(t, m["total"]) != 2 {
			t.Errorf("bad requests created agents: %v", m["total"])
		}
	})
}

func TestBodiesOverTheLimitAre413(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Env: map[string]string{"TESSERA_MAX_BODY_BYTES": "4096"}})
	id := s.chatAgent(t, "Small")
	big := `{"messages": "` + strings.Repeat("a", 100_000) + `"}`
	for _, p := range []string{path("/agents/%d/execute", id), path("/api/agents/%d/execute", id), "/api/v1/agents"} {
		for _, chunked := range []bool{false, true} {
			var body any = big
			if chunked {
				body = io.MultiReader(strings.NewReader(big)) // no Content-Length
			}
			res := s.doRaw(t, "POST", p, body, nil)
			if res.Status != http.StatusRequestEntityTooLarge {
				t.Errorf("POST %s (chunked %v): HTTP %d %.200s, want 413", p, chunked, res.Status, res.Body)
				continue
			}
			res.JSON(t)
		}
	}
	// Just under the limit is fine.
	ok := `{"messages": "` + strings.Repeat("b", 3000) + `"}`
	s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), ok, nil)
	if n := s.responsesTotal(t); n != 1 {
		t.Errorf("%d executions stored, want only the one under the limit", n)
	}
}

func TestDeeplyNestedJSONIsRefusedWithout500(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Env: map[string]string{"TESSERA_MAX_BODY_BYTES": "4194304"}})
	chat := s.chatAgent(t, "Nest")
	arr := s.createAgent(t, map[string]any{"title": "Arr", "type": "text", "prompt": "{{data}}",
		"questions": []map[string]any{{"name": "data", "type": "array"}, {"name": "obj", "type": "object"}}}, nil)
	deep := func(n int, open, close string) string { return strings.Repeat(open, n) + strings.Repeat(close, n) }
	bodies := map[string]struct {
		path string
		body string
	}{
		"100k brackets":               {path("/agents/%d/execute", chat), strings.Repeat("[", 100_000)},
		"100k balanced brackets":      {path("/agents/%d/execute", chat), deep(100_000, "[", "]")},
		"100k nested objects":         {path("/agents/%d/execute", chat), strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)},
		"nested messages":             {path("/agents/%d/execute", chat), `{"messages":` + deep(50_000, "[", "]") + `}`},
		"nested answer":               {path("/agents/%d/execute", arr), `{"data":` + deep(9_000, "[", "]") + `}`},
		"nested answer in a string":   {path("/agents/%d/execute", arr), `{"data":"` + deep(50_000, "[", "]") + `"}`},
		"nested object in a string":   {path("/agents/%d/execute", arr), `{"data":[1],"obj":"` + strings.Repeat(`{\"a\":`, 20_000) + "1" + strings.Repeat("}", 20_000) + `"}`},
		"nested native agent":         {"/api/v1/agents", `{"title":"x","questions":[{"name":"q","default":` + deep(50_000, "[", "]") + `}]}`},
		"nested native agent default": {"/api/v1/agents", `{"title":"x","questions":[{"name":"q","default":` + deep(9_000, "[", "]") + `}]}`},
	}
	for name, b := range bodies {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res := s.doRaw(t, "POST", b.path, b.body, nil)
			if res.Status >= 500 {
				t.Fatalf("HTTP %d %.300s, want no 5xx", res.Status, res.Body)
			}
			if res.Status >= 400 {
				res.JSON(t)
			}
		})
	}
}

func TestUnknownRoutesAndMethodsAreJSON(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Routes")
	for _, tc := range []struct {
		method, path string
		status       int
		native       bool
	}{
		{"GET", "/nope", 404, false},
		{"GET", "/api/nope", 404, false},
		{"GET", "/agents/1/nope", 404, false},
		{"POST", "/agent-responses/1/execute", 404, false},
		{"GET", "/api/v1/nope", 404, true},
		{"DELETE", "/agents", 405, false},
		{"PUT", path("/agents/%d/execute", id), 405, false},
		{"GET", path("/agents/%d/execute", id), 405, false},
		{"POST", "/agent-responses", 405, false},
		{"DELETE", "/api/v1/workspaces", 405, true},
		{"PUT", "/api/v1/api-keys", 405, true},
	} {
		for _, auth := range []string{"", "Bearer " + s.token} {
			res := s.doRaw(t, tc.method, tc.path, nil, hdr{"Authorization": auth})
			if res.Status != tc.status {
				t.Errorf("%s %s (auth %v): HTTP %d %s, want %d", tc.method, tc.path, auth != "", res.Status, res.Body, tc.status)
				continue
			}
			m := res.JSON(t)
			if tc.native {
				if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("%s %s: Content-Type %q, want problem+json", tc.method, tc.path, ct)
				}
				// RFC 9457: the status member is the HTTP status.
				if st, _ := m["status"].(float64); int(st) != tc.status {
					t.Errorf("%s %s: problem status %v, title %v, but HTTP %d", tc.method, tc.path, m["status"], m["title"], tc.status)
				}
			} else if m["error"] == nil {
				t.Errorf("%s %s: body %s has no error", tc.method, tc.path, res.Body)
			}
			if tc.status == 405 && res.Header.Get("Allow") == "" {
				t.Errorf("%s %s: 405 without an Allow header", tc.method, tc.path)
			}
		}
	}
}

// TestGarbageNeverYields5xx throws a deterministic burst of malformed and
// mistyped requests at every input surface; none may end in a 5xx.
func TestGarbageNeverYields5xx(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	chat := s.chatAgent(t, "Fuzz chat")
	text := textAgent(t, s.api)
	seedEx := intOf(t, s.run(t, chat, map[string]any{"messages": "seed"})["id"])
	rng := rand.New(rand.NewPCG(2026, 314))
	targets := []string{
		path("/agents/%d/execute", chat), path("/api/agents/%d/execute", text), path("/templates/%d/execute", text),
		"/api/v1/agents", path("/api/v1/agents/%d", chat), "/api/v1/api-keys", "/api/v1/workspaces",
	}
	keys := []string{"messages", "temperature", "model", "tools", "root_id", "file_ids", "answers", "topic", "words",
		"formal", "tone", "stream", "waitExecution", "wait_execution", "title", "type", "questions", "prompt",
		"instructions", "name", "workspace_ids", "max_iterations", "slug", "options", "role", "content", "timeout",
		"multitask_strategy"}
	seen := map[int]int{}
	for i := range 400 {
		target := targets[rng.IntN(len(targets))]
		method := "POST"
		if strings.HasPrefix(target, "/api/v1/agents/") {
			method = []string{"PUT", "PATCH"}[rng.IntN(2)]
		}
		body := garbageBody(rng, keys, seedEx)
		h := hdr{}
		switch rng.IntN(8) {
		case 0:
			h["x-workspace-id"] = []string{"1", "0", "-1", "abc", "1e3", " 1 ", "999999", "\t"}[rng.IntN(8)]
		case 1:
			h["Content-Type"] = "text/plain"
		case 2:
			h["Idempotency-Key"] = fmt.Sprintf("fuzz-%d", rng.IntN(5))
		}
		query := ""
		if rng.IntN(4) == 0 {
			query = "?" + url.Values{"waitExecution": {garbageScalar(rng)}, "wait_execution": {garbageScalar(rng)}}.Encode()
		}
		res := s.doRaw(t, method, target+query, body, h)
		seen[res.Status]++
		if res.Status >= 500 {
			t.Errorf("request %d: %s %s%s with %q: HTTP %d %s", i, method, target, query, truncate(body, 300), res.Status, res.Body)
		}
		if res.Status >= 400 && !json.Valid(res.Body) {
			t.Errorf("request %d: HTTP %d body is not JSON: %.200s", i, res.Status, res.Body)
		}
	}
	// List endpoints with garbage query strings.
	for i := range 150 {
		p := []string{"/agents", "/api/templates", "/agent-responses", "/api/v1/agents"}[rng.IntN(4)]
		q := url.Values{}
		for _, k := range []string{"page", "per_page", "q", "type", "sort", "agent_id", "root_id"} {
			if rng.IntN(2) == 0 {
				q.Set(k, garbageScalar(rng))
			}
		}
		res := s.doRaw(t, "GET", p+"?"+q.Encode(), nil, nil)
		seen[res.Status]++
		if res.Status >= 500 {
			t.Errorf("list %d: GET %s?%s: HTTP %d %s", i, p, q.Encode(), res.Status, res.Body)
		}
	}
	t.Logf("statuses: %v", seen)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// garbageBody returns a random body: mostly JSON objects of the known keys
// with values of random types, some of them then mangled byte-wise.
func garbageBody(rng *rand.Rand, keys []string, someID int64) string {
	switch rng.IntN(10) {
	case 0:
		b := make([]byte, rng.IntN(64))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	case 1:
		return []string{"", "{", "}", "[]", "null", "true", "0", `""`, "{}", `{"":""}`, "[[[[", `{"a":1,}`, "\ufeff{}"}[rng.IntN(13)]
	}
	obj := map[string]any{}
	for range rng.IntN(6) + 1 {
		obj[keys[rng.IntN(len(keys))]] = garbageValue(rng, 0, someID)
	}
	data, _ := json.Marshal(obj)
	if rng.IntN(4) == 0 && len(data) > 2 {
		// Mangle: cut, flip a byte, or splice in a delimiter.
		switch rng.IntN(3) {
		case 0:
			data = data[:rng.IntN(len(data))]
		case 1:
			data[rng.IntN(len(data))] ^= byte(1 + rng.IntN(255))
		default:
			i := rng.IntN(len(data))
			data = bytes.Join([][]byte{data[:i], []byte([]string{`"`, `,`, `:`, `{`, `]`, `\`}[rng.IntN(6)]), data[i:]}, nil)
		}
	}
	return string(data)
}

func garbageValue(rng *rand.Rand, depth int, someID int64) any {
	n := 9
	if depth > 3 {
		n = 6
	}
	switch rng.IntN(n) {
	case 0:
		return nil
	case 1:
		return rng.IntN(2) == 0
	case 2:
		return []any{0, 1, -1, 0.5, 2, 3, 1e300, -1e-300, 1 << 53, someID, 9007199254740993}[rng.IntN(11)]
	case 3, 4:
		return garbageScalar(rng)
	case 5:
		return []any{"user", "assistant", "developer", "system", "no-tools", "internet", "tess-5", "chat", "text", "select"}[rng.IntN(10)]
	case 6:
		arr := make([]any, rng.IntN(4))
		for i := range arr {
			arr[i] = garbageValue(rng, depth+1, someID)
		}
		return arr
	case 7:
		return map[string]any{"role": garbageValue(rng, depth+1, someID), "content": garbageValue(rng, depth+1, someID)}
	default:
		obj := map[string]any{}
		for range rng.IntN(4) {
			obj[[]string{"name", "type", "options", "default", "required", "a", ""}[rng.IntN(7)]] = garbageValue(rng, depth+1, someID)
		}
		return obj
	}
}

func garbageScalar(rng *rand.Rand) string {
	return []string{"", " ", "0", "1", "-1", "2", "0.5", "1e309", "NaN", "Infinity", "true", "True", "yes", "maybe",
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "00012", "0x10", "１",
		"\u0000", "\ufffd", "é", "🙂", "{{topic}}", "{{", "%", "_", "' OR 1=1 --", strings.Repeat("x", 5000)}[rng.IntN(30)]
}
