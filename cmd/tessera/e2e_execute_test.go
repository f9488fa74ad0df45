package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// textAgent is a text agent whose prompt uses every kind of input.
func textAgent(t *testing.T, c *api) int64 {
	t.Helper()
	return c.createAgent(t, map[string]any{
		"title": "Writer", "type": "text", "instructions": "You write.",
		"prompt": "Write about {{topic}} in {{words}} words. Formal: {{formal}}. Tone: {{tone}}.",
		"questions": []map[string]any{
			{"name": "topic", "type": "text", "required": true},
			{"name": "words", "type": "number"},
			{"name": "formal", "type": "boolean"},
			{"name": "tone", "type": "select", "options": []string{"calm", "loud"}, "default": "calm"},
		},
	}, nil)
}

func user(content string) map[string]any { return map[string]any{"role": "user", "content": content} }
func assistant(content string) map[string]any {
	return map[string]any{"role": "assistant", "content": content}
}
func developer(content string) map[string]any {
	return map[string]any{"role": "developer", "content": content}
}
func msgs(m ...map[string]any) []map[string]any {
	return m
}

func TestExecuteSendsInstructionsAsTheSystemMessage(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Exec bot")

	s.run(t, id, map[string]any{"messages": msgs(user("hello m1"))})
	if got := roles(requestWith(t, s.Fake, "m1")); !slices.Equal(got, []string{"system:You are Exec bot.", "user:hello m1"}) {
		t.Errorf("provider messages = %q", got)
	}

	s.run(t, id, map[string]any{"messages": msgs(developer("Answer in French."), user("bonjour m2"))})
	got := roles(requestWith(t, s.Fake, "m2"))
	if !slices.Equal(got, []string{"system:You are Exec bot.\n\nAnswer in French.", "user:bonjour m2"}) {
		t.Errorf("with a developer message the provider got %q, want it joined to the system message", got)
	}

	// A chat agent's prompt template, rendered, is context too.
	ctxAgent := s.createAgent(t, map[string]any{"title": "Ctx", "type": "chat", "instructions": "Help with {{product}}.",
		"prompt": "Customer tier: {{tier}}", "questions": []map[string]any{{"name": "product"}, {"name": "tier"}}}, nil)
	s.run(t, ctxAgent, map[string]any{"product": "Widget", "tier": "gold", "messages": msgs(user("help m3"))})
	r := requestWith(t, s.Fake, "m3")
	if len(r.Messages) != 2 || r.Messages[0].Role != "system" || !strings.Contains(r.Messages[0].Content, "Help with Widget.") ||
		!strings.Contains(r.Messages[0].Content, "Customer tier: gold") {
		t.Errorf("provider messages = %q", roles(r))
	}
	for _, req := range s.Fake.Requests() {
		for _, m := range req.Messages {
			if m.Role == "developer" {
				t.Errorf("a developer role reached the provider: %q", roles(req))
			}
		}
	}
}

func TestExecuteRendersThePromptFromRootFieldsAndLegacyAnswers(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := textAgent(t, s.api)
	cases := []struct {
		name string
		body map[string]any
		want string
	}{
		{"root-level fields, numbers and booleans as strings", map[string]any{"topic": "cats r1", "words": "50", "formal": "true"},
			"Write about cats r1 in 50 words. Formal: true. Tone: calm."},
		{"legacy answers object", map[string]any{"answers": map[string]any{"topic": "dogs r2", "words": 12, "formal": false, "tone": "loud"}},
			"Write about dogs r2 in 12 words. Formal: false. Tone: loud."},
		{"root-level fields win over answers", map[string]any{"answers": map[string]any{"topic": "lost"}, "topic": "root r3"},
			"Write about root r3 in  words. Formal: . Tone: calm."},
		{"number and boolean coercion", map[string]any{"topic": "r4", "words": " 7.5 ", "formal": "0"},
			"Write about r4 in 7.5 words. Formal: false. Tone: calm."},
		{"unknown fields are ignored", map[string]any{"topic": "r5", "colour": "red", "memory_collections": []int{1, 2}, "stream": false, "file_ids": []int{}},
			"Write about r5 in  words. Formal: . Tone: calm."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.run(t, id, tc.body)
			if r["input"] != tc.want {
				t.Errorf("input = %q, want the rendered prompt %q", r["input"], tc.want)
			}
			marker := strings.Fields(tc.want)[2]
			got := roles(requestWith(t, s.Fake, marker+" "))
			if !slices.Equal(got, []string{"system:You write.", "user:" + tc.want}) {
				t.Errorf("provider messages = %q", got)
			}
		})
	}
}

