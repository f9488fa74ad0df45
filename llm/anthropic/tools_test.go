package anthropic_test

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/anthropic"
)

// weatherSchema is written with whitespace and with properties in an
// order that sorting would change.
const weatherSchema = `{
	"type": "object",
	"properties": {"unit": {"enum": ["c", "f"]}, "city": {"type": "string"}},
	"required": ["city"]
}`

func TestToolRequestWire(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	req := &llm.Request{
		Model: "m",
		Tools: []llm.ToolDef{
			{Name: "weather", Description: "Current weather.", Parameters: []byte(weatherSchema)},
			{Name: "now"},
		},
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "Use tools."},
			{Role: llm.RoleUser, Content: "weather in Paris?"},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
				{ID: "toolu_1", Name: "weather", Arguments: `{"city": "Paris"}`},
				{ID: "toolu_2", Name: "now"},
			}},
			{Role: llm.RoleTool, ToolCallID: "toolu_1", Content: "sunny"},
			{Role: llm.RoleTool, ToolCallID: "toolu_2"},
			{Role: llm.RoleAssistant, Content: "And the time again:", ToolCalls: []llm.ToolCall{
				{ID: "toolu_3", Name: "now", Arguments: `{"tz": "Europe/Par`}, // malformed
				{ID: "toolu_4", Name: "now", Arguments: `["not", "an object"]`},
			}},
			{Role: llm.RoleTool, ToolCallID: "toolu_3", Content: "error: bad arguments"},
			{Role: llm.RoleTool, ToolCallID: "toolu_4", Content: "12:00"},
			{Role: llm.RoleUser, Content: "thanks"},
		},
	}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	want := jsonOf(t, `{
		"model": "m",
		"max_tokens": 4096,
		"system": [{"type": "text", "text": "Use tools."}],
		"messages": [
			{"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]},
			{"role": "assistant", "content": [
				{"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
				{"type": "tool_use", "id": "toolu_2", "name": "now", "input": {}}
			]},
			{"role": "user", "content": [
				{"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "sunny"}]},
				{"type": "tool_result", "tool_use_id": "toolu_2"}
			]},
			{"role": "assistant", "content": [
				{"type": "text", "text": "And the time again:"},
				{"type": "tool_use", "id": "toolu_3", "name": "now", "input": {}},
				{"type": "tool_use", "id": "toolu_4", "name": "now", "input": {}}
			]},
			{"role": "user", "content": [
				{"type": "tool_result", "tool_use_id": "toolu_3", "content": [{"type": "text", "text": "error: bad arguments"}]},
				{"type": "tool_result", "tool_use_id": "toolu_4", "content": [{"type": "text", "text": "12:00"}]},
				{"type": "text", "text": "thanks"}
			]}
		],
		"tools": [
			{"name": "weather", "description": "Current weather.", "input_schema": {
				"type": "object",
				"properties": {"unit": {"enum": ["c", "f"]}, "city": {"type": "string"}},
				"required": ["city"]
			}},
			{"name": "now", "input_schema": {"type": "object", "properties": {}}}
		]
	}`)
	if !reflect.DeepEqual(r.body, want) {
		t.Errorf("body =\n%v\nwant\n%v", r.body, want)
	}
	// The schema goes out as written, in its order, only compacted.
	const compact = `"input_schema":{"type":"object","properties":{"unit":{"enum":["c","f"]},"city":{"type":"string"}},"required":["city"]}`
	if !strings.Contains(string(r.raw), compact) {
		t.Errorf("raw body %s does not contain %s", r.raw, compact)
	}
}

// TestToolResultsGoFirst checks that in a user turn made of a text and
// then tool results, the results are moved first, as the API requires.
func TestToolResultsGoFirst(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	req := &llm.Request{Model: "m", Messages: []llm.Message{
		{Role: llm.RoleUser, Content: "go"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "a", Name: "f", Arguments: "{}"}, {ID: "b", Name: "f", Arguments: "{}"}}},
		{Role: llm.RoleTool, ToolCallID: "a", Content: "1"},
		{Role: llm.RoleUser, Content: "hurry"},
		{Role: llm.RoleTool, ToolCallID: "b", Content: "2"},
	}}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	messages := f.only(t).body["messages"].([]any)
	want := jsonOf(t, `{"role": "user", "content": [
		{"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": "1"}]},
		{"type": "tool_result", "tool_use_id": "b", "content": [{"type": "text", "text": "2"}]},
		{"type": "text", "text": "hurry"}
	]}`)
	if len(messages) != 3 || !reflect.DeepEqual(messages[2], want) {
		t.Errorf("messages = %v, want the last\n%v", messages, want)
	}
}

func TestNoToolsNoToolsKey(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	req := userRequest("x")
	req.Tools = []llm.ToolDef{}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	if body := f.only(t).body; body["tools"] != nil {
		t.Errorf("tools = %v, want no key", body["tools"])
	}
}

func TestInvalidToolRequestsAreNotSent(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(200, okMessage))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	user := llm.Message{Role: llm.RoleUser, Content: "x"}
	cases := map[string]*llm.Request{
		"tool without call ID": {Model: "m", Messages: []llm.Message{user, {Role: llm.RoleTool, Content: "r"}}},
		"call ID on user":      {Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x", ToolCallID: "c"}}},
		"tool calls on user":   {Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f"}}}}},
		"call without ID":      {Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{Name: "f"}}}}},
		"call without name":    {Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c"}}}}},
		"tool without name":    {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Description: "d"}}},
		"schema not an object": {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "f", Parameters: []byte(`["a"]`)}}},
		"schema not JSON":      {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "f", Parameters: []byte(`{"type":`)}}},
		"schema null":          {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "f", Parameters: []byte(`null`)}}},
	}
	for name, req := range cases {
		_, err := p.Generate(context.Background(), req, nil)
		if e := asLLMError(t, err); e.Kind != llm.ErrKindInvalid || e.StatusCode != 0 {
			t.Errorf("%s: error %+v, want invalid", name, e)
		}
	}
	_, err := p.Generate(context.Background(), cases["tool without call ID"], nil)
	if e := asLLMError(t, err); e.Message != "message 1 is a tool message without a tool call ID" {
		t.Errorf("message = %q", e.Message)
	}
	if n := f.count(); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

