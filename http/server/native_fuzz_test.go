package server_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"strconv"
	"testing"
)

// writable are the fields of a native agent that a body sets.
var writable = []string{
	"title", "slug", "description", "type", "instructions", "prompt", "questions", "model", "temperature",
	"tools", "max_iterations", "visibility", "timeout_seconds", "multitask_strategy", "http_tools",
	"mcp_servers", "output_schema", "fallback_models",
}

// FuzzNativeAgent posts arbitrary agent bodies to the native API. It never
// answers 5xx; a refusal is problem+json; and a created agent, its
// writable fields sent back with PUT, is replaced by itself (validation
// and defaults are idempotent). The seed corpus is in
// testdata/fuzz/FuzzNativeAgent.
func FuzzNativeAgent(f *testing.F) {
	s := newStack(f)
	for _, seed := range []string{
		`{"title":"A","type":"chat","instructions":"Be {{tone}}.","questions":[{"name":"tone","type":"select","options":["kind","dry"]}]}`,
		`{"title":" T ","slug":"my-agent","type":"text","prompt":"Write {{x}}","questions":[{"name":"x","type":"text","required":true,"default":"d"}],"temperature":0.5,"max_iterations":3}`,
		`{"title":"A","type":"chat","output_schema":{"type":"object","properties":{"a":{"type":"string"}}},"fallback_models":["echo"]}`,
		`{"title":"A","type":"chat","http_tools":[{"name":"get","description":"Get q","url":"https://example.com/{{q}}","method":"GET"}]}`,
		`{"title":"A","type":"chat","mcp_servers":[{"name":"m","url":"https://example.com/mcp"}],"tools":["calculator"]}`,
		`{"title":"A","type":"image","visibility":"public","multitask_strategy":"reject","timeout_seconds":-1}`,
		`{"title":"A","type":"chat","model":"nope/x","questions":[{"name":"messages","type":"text"}]}`,
		`{"title":"A","unknown":1}`, `{"title":1}`, `[]`, ``, `{"title":"A","type":"chat"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rep := s.do(t, http.MethodPost, "/api/v1/agents", "", nil, body)
		s.check(t, "POST /api/v1/agents", rep, problemShape)
		if rep.status != http.StatusCreated {
			return
		}
		var created map[string]any
		must(t, json.Unmarshal(rep.body, &created))
		again := map[string]any{}
		for _, k := range writable {
			again[k] = created[k]
		}
		b, err := json.Marshal(again)
		must(t, err)
		id := strconv.FormatInt(int64(created["id"].(float64)), 10)
		rep = s.do(t, http.MethodPut, "/api/v1/agents/"+id, "", nil, b)
		s.check(t, "PUT its own fields", rep, problemShape)
		if rep.status != http.StatusOK {
			t.Fatalf("agent %s from %s: PUT of its own fields %s = %d %s", id, body, b, rep.status, clip(rep.body))
		}
		var replaced map[string]any
		must(t, json.Unmarshal(rep.body, &replaced))
		if !reflect.DeepEqual(without(created, "version", "updated_at"), without(replaced, "version", "updated_at")) {
			t.Fatalf("agent from %s:\ncreated  %v\nreplaced %v", body, created, replaced)
		}
	})
}

func without(m map[string]any, keys ...string) map[string]any {
	out := maps.Clone(m)
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