func TestExecuteValidatesInputsAgainstQuestions(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := textAgent(t, s.api)
	cases := []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"required question missing", map[string]any{"words": 3}, []string{"topic"}},
		{"required question empty", map[string]any{"topic": ""}, []string{"topic"}},
		{"select option not in options", map[string]any{"topic": "x", "tone": "angry"}, []string{"tone"}},
		{"number that is not one", map[string]any{"topic": "x", "words": "many"}, []string{"words"}},
		{"boolean that is not one", map[string]any{"topic": "x", "formal": "maybe"}, []string{"formal"}},
		{"every problem at once", map[string]any{"tone": "angry", "words": "many"}, []string{"topic", "tone", "words"}},
		{"required missing from answers too", map[string]any{"answers": map[string]any{"words": 1}}, []string{"topic"}},
		{"answers not an object", map[string]any{"answers": "topic=x", "topic": "x"}, []string{"answers"}},
	}
	before := s.responsesTotal(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, m := s.execute(t, id, tc.body, nil)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("HTTP %d %v, want 422", status, m)
			}
			if msg, _ := m["error"].(string); msg == "" {
				t.Errorf("422 without an error message: %v", m)
			}
			fields := fieldErrors(t, m)
			for _, f := range tc.fields {
				list, _ := fields[f].([]any)
				if len(list) == 0 {
					t.Errorf("no message for %s: %v", f, fields)
				}
			}
			if len(fields) != len(tc.fields) {
				t.Errorf("messages for %v, want exactly %v", fields, tc.fields)
			}
		})
	}
	t.Cleanup(func() {
		if after := s.responsesTotal(t); after != before {
			t.Errorf("refused executions were stored: %d more", after-before)
		}
	})
}

const pairError = "Chat messages must be a pair of user/assistant"

func TestExecuteMessagesRules(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Rules")
	cases := []struct {
		name     string
		messages any
		ok       bool
		exact    string // the exact error, when pinned
	}{
		{"single user message", msgs(user("only")), true, ""},
		{"developer first", msgs(developer("be terse"), user("hi")), true, ""},
		{"user assistant user", msgs(user("a"), assistant("b"), user("c")), true, ""},
		{"developer then pairs", msgs(developer("d"), user("a"), assistant("b"), user("c")), true, ""},
		{"plain string (Pipedream)", "just a string", true, ""},
		{"role in capitals", msgs(map[string]any{"role": "User", "content": "caps"}), true, ""},
		{"content as text parts", msgs(map[string]any{"role": "user", "content": []map[string]any{{"type": "text", "text": "parts"}}}), true, ""},
		{"developer later", msgs(user("a"), developer("d")), false, ""},
		{"developer in the middle", msgs(user("a"), assistant("b"), developer("d"), user("c")), false, ""},
		{"two developers", msgs(developer("d"), developer("e"), user("a")), false, ""},
		{"system role", msgs(map[string]any{"role": "system", "content": "s"}, user("a")), false, ""},
		{"system later", msgs(user("a"), assistant("b"), map[string]any{"role": "system", "content": "s"}), false, ""},
		{"two user messages", msgs(user("a"), user("b")), false, pairError},
		{"two assistant messages", msgs(user("a"), assistant("b"), assistant("c"), user("d")), false, pairError},
		{"starts with assistant", msgs(assistant("b"), user("a")), false, pairError},
		{"developer then two users", msgs(developer("d"), user("a"), user("b")), false, pairError},
		{"last message assistant", msgs(user("a"), assistant("b")), false, ""},
		{"only a developer message", msgs(developer("d")), false, ""},
		{"empty array", []any{}, false, ""},
		{"unknown role", msgs(map[string]any{"role": "tool", "content": "t"}), false, ""},
		{"no messages at all", nil, false, ""},
		{"empty string", "", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := map[string]any{}
			if tc.messages != nil {
				body["messages"] = tc.messages
			}
			status, m := s.execute(t, id, body, nil)
			if tc.ok {
				if status != http.StatusOK {
					t.Fatalf("HTTP %d %v, want 200", status, m)
				}
				if r := first(t, m); r["status"] != "starting" {
					t.Errorf("status %v", r["status"])
				}
				return
			}
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("HTTP %d %v, want 422", status, m)
			}
			if tc.exact != "" && m["error"] != tc.exact {
				t.Errorf("error = %q, want exactly %q", m["error"], tc.exact)
			}
			if f := fieldErrors(t, m); f["messages"] == nil {
				t.Errorf("no message for the messages field: %v", f)
			}
		})
	}
	t.Run("plain string reaches the provider as the user message", func(t *testing.T) {
		t.Parallel()
		r := s.run(t, id, map[string]any{"messages": "pipedream text p1"})
		if r["input"] != "pipedream text p1" || r["output"] != "fake: pipedream text p1" {
			t.Errorf("response = %v", r)
		}
		if got := roles(requestWith(t, s.Fake, "p1")); !slices.Equal(got, []string{"system:You are Rules.", "user:pipedream text p1"}) {
			t.Errorf("provider messages = %q", got)
		}
	})
}