var wantCalls = []llm.ToolCall{
	{ID: "toolu_01A", Name: "weather", Arguments: `{"city":"Paris","unit":"c"}`},
	{ID: "toolu_01B", Name: "now", Arguments: `{}`},
}

func TestGenerateToolCalls(t *testing.T) {
	t.Parallel()
	whole := message(
		textBlock("Let me check.")+
			`,{"type":"tool_use","id":"toolu_01A","name":"weather","input":{"city": "Paris", "unit": "c"}}`+
			`,{"type":"tool_use","id":"toolu_01B","name":"now","input":{}}`,
		"tool_use", `{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":9}`)
	streamed := []event{
		messageStart(`{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}`),
		textStart(0), textDelta(0, "Let me"), textDelta(0, " check."), blockStop(0),
		toolStart(1, "toolu_01A", "weather"),
		jsonDelta(1, ""), jsonDelta(1, `{"city": "Pa`), ping, jsonDelta(1, `ris", "unit"`), jsonDelta(1, `: "c"}`),
		blockStop(1),
		toolStart(2, "toolu_01B", "now"), jsonDelta(2, ""), blockStop(2),
		messageDelta("tool_use", 9),
		messageStop,
	}
	want := llm.Response{Content: "Let me check.", ToolCalls: wantCalls, FinishReason: "tool_calls", Model: "claude-test-1",
		Usage: llm.Usage{InputTokens: 20, OutputTokens: 9}}
	for name, tc := range map[string]struct {
		f      func(t *testing.T) *fake
		stream bool
		deltas string
	}{
		"whole":    {f: func(t *testing.T) *fake { return newFake(t, replying(200, whole)) }},
		"streamed": {f: func(t *testing.T) *fake { return newFake(t, streaming(streamed...)) }, stream: true, deltas: "Let me| check."},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, anthropic.Config{BaseURL: tc.f(t).URL})
			req := userRequest("weather and time?")
			req.Tools = []llm.ToolDef{{Name: "weather", Parameters: []byte(weatherSchema)}, {Name: "now"}}
			resp, deltas, err := generate(context.Background(), p, req, tc.stream)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*resp, want) {
				t.Errorf("response = %+v\nwant       %+v", *resp, want)
			}
			// Tool input deltas never reach the stream func.
			if got := strings.Join(deltas, "|"); got != tc.deltas {
				t.Errorf("deltas = %q, want %q", got, tc.deltas)
			}
		})
	}
}

// TestStreamToolCallCutOff checks that a call cut off by max_tokens keeps
// the arguments the model wrote, for the caller to refuse, rather than the
// {} the SDK's accumulator puts in their place.
func TestStreamToolCallCutOff(t *testing.T) {
	t.Parallel()
	f := newFake(t, streaming(
		messageStart(smallUsage),
		toolStart(0, "toolu_01A", "weather"), jsonDelta(0, `{"city": "Par`), blockStop(0),
		messageDelta("max_tokens", 5),
		messageStop,
	))
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	resp, _, err := generate(context.Background(), p, userRequest("x"), true)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.ToolCall{{ID: "toolu_01A", Name: "weather", Arguments: `{"city": "Par`}}
	if !reflect.DeepEqual(resp.ToolCalls, want) || resp.FinishReason != "length" {
		t.Errorf("response = %+v, want calls %+v and finish reason length", resp, want)
	}
}

// TestToolLoop plays the exchange the agent loop has: a streamed answer
// asking for a tool, its result sent back, the final answer.
func TestToolLoop(t *testing.T) {
	t.Parallel()
	answers := make(chan []event, 2)
	answers <- []event{
		messageStart(smallUsage),
		toolStart(0, "toolu_01A", "weather"), jsonDelta(0, `{"city":"Paris"}`), blockStop(0),
		messageDelta("tool_use", 5), messageStop,
	}
	answers <- textStream("Sunny.")
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) { writeSSE(w, <-answers...) })
	p := newProvider(t, anthropic.Config{BaseURL: f.URL})
	req := userRequest("weather?")
	req.Tools = []llm.ToolDef{{Name: "weather", Parameters: []byte(weatherSchema)}}
	first, _, err := generate(context.Background(), p, req, true)
	if err != nil {
		t.Fatal(err)
	}
	req.Messages = append(req.Messages,
		llm.Message{Role: llm.RoleAssistant, Content: first.Content, ToolCalls: first.ToolCalls},
		llm.Message{Role: llm.RoleTool, ToolCallID: first.ToolCalls[0].ID, Content: "sunny"})
	second, _, err := generate(context.Background(), p, req, true)
	if err != nil {
		t.Fatal(err)
	}
	if second.Content != "Sunny." || second.FinishReason != "stop" || second.ToolCalls != nil {
		t.Errorf("second answer = %+v", second)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := jsonOf(t, `[
		{"role": "user", "content": [{"type": "text", "text": "weather?"}]},
		{"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01A", "name": "weather", "input": {"city": "Paris"}}]},
		{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01A", "content": [{"type": "text", "text": "sunny"}]}]}
	]`)
	if got := f.reqs[1].body["messages"]; !reflect.DeepEqual(got, want) {
		t.Errorf("history =\n%v\nwant\n%v", got, want)
	}
}