func TestExecuteTemperature(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Temp")
	warm := s.createAgent(t, map[string]any{"title": "Warm", "type": "chat", "temperature": 0.25}, nil)
	for i, tc := range []struct {
		agent int64
		temp  any
		want  *float64
	}{
		{id, "0.5", ptr(0.5)},
		{id, 0.5, ptr(0.5)},
		{id, "1", ptr(1)},
		{id, 0, ptr(0)},
		{id, "2", ptr(2)},
		{warm, nil, ptr(0.25)},
		{warm, "0.75", ptr(0.75)},
	} {
		marker := fmt.Sprintf("t%d", i)
		body := map[string]any{"messages": msgs(user("temp " + marker))}
		if tc.temp != nil {
			body["temperature"] = tc.temp
		}
		s.run(t, tc.agent, body)
		got := requestWith(t, s.Fake, marker).Temperature
		if got == nil || *got != *tc.want {
			t.Errorf("temperature %#v reached the provider as %v, want %v", tc.temp, deref(got), *tc.want)
		}
	}
	for _, bad := range []any{"3", 3, 2.5, -1, "-0.1", "hot", map[string]any{}, []any{1}, true} {
		status, m := s.execute(t, id, map[string]any{"messages": "x", "temperature": bad}, nil)
		if status != http.StatusUnprocessableEntity || fieldErrors(t, m)["temperature"] == nil {
			t.Errorf("temperature %#v: HTTP %d %v, want 422 on temperature", bad, status, m)
		}
	}
}

func ptr(f float64) *float64 { return &f }

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestExecuteModelResolution(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Models")
	pinned := s.createAgent(t, map[string]any{"title": "Pinned", "type": "chat", "model": "openai/agent-model"}, nil)
	for i, tc := range []struct {
		agent int64
		model any
		want  string
	}{
		{id, nil, defaultModel},
		{id, "tess-5", defaultModel},
		{id, "tess-6", defaultModel},
		{id, "tess-ai-light", defaultModel},
		{id, "openai/gpt-special", "gpt-special"},
		{id, "some-bare-model", "some-bare-model"},
		{pinned, nil, "agent-model"},
		{pinned, "tess-5", defaultModel},
	} {
		marker := fmt.Sprintf("model%d", i)
		body := map[string]any{"messages": msgs(user("which " + marker))}
		if tc.model != nil {
			body["model"] = tc.model
		}
		s.run(t, tc.agent, body)
		if got := requestWith(t, s.Fake, marker+"").Model; got != tc.want {
			t.Errorf("model %v reached the provider as %q, want %q", tc.model, got, tc.want)
		}
	}
	// The built-in echo model runs only when named, without the network.
	n := len(s.Fake.Requests())
	r := s.run(t, id, map[string]any{"model": "echo", "messages": "ping"})
	if r["output"] != "Echo: ping" || len(s.Fake.Requests()) != n {
		t.Errorf("model echo: %v (provider calls %d → %d)", r, n, len(s.Fake.Requests()))
	}
	if status, m := s.execute(t, id, map[string]any{"messages": "x", "model": 5}, nil); status != http.StatusUnprocessableEntity {
		t.Errorf("model 5: HTTP %d %v, want 422", status, m)
	}
}

func TestExecuteToolsAndFileIDs(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Tools")
	s.run(t, id, map[string]any{"messages": "a", "tools": "no-tools"})
	s.run(t, id, map[string]any{"messages": "b", "file_ids": []int{}})
	// A Tess tool set runs through the tool loop; the fake answers at once.
	s.run(t, id, map[string]any{"messages": "c", "tools": "internet"})
	for name, body := range map[string]map[string]any{
		"tools unknown":    {"messages": "x", "tools": "teleport"},
		"tools not string": {"messages": "x", "tools": []string{"no-tools"}},
		"unknown file ids": {"messages": "x", "file_ids": []int{123, 321}},
		"bad file ids":     {"messages": "x", "file_ids": []string{"abc"}},
	} {
		status, m := s.execute(t, id, body, nil)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: HTTP %d %v, want 422", name, status, m)
			continue
		}
		f := fieldErrors(t, m)
		field := strings.Fields(name)[0]
		if field == "unknown" || field == "bad" {
			field = "file_ids"
		}
		if f[field] == nil {
			t.Errorf("%s: no message for %s: %v", name, field, f)
		}
	}
}

func TestExecuteWithoutWaitStartsThenPollingSucceeds(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Async")
	s.Fake.Block()
	m := s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"messages": msgs(user("later please"))}, nil)
	r := first(t, m)
	if r["status"] != "starting" || r["output"] != "" {
		t.Errorf("without a wait flag: status %v output %q, want starting and empty", r["status"], r["output"])
	}
	exID := intOf(t, r["id"])
	select {
	case <-s.Fake.Arrived():
	case <-time.After(30 * time.Second):
		t.Fatal("the provider never received the execution")
	}
	running := s.must(t, http.StatusOK, "GET", path("/agent-responses/%d", exID), nil, nil)
	if running["status"] != "running" || running["output"] != "" {
		t.Errorf("while the provider answers: %v, want running", running)
	}
	s.Fake.Release()
	done := s.awaitResponse(t, exID, 30*time.Second)
	if done["status"] != "succeeded" || done["output"] != "fake: later please" {
		t.Errorf("polled result = %v", done)
	}
	if _, wrapped := done["responses"]; wrapped {
		t.Error("GET /agent-responses/{id} must return the bare object")
	}
	for _, p := range []string{"/api/agent-responses/%d", "/template-responses/%d", "/api/template-responses/%d"} {
		if got := s.must(t, http.StatusOK, "GET", path(p, exID), nil, nil); got["output"] != "fake: later please" {
			t.Errorf("GET %s = %v", path(p, exID), got)
		}
	}
}

func TestExecuteWaitFlagSpellings(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Waiter")
	cases := []struct {
		name  string
		query string
		body  map[string]any
		wait  bool
	}{
		{"body waitExecution true", "", map[string]any{"waitExecution": true}, true},
		{"body wait_execution true", "", map[string]any{"wait_execution": true}, true},
		{"body waitExecution as text", "", map[string]any{"waitExecution": "true"}, true},
		{"body wait_execution with stream false", "", map[string]any{"wait_execution": true, "stream": false}, true},
		{"query waitExecution=true", "?waitExecution=true", nil, true},
		{"query waitExecution=True", "?waitExecution=True", nil, true},
		{"query wait_execution=1", "?wait_execution=1", nil, true},
		{"query wait_execution=true", "?wait_execution=true", nil, true},
		{"body false", "", map[string]any{"waitExecution": false}, false},
		{"query false", "?waitExecution=false", nil, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			content := fmt.Sprintf("wait case %d", i)
			body := map[string]any{"messages": msgs(user(content))}
			for k, v := range tc.body {
				body[k] = v
			}
			m := s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id)+tc.query, body, nil)
			r := first(t, m)
			if !tc.wait {
				if r["status"] != "starting" || r["output"] != "" {
					t.Errorf("without waiting: %v", r)
				}
				return
			}
			if r["status"] != "succeeded" || r["output"] != "fake: "+content {
				t.Errorf("waited response = %v, want succeeded with the output", r)
			}
		})
	}
	if status, m := s.execute(t, id, map[string]any{"messages": "x", "waitExecution": "perhaps"}, nil); status != http.StatusUnprocessableEntity {
		t.Errorf("waitExecution perhaps: HTTP %d %v, want 422", status, m)
	}
}

func TestExecuteResponseShape(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Shape")
	for _, wait := range []bool{false, true} {
		m := s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"messages": msgs(user("shape me")), "waitExecution": wait}, nil)
		if len(m) != 2 {
			t.Errorf("execute response keys = %v, want template_id and responses", m)
		}
		if tid, ok := m["template_id"].(string); !ok || tid != itoa(id) {
			t.Errorf("top-level template_id = %#v, want the string %q", m["template_id"], itoa(id))
		}
		r := first(t, m)
		checkResponseObject(t, r, id)
		if intOf(t, r["root_id"]) != intOf(t, r["id"]) {
			t.Errorf("first execution's root_id %v != id %v", r["root_id"], r["id"])
		}
		if r["input"] != "shape me" {
			t.Errorf("input = %v", r["input"])
		}
		got := s.awaitResponse(t, intOf(t, r["id"]), 30*time.Second)
		checkResponseObject(t, got, id)
		if got["status"] != "succeeded" || got["output"] != "fake: shape me" || got["error"] != nil {
			t.Errorf("polled = %v", got)
		}
	}
}

// checkResponseObject checks an agent response's fields and their types.
func checkResponseObject(t *testing.T, r map[string]any, agentID int64) {
	t.Helper()
	for _, k := range []string{"id", "root_id", "template_id"} {
		intOf(t, r[k])
	}
	if intOf(t, r["template_id"]) != agentID {
		t.Errorf("template_id = %v, want %d", r["template_id"], agentID)
	}
	for _, k := range []string{"status", "input", "output", "created_at", "updated_at"} {
		if _, ok := r[k].(string); !ok {
			t.Errorf("%s = %#v, want a string", k, r[k])
		}
	}
	if _, ok := r["credits"].(float64); !ok {
		t.Errorf("credits = %#v, want a number", r["credits"])
	}
	for _, k := range []string{"created_at", "updated_at"} {
		if s, _ := r[k].(string); !laravelTimeRE.MatchString(s) {
			t.Errorf("%s = %q, want like 2025-01-05T19:35:21.000000Z", k, s)
		}
	}
	if !slices.Contains([]string{"starting", "running", "succeeded", "failed"}, r["status"].(string)) {
		t.Errorf("status = %v", r["status"])
	}
}

func TestExecuteThreadsWithRootID(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Thread")
	sys := "system:You are Thread."

	r1 := s.run(t, id, map[string]any{"messages": msgs(developer("Speak like a pirate."), user("my name is Ada"))})
	id1 := intOf(t, r1["id"])
	if intOf(t, r1["root_id"]) != id1 {
		t.Fatalf("first turn root_id %v, want its id %d", r1["root_id"], id1)
	}

	r2 := s.run(t, id, map[string]any{"root_id": id1, "messages": msgs(user("what is my name?"))})
	id2 := intOf(t, r2["id"])
	if id2 == id1 || intOf(t, r2["root_id"]) != id1 {
		t.Errorf("second turn id %d root_id %v, want a new id with root %d", id2, r2["root_id"], id1)
	}
	want := []string{sys + "\n\nSpeak like a pirate.", "user:my name is Ada", "assistant:fake: my name is Ada", "user:what is my name?"}
	if got := roles(requestWith(t, s.Fake, "what is my name?")); !slices.Equal(got, want) {
		t.Errorf("second turn sent\n%q\nwant\n%q", got, want)
	}

	// root_id may be sent as a string.
	r3 := s.run(t, id, map[string]any{"root_id": itoa(id1), "messages": "and my ship?"})
	if intOf(t, r3["root_id"]) != id1 {
		t.Errorf("third turn root_id %v, want %d", r3["root_id"], id1)
	}
	want = append(want, "assistant:fake: what is my name?", "user:and my ship?")
	if got := roles(requestWith(t, s.Fake, "and my ship?")); !slices.Equal(got, want) {
		t.Errorf("third turn sent\n%q\nwant\n%q", got, want)
	}

	// A client that resends the whole conversation with root_id.
	full := msgs(user("my name is Ada"), assistant("fake: my name is Ada"), user("what is my name?"),
		assistant("fake: what is my name?"), user("and my ship?"), assistant("fake: and my ship?"), user("resent history"))
	r4 := s.run(t, id, map[string]any{"root_id": id1, "messages": full})
	want = append(want, "assistant:fake: and my ship?", "user:resent history")
	if got := roles(requestWith(t, s.Fake, "resent history")); !slices.Equal(got, want) {
		t.Errorf("resent history was duplicated:\n%q\nwant\n%q", got, want)
	}
	if r4["input"] != "resent history" {
		t.Errorf("input = %v", r4["input"])
	}

	// The thread is listed by root_id.
	list := s.must(t, http.StatusOK, "GET", path("/agent-responses?root_id=%d&sort=asc", id1), nil, nil)
	var ids []int64
	for _, it := range list["data"].([]any) {
		ids = append(ids, intOf(t, it.(map[string]any)["id"]))
	}
	if !slices.Equal(ids, []int64{id1, id2, intOf(t, r3["id"]), intOf(t, r4["id"])}) {
		t.Errorf("thread listing = %v", ids)
	}

	// root_id may name any turn of the thread: the new turn joins that
	// thread (engine.thread says so) with the whole history.
	r5 := s.run(t, id, map[string]any{"root_id": id2, "messages": "named a later turn"})
	if intOf(t, r5["root_id"]) != id1 {
		t.Errorf("a turn continuing from turn %d has root_id %v, want the thread's root %d", id2, r5["root_id"], id1)
	}
	want = append(want, "assistant:fake: resent history", "user:named a later turn")
	if got := roles(requestWith(t, s.Fake, "named a later turn")); !slices.Equal(got, want) {
		t.Errorf("a turn continuing from turn %d sent\n%q\nwant\n%q", id2, got, want)
	}

	// A root_id that names nothing, or another agent's thread, is refused.
	other := s.chatAgent(t, "Other")
	for name, body := range map[string]map[string]any{
		"unknown root":  {"root_id": 987654, "messages": "x"},
		"other agent":   {"root_id": id1, "messages": "x"},
		"not a number":  {"root_id": "abc", "messages": "x"},
		"negative root": {"root_id": -1, "messages": "x"},
	} {
		agent := id
		if name == "other agent" {
			agent = other
		}
		status, m := s.execute(t, agent, body, nil)
		if status < 400 || status >= 500 || m["error"] == nil {
			t.Errorf("%s: HTTP %d %v, want a 4xx with an error", name, status, m)
		}
	}
}

func TestFailedTurnIsLeftOutOfTheHistory(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Flaky")
	r1 := s.run(t, id, map[string]any{"messages": "first"})
	s.Fake.SetHandler(func(*llmtest.ChatRequest) llmtest.Reply { return llmtest.Reply{Status: 400, ErrorMessage: "bad"} })
	m := s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"waitExecution": true, "root_id": r1["id"], "messages": "lost"}, nil)
	if first(t, m)["status"] != "failed" {
		t.Fatalf("turn 2 = %v, want failed", m)
	}
	s.Fake.SetHandler(nil)
	s.run(t, id, map[string]any{"root_id": r1["id"], "messages": "third"})
	want := []string{"system:You are Flaky.", "user:first", "assistant:fake: first", "user:third"}
	if got := roles(requestWith(t, s.Fake, "third")); !slices.Equal(got, want) {
		t.Errorf("after a failed turn the provider got %q, want %q", got, want)
	}
}

func TestExecuteOnLegacyAndPrefixedPaths(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Paths")
	for _, p := range []string{"/agents/%d/execute", "/api/agents/%d/execute", "/templates/%d/execute", "/api/templates/%d/execute"} {
		m := s.must(t, http.StatusOK, "POST", path(p, id)+"?waitExecution=true", map[string]any{"messages": "via " + p}, nil)
		r := first(t, m)
		if r["status"] != "succeeded" || r["output"] != "fake: via "+p || m["template_id"] != itoa(id) {
			t.Errorf("POST %s = %v", p, m)
		}
	}
}

func TestProviderErrorFailsTheExecution(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		reply llmtest.Reply
	}{
		{"500", llmtest.Reply{Status: 500, ErrorMessage: "upstream exploded"}},
		{"401", llmtest.Reply{Status: 401, ErrorMessage: "Incorrect API key provided", ErrorType: "invalid_request_error", ErrorCode: "invalid_api_key"}},
		{"400", llmtest.Reply{Status: 400, ErrorMessage: "model not supported"}},
		{"garbage body", llmtest.Reply{Status: 502, ErrorBody: "<html>bad gateway</html>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := setup(t, opts{Handler: func(*llmtest.ChatRequest) llmtest.Reply { return tc.reply }})
			id := s.chatAgent(t, "Doomed")
			m := s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"messages": "try"}, nil)
			exID := intOf(t, first(t, m)["id"])
			got := s.awaitResponse(t, exID, 60*time.Second)
			if got["status"] != "failed" {
				t.Fatalf("status = %v, want failed", got)
			}
			msg, _ := got["error"].(string)
			if msg == "" {
				t.Errorf("a failed execution has no error: %v", got)
			}
			if strings.Contains(msg, "sk-test") {
				t.Errorf("the error leaks the provider key: %q", msg)
			}
			if got["output"] != "" || got["credits"] != 0.0 {
				t.Errorf("failed execution output %q credits %v", got["output"], got["credits"])
			}
			// The waited form reports the failure too.
			w := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute?waitExecution=true", id), map[string]any{"messages": "again"}, nil))
			if w["status"] != "failed" || w["error"] == nil {
				t.Errorf("waited failure = %v", w)
			}
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Once")
	body := map[string]any{"messages": "charge the card"}
	key := hdr{"Idempotency-Key": "order-42"}

	_, m1 := s.execute(t, id, body, key)
	_, m2 := s.execute(t, id, body, key)
	id1, id2 := intOf(t, first(t, m1)["id"]), intOf(t, first(t, m2)["id"])
	if id1 != id2 {
		t.Errorf("same key and body made executions %d and %d, want one", id1, id2)
	}
	// A retry that waits gets the same execution's result.
	r := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute?waitExecution=true", id), body, key))
	if intOf(t, r["id"]) != id1 || r["status"] != "succeeded" {
		t.Errorf("waited retry = %v", r)
	}

	// Concurrent retries of one submission make one execution.
	ids := make(chan int64, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			res, err := s.send("POST", path("/agents/%d/execute", id), map[string]any{"messages": "concurrent"}, hdr{"Idempotency-Key": "burst"})
			if err != nil || res.Status != http.StatusOK {
				t.Errorf("concurrent retry: %v %+v", err, res)
				ids <- 0
				return
			}
			var m map[string]any
			_ = json.Unmarshal(res.Body, &m)
			list, _ := m["responses"].([]any)
			f, _ := list[0].(map[string]any)["id"].(float64)
			ids <- int64(f)
		})
	}
	wg.Wait()
	close(ids)
	seenIDs := map[int64]bool{}
	for x := range ids {
		seenIDs[x] = true
	}
	if len(seenIDs) != 1 {
		t.Errorf("8 concurrent submissions with one key made executions %v, want one", seenIDs)
	}

	status, m := s.execute(t, id, map[string]any{"messages": "charge twice"}, key)
	if status != http.StatusConflict || m["error"] == nil {
		t.Errorf("same key, other body: HTTP %d %v, want 409 with an error", status, m)
	}
	_, m3 := s.execute(t, id, body, hdr{"Idempotency-Key": "order-43"})
	if intOf(t, first(t, m3)["id"]) == id1 {
		t.Error("another key returned the same execution")
	}
	_, m4 := s.execute(t, id, body, nil)
	_, m5 := s.execute(t, id, body, nil)
	if intOf(t, first(t, m4)["id"]) == intOf(t, first(t, m5)["id"]) {
		t.Error("two submissions without a key were merged")
	}
	// Keys are per workspace.
	ws := s.createWorkspace(t, "Elsewhere")
	other := s.createAgent(t, map[string]any{"title": "Once too", "type": "chat"}, hdr{"x-workspace-id": itoa(ws)})
	status, m = s.execute(t, other, body, hdr{"Idempotency-Key": "order-42", "x-workspace-id": itoa(ws)})
	if status != http.StatusOK || intOf(t, first(t, m)["id"]) == id1 {
		t.Errorf("the same key in another workspace: HTTP %d %v, want a new execution", status, m)
	}
	if status, _ := s.execute(t, id, body, hdr{"Idempotency-Key": strings.Repeat("k", 300)}); status != http.StatusUnprocessableEntity {
		t.Errorf("a 300-character key: HTTP %d, want 422", status)
	}
	// Only one provider call for the deduplicated execution.
	n := 0
	for _, req := range s.Fake.Requests() {
		if req.LastUserMessage() == "charge the card" {
			n++
		}
	}
	if n > 5 { // order-42 (once), order-43, two without key, other workspace
		t.Errorf("the provider was called %d times for 5 executions", n)
	}
}

func TestNextTurnWaitsForTheRunningTurnOfItsThread(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Queue")
	s.Fake.Block()
	r1 := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"messages": "turn one"}, nil))
	select {
	case <-s.Fake.Arrived():
	case <-time.After(30 * time.Second):
		t.Fatal("turn one never reached the provider")
	}
	r2 := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"messages": "turn two", "root_id": r1["id"]}, nil))
	// While turn one runs, turn two must not reach the provider (it would
	// lack turn one's answer). A negative check needs some time to pass;
	// 2.5s also covers the queue's first retries of turn two.
	deadline := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if n := len(s.Fake.Requests()); n != 1 {
			t.Fatalf("turn two ran while turn one was still running (%d provider calls)", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Fake.Release()
	id2 := intOf(t, r2["id"])
	// Once turn one is done, turn two follows promptly (well within the
	// lease and poll intervals), not after the queue's error backoff.
	if got := s.awaitResponse(t, intOf(t, r1["id"]), 10*time.Second); got["status"] != "succeeded" {
		t.Fatalf("turn one = %v", got)
	}
	released := time.Now()
	if got := s.awaitResponse(t, id2, 5*time.Second); got["status"] != "succeeded" {
		t.Fatalf("turn two = %v", got)
	}
	t.Logf("turn two finished %v after turn one", time.Since(released))
	want := []string{"system:You are Queue.", "user:turn one", "assistant:fake: turn one", "user:turn two"}
	if got := roles(requestWith(t, s.Fake, "turn two")); !slices.Equal(got, want) {
		t.Errorf("turn two sent %q, want %q", got, want)
	}
}

func TestMultitaskStrategies(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Busy")
	s.Fake.Block()
	r1 := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"messages": "long task"}, nil))
	<-s.Fake.Arrived()

	status, m := s.execute(t, id, map[string]any{"messages": "refused", "root_id": r1["id"], "multitask_strategy": "reject"}, nil)
	if status != http.StatusConflict || m["error"] == nil {
		t.Errorf("reject on a busy thread: HTTP %d %v, want 409", status, m)
	}
	if status, _ := s.execute(t, id, map[string]any{"messages": "x", "root_id": r1["id"], "multitask_strategy": "sideways"}, nil); status != http.StatusUnprocessableEntity {
		t.Errorf("unknown multitask_strategy: HTTP %d, want 422", status)
	}

	r3 := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id),
		map[string]any{"messages": "interrupting", "root_id": r1["id"], "multitask_strategy": "interrupt"}, nil))
	old := s.awaitResponse(t, intOf(t, r1["id"]), 30*time.Second)
	if old["status"] != "failed" || old["error"] == nil {
		t.Errorf("the interrupted turn = %v, want failed with an error", old)
	}
	s.Fake.Release()
	got := s.awaitResponse(t, intOf(t, r3["id"]), 30*time.Second)
	if got["status"] != "succeeded" || got["output"] != "fake: interrupting" {
		t.Errorf("the interrupting turn = %v", got)
	}
	// The cancelled turn left no dangling question in the history.
	want := []string{"system:You are Busy.", "user:interrupting"}
	if req := requestWith(t, s.Fake, "interrupting"); !slices.Equal(roles(req), want) {
		t.Errorf("after an interrupt the provider got %q, want %q", roles(req), want)
	}
}

func TestCancelEndsTheRunAndTheThreadGoesOn(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Cancel")
	r0 := s.run(t, id, map[string]any{"messages": "hello"})
	s.Fake.Block()
	r1 := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"messages": "never mind", "root_id": r0["id"]}, nil))
	<-s.Fake.Arrived()
	<-s.Fake.Arrived() // the first was "hello", answered before Block
	s.must(t, http.StatusOK, "POST", path("/agent-responses/%v/cancel", r1["id"]), nil, nil)
	got := s.awaitResponse(t, intOf(t, r1["id"]), 30*time.Second)
	if got["status"] != "failed" || got["error"] == nil {
		t.Errorf("cancelled execution = %v, want failed with an error", got)
	}
	s.Fake.Release()
	s.run(t, id, map[string]any{"messages": "next turn", "root_id": r0["id"]})
	want := []string{"system:You are Cancel.", "user:hello", "assistant:fake: hello", "user:next turn"}
	if got := roles(requestWith(t, s.Fake, "next turn")); !slices.Equal(got, want) {
		t.Errorf("after a cancel the provider got %q, want %q", got, want)
	}
	if status, _ := s.do(t, "POST", "/agent-responses/987654/cancel", nil, nil); status != http.StatusNotFound {
		t.Errorf("cancel of an unknown execution: HTTP %d, want 404", status)
	}
}

func TestStreamSendsRunningChunksThenCompleted(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Handler: func(*llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Content: "Hello there friend", Chunks: []string{"Hello", " there", " friend"}, PromptTokens: 3, CompletionTokens: 3}
	}})
	id := s.chatAgent(t, "Streamer")
	res := s.doRaw(t, "POST", path("/agents/%d/execute", id), map[string]any{"messages": "stream please", "stream": true}, nil)
	if res.Status != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: HTTP %d %q %s", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	var events []map[string]any
	for line := range strings.SplitSeq(string(res.Body), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		events = append(events, ev)
	}
	if len(events) < 2 {
		t.Fatalf("events = %v", events)
	}
	var text strings.Builder
	for _, ev := range events[:len(events)-1] {
		if ev["status"] != "running" {
			t.Errorf("intermediate event %v, want status running", ev)
		}
		text.WriteString(ev["output"].(string))
	}
	if text.String() != "Hello there friend" {
		t.Errorf("streamed text = %q", text.String())
	}
	last := events[len(events)-1]
	if last["status"] != "completed" || last["output"] != "" || last["credits"] == nil {
		t.Errorf("last event = %v, want completed with credits and empty output", last)
	}
	exID := intOf(t, last["id"])
	if intOf(t, last["root_id"]) != exID || intOf(t, last["template_id"]) != id {
		t.Errorf("last event ids = %v", last)
	}
	if got := s.awaitResponse(t, exID, 10*time.Second); got["status"] != "succeeded" || got["output"] != "Hello there friend" {
		t.Errorf("polled after the stream = %v", got)
	}
	text2 := textAgent(t, s.api)
	if status, _ := s.execute(t, text2, map[string]any{"topic": "x", "stream": true}, nil); status != http.StatusUnprocessableEntity {
		t.Errorf("stream on a text agent: HTTP %d, want 422", status)
	}
}

func TestWaitIsBoundedByMaxWait(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Env: map[string]string{"TESSERA_MAX_WAIT": "1s"}})
	id := s.chatAgent(t, "Slow")
	s.Fake.Block()
	start := time.Now()
	r := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute?waitExecution=true", id), map[string]any{"messages": "take your time"}, nil))
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a wait bounded by 1s took %v", d)
	}
	if r["status"] != "running" && r["status"] != "starting" {
		t.Errorf("after the wait bound: %v, want the current non-terminal state to poll", r)
	}
	s.Fake.Release()
	if got := s.awaitResponse(t, intOf(t, r["id"]), 30*time.Second); got["status"] != "succeeded" {
		t.Errorf("polled = %v", got)
	}
}

func TestHungProviderTimesOutAndTheThreadGoesOn(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Env: map[string]string{"TESSERA_EXECUTION_TIMEOUT": "1s"}})
	id := s.chatAgent(t, "Hung")
	r0 := s.run(t, id, map[string]any{"messages": "quick"})
	s.Fake.Block()
	r1 := first(t, s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", id), map[string]any{"messages": "hang", "root_id": r0["id"]}, nil))
	got := s.awaitResponse(t, intOf(t, r1["id"]), 30*time.Second)
	if got["status"] != "failed" || got["error"] == nil {
		t.Fatalf("a run past the execution timeout = %v, want failed with an error", got)
	}
	s.Fake.Release()
	s.run(t, id, map[string]any{"messages": "after", "root_id": r0["id"]})
	want := []string{"system:You are Hung.", "user:quick", "assistant:fake: quick", "user:after"}
	if got := roles(requestWith(t, s.Fake, "after")); !slices.Equal(got, want) {
		t.Errorf("after a timeout the provider got %q, want %q", got, want)
	}
}
