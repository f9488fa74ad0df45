package openai_test

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/llmtest"
	"github.com/tessera-run/tessera/llm/openai"
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
	var c capture
	p := newProvider(t, openai.Config{BaseURL: completionServer(t, &c)})
	req := &llm.Request{
		Model: "m",
		Tools: []llm.ToolDef{
			{Name: "weather", Description: "Current weather.", Parameters: []byte(weatherSchema)},
			{Name: "now"},
		},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Content: "weather in Paris?"},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
				{ID: "c1", Name: "weather", Arguments: `{"city":"Paris"}`},
				{ID: "c2", Name: "now"},
			}},
			{Role: llm.RoleTool, ToolCallID: "c1", Content: "sunny"},
			{Role: llm.RoleTool, ToolCallID: "c2"},
			{Role: llm.RoleAssistant, Content: "And the time again:", ToolCalls: []llm.ToolCall{{ID: "c3", Name: "now", Arguments: "{bad"}}},
			{Role: llm.RoleTool, ToolCallID: "c3", Content: "12:00"},
		},
	}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	body, _, _ := c.only(t)
	call := func(id, name, args string) any {
		return map[string]any{"id": id, "type": "function", "function": map[string]any{"name": name, "arguments": args}}
	}
	want := map[string]any{
		"model": "m",
		"messages": []any{
			map[string]any{"role": "user", "content": "weather in Paris?"},
			// No content at all next to tool calls, as the API allows.
			map[string]any{"role": "assistant", "tool_calls": []any{
				call("c1", "weather", `{"city":"Paris"}`),
				call("c2", "now", "{}"), // no arguments are sent as {}
			}},
			map[string]any{"role": "tool", "tool_call_id": "c1", "content": "sunny"},
			map[string]any{"role": "tool", "tool_call_id": "c2", "content": ""},
			map[string]any{"role": "assistant", "content": "And the time again:", "tool_calls": []any{call("c3", "now", "{bad")}},
			map[string]any{"role": "tool", "tool_call_id": "c3", "content": "12:00"},
		},
		"tools": []any{
			map[string]any{"type": "function", "function": map[string]any{
				"name": "weather", "description": "Current weather.",
				"parameters": map[string]any{
					"type":       "object",
					"properties": map[string]any{"unit": map[string]any{"enum": []any{"c", "f"}}, "city": map[string]any{"type": "string"}},
					"required":   []any{"city"},
				},
			}},
			map[string]any{"type": "function", "function": map[string]any{
				"name": "now", "parameters": map[string]any{"type": "object", "properties": map[string]any{}},
			}},
		},
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body =\n%v\nwant\n%v", body, want)
	}
	// The schema goes out as written, in its order, only compacted.
	const compact = `"parameters":{"type":"object","properties":{"unit":{"enum":["c","f"]},"city":{"type":"string"}},"required":["city"]}`
	if raw := string(c.raws[0]); !strings.Contains(raw, compact) {
		t.Errorf("raw body %s does not contain %s", raw, compact)
	}
}

func TestNoToolsNoToolsKey(t *testing.T) {
	t.Parallel()
	var c capture
	p := newProvider(t, openai.Config{BaseURL: completionServer(t, &c)})
	req := userRequest("x")
	req.Tools = []llm.ToolDef{}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	if body, _, _ := c.only(t); body["tools"] != nil {
		t.Errorf("tools = %v, want no key", body["tools"])
	}
}

func TestInvalidToolRequestsAreNotSent(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	user := llm.Message{Role: llm.RoleUser, Content: "x"}
	cases := map[string]*llm.Request{
		"unknown role":          {Model: "m", Messages: []llm.Message{{Role: "function", Content: "x"}}},
		"tool without call ID":  {Model: "m", Messages: []llm.Message{user, {Role: llm.RoleTool, Content: "r"}}},
		"call ID on user":       {Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "x", ToolCallID: "c"}}},
		"tool calls on user":    {Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, ToolCalls: []llm.ToolCall{{ID: "c", Name: "f"}}}}},
		"call without ID":       {Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{Name: "f"}}}}},
		"call without name":     {Model: "m", Messages: []llm.Message{{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c"}}}}},
		"tool without name":     {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Description: "d"}}},
		"schema not an object":  {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "f", Parameters: []byte(`["a"]`)}}},
		"schema not JSON":       {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "f", Parameters: []byte(`{"type":`)}}},
		"schema null":           {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "f", Parameters: []byte(`null`)}}},
		"second tool no schema": {Model: "m", Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "f"}, {Name: "g", Parameters: []byte(`"x"`)}}},
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
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

var scriptedCalls = []llmtest.ToolCall{
	{ID: "call_a", Name: "weather", Arguments: `{"city":"Paris","unit":"c"}`},
	{ID: "call_b", Name: "now", Arguments: `{"tz": "Europe/Par`}, // malformed: passed on untouched
}

var wantScriptedCalls = []llm.ToolCall{
	{ID: "call_a", Name: "weather", Arguments: `{"city":"Paris","unit":"c"}`},
	{ID: "call_b", Name: "now", Arguments: `{"tz": "Europe/Par`},
}

func TestGenerateToolCalls(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		reply     llmtest.Reply
		streaming bool
		want      llm.Response
		deltas    string
	}{
		"whole": {
			reply: llmtest.Reply{ToolCalls: scriptedCalls, PromptTokens: 20, CompletionTokens: 9},
			want: llm.Response{ToolCalls: wantScriptedCalls, FinishReason: "tool_calls", Model: "m",
				Usage: llm.Usage{InputTokens: 20, OutputTokens: 9}},
		},
		"streamed": {
			reply: llmtest.Reply{ToolCalls: scriptedCalls, PromptTokens: 20, CompletionTokens: 9}, streaming: true,
			want: llm.Response{ToolCalls: wantScriptedCalls, FinishReason: "tool_calls", Model: "m",
				Usage: llm.Usage{InputTokens: 20, OutputTokens: 9}},
		},
		"streamed single": {
			reply: llmtest.Reply{ToolCalls: scriptedCalls[:1]}, streaming: true,
			want: llm.Response{ToolCalls: wantScriptedCalls[:1], FinishReason: "tool_calls", Model: "m"},
		},
		"streamed interleaved": {
			reply: llmtest.Reply{ToolCalls: scriptedCalls, InterleaveToolCalls: true}, streaming: true,
			want: llm.Response{ToolCalls: wantScriptedCalls, FinishReason: "tool_calls", Model: "m"},
		},
		"whole with content": {
			reply: llmtest.Reply{Content: "Let me check.", ToolCalls: scriptedCalls[1:]},
			want:  llm.Response{Content: "Let me check.", ToolCalls: wantScriptedCalls[1:], FinishReason: "tool_calls", Model: "m"},
		},
		"streamed with content": {
			reply: llmtest.Reply{Content: "Let me check.", ToolCalls: scriptedCalls, InterleaveToolCalls: true}, streaming: true,
			want:   llm.Response{Content: "Let me check.", ToolCalls: wantScriptedCalls, FinishReason: "tool_calls", Model: "m"},
			deltas: "Let| me| check.",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(tc.reply)})
			p := newProvider(t, openai.Config{BaseURL: srv.URL})
			req := userRequest("weather and time?")
			req.Tools = []llm.ToolDef{{Name: "weather"}, {Name: "now"}}
			resp, deltas, err := generate(context.Background(), p, req, tc.streaming)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*resp, tc.want) {
				t.Errorf("response = %+v, want %+v", *resp, tc.want)
			}
			// Tool-call deltas never reach the stream func.
			if got := strings.Join(deltas, "|"); got != tc.deltas {
				t.Errorf("deltas = %q, want %q", got, tc.deltas)
			}
		})
	}
}

// toolChunk is a stream chunk whose first choice carries the given
// tool-call deltas, and finish as its finish reason unless empty.
func toolChunk(finish string, calls ...string) string {
	f := "null"
	if finish != "" {
		f = `"` + finish + `"`
	}
	return `{"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"tool_calls":[` +
		strings.Join(calls, ",") + `]},"finish_reason":` + f + `}]}`
}

const finishChunk = `{"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}`

// TestStreamToolCallShapes feeds the provider the tool-call streams of
// the servers out there, exactly.
func TestStreamToolCallShapes(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		events  []string
		want    []llm.ToolCall
		finish  string // default tool_calls
		content string
	}{
		"OpenAI: one call in pieces": {
			events: []string{
				toolChunk("", `{"index":0,"id":"call_1","type":"function","function":{"name":"weather","arguments":""}}`),
				toolChunk("", `{"index":0,"function":{"arguments":"{\"ci"}}`),
				toolChunk("", `{"index":0,"function":{"arguments":"ty\":\"Paris\"}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "call_1", Name: "weather", Arguments: `{"city":"Paris"}`}},
		},
		"parallel calls interleaved": {
			events: []string{
				toolChunk("", `{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":""}}`),
				toolChunk("", `{"index":1,"id":"b","type":"function","function":{"name":"g","arguments":"{\"y"}}`),
				toolChunk("", `{"index":0,"function":{"arguments":"{\"x\":"}}`),
				toolChunk("", `{"index":1,"function":{"arguments":"\":2"}}`),
				toolChunk("", `{"index":1,"function":{"arguments":"}"}}`),
				toolChunk("", `{"index":0,"function":{"arguments":"1}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{"x":1}`}, {ID: "b", Name: "g", Arguments: `{"y":2}`}},
		},
		"no index on continuation chunks": {
			events: []string{
				toolChunk("", `{"index":0,"id":"a","type":"function","function":{"name":"f"}}`),
				toolChunk("", `{"function":{"arguments":"{\"x\":"}}`),
				toolChunk("", `{"function":{"arguments":"1}"}}`),
				toolChunk("", `{"index":1,"id":"b","type":"function","function":{"name":"g"}}`),
				toolChunk("", `{"function":{"arguments":"{}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{"x":1}`}, {ID: "b", Name: "g", Arguments: `{}`}},
		},
		"no index at all, IDs on first chunks": {
			events: []string{
				toolChunk("", `{"id":"a","type":"function","function":{"name":"f","arguments":"{\"x\""}}`),
				toolChunk("", `{"function":{"arguments":":1}"}}`),
				toolChunk("", `{"id":"b","type":"function","function":{"name":"g","arguments":""}}`),
				toolChunk("", `{"function":{"arguments":"{}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{"x":1}`}, {ID: "b", Name: "g", Arguments: `{}`}},
		},
		"no index, no ID": {
			events: []string{
				toolChunk("", `{"function":{"name":"f","arguments":""}}`),
				toolChunk("", `{"function":{"arguments":"{\"a\":1}"}}`),
				toolChunk("", `{"function":{"name":"g","arguments":"{}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "call_0", Name: "f", Arguments: `{"a":1}`}, {ID: "call_1", Name: "g", Arguments: `{}`}},
		},
		"Ollama: whole calls in the finishing chunk": {
			events: []string{
				toolChunk("tool_calls",
					`{"index":0,"id":"call_x","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}`,
					`{"index":1,"id":"call_y","type":"function","function":{"name":"g","arguments":"{}"}}`),
			},
			want: []llm.ToolCall{{ID: "call_x", Name: "f", Arguments: `{"a":1}`}, {ID: "call_y", Name: "g", Arguments: `{}`}},
		},
		"the same function twice, no index, no ID": {
			events: []string{
				toolChunk("", `{"function":{"name":"f","arguments":"{\"n\":1}"}}`),
				toolChunk("", `{"function":{"name":"f","arguments":"{\"n\":2}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "call_0", Name: "f", Arguments: `{"n":1}`}, {ID: "call_1", Name: "f", Arguments: `{"n":2}`}},
		},
		"every call at index 0, each with its ID": {
			events: []string{
				toolChunk("", `{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{"}}`),
				toolChunk("", `{"index":0,"function":{"arguments":"}"}}`),
				toolChunk("", `{"index":0,"id":"b","type":"function","function":{"name":"g","arguments":"{}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{}`}, {ID: "b", Name: "g", Arguments: `{}`}},
		},
		"ID and name repeated on every chunk": {
			events: []string{
				toolChunk("", `{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"a\""}}`),
				toolChunk("", `{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":":1}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{"a":1}`}},
		},
		"ID late, name in pieces": {
			events: []string{
				toolChunk("", `{"index":0,"function":{"name":"get_"}}`),
				toolChunk("", `{"index":0,"function":{"name":"weather"}}`),
				toolChunk("", `{"index":0,"id":"late","function":{"arguments":"{}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "late", Name: "get_weather", Arguments: `{}`}},
		},
		"index -1": {
			events: []string{
				toolChunk("", `{"index":-1,"id":"a","type":"function","function":{"name":"f","arguments":"{"}}`),
				toolChunk("", `{"index":-1,"function":{"arguments":"}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{}`}},
		},
		"sparse index": {
			events: []string{
				toolChunk("", `{"index":1000,"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{}`}},
		},
		"generated ID avoids a sent one": {
			events: []string{
				toolChunk("", `{"index":0,"function":{"name":"f","arguments":"{}"}}`),
				toolChunk("", `{"index":1,"id":"call_0","function":{"name":"g","arguments":"{}"}}`),
				finishChunk,
			},
			want: []llm.ToolCall{{ID: "call_0_1", Name: "f", Arguments: `{}`}, {ID: "call_0", Name: "g", Arguments: `{}`}},
		},
		"finish reason stop, malformed arguments": {
			events: []string{
				toolChunk("", `{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{\"city\": \"Par"}}`),
				toolChunk("stop"),
			},
			want:   []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{"city": "Par`}},
			finish: "stop",
		},
		"content, then a call": {
			events: []string{
				`{"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Checking"}}]}`,
				`{"id":"s","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":null,"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]}}]}`,
				finishChunk,
			},
			want:    []llm.ToolCall{{ID: "a", Name: "f", Arguments: `{}`}},
			content: "Checking",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
				writeSSE(w, append(tc.events, "[DONE]")...)
			})
			p := newProvider(t, openai.Config{BaseURL: srv.URL})
			resp, deltas, err := generate(context.Background(), p, userRequest("x"), true)
			if err != nil {
				t.Fatal(err)
			}
			finish := tc.finish
			if finish == "" {
				finish = "tool_calls"
			}
			want := llm.Response{Content: tc.content, ToolCalls: tc.want, FinishReason: finish, Model: "m"}
			if !reflect.DeepEqual(*resp, want) {
				t.Errorf("response = %+v\nwant       %+v", *resp, want)
			}
			if got := strings.Join(deltas, ""); got != tc.content {
				t.Errorf("deltas = %q, want %q", deltas, tc.content)
			}
		})
	}
}

func TestToolCallsWithoutIDs(t *testing.T) {
	t.Parallel()
	srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"tool_calls",
"message":{"role":"assistant","content":null,"tool_calls":[
 {"type":"function","function":{"name":"f","arguments":"{bad"}},
 {"function":{"name":"g","arguments":""}},
 {"id":"x","type":"custom","custom":{"name":"grammar","input":"raw text"}}]}}]}`)
	})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	resp, err := p.Generate(context.Background(), userRequest("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := llm.Response{FinishReason: "tool_calls", Model: "m", ToolCalls: []llm.ToolCall{
		{ID: "call_0", Name: "f", Arguments: "{bad"},
		{ID: "call_1", Name: "g"},
		{ID: "x", Name: "grammar", Arguments: "raw text"},
	}}
	if !reflect.DeepEqual(*resp, want) {
		t.Errorf("response = %+v, want %+v", *resp, want)
	}
}

// TestToolLoop plays the exchange the agent loop will have: a call asking
// for tools, the results sent back, the final answer. The fake server
// checks the history as OpenAI does.
func TestToolLoop(t *testing.T) {
	t.Parallel()
	for _, streaming := range []bool{false, true} {
		srv := llmtest.NewTest(t, llmtest.Config{Handler: llmtest.Script(
			llmtest.Reply{ToolCalls: []llmtest.ToolCall{
				{Name: "weather", Arguments: `{"city":"Paris"}`},
				{Name: "now"}, // no arguments at all
			}, InterleaveToolCalls: true},
			llmtest.Reply{Content: "Sunny, and noon."},
		)})
		p := newProvider(t, openai.Config{BaseURL: srv.URL})
		req := userRequest("weather and time?")
		req.Tools = []llm.ToolDef{{Name: "weather", Parameters: []byte(weatherSchema)}, {Name: "now", Description: "The time."}}
		first, _, err := generate(context.Background(), p, req, streaming)
		if err != nil {
			t.Fatal(err)
		}
		wantCalls := []llm.ToolCall{{ID: "call_1_0", Name: "weather", Arguments: `{"city":"Paris"}`}, {ID: "call_1_1", Name: "now"}}
		if !reflect.DeepEqual(first.ToolCalls, wantCalls) || first.FinishReason != "tool_calls" {
			t.Fatalf("streaming %v: first answer = %+v", streaming, first)
		}
		req.Messages = append(req.Messages,
			llm.Message{Role: llm.RoleAssistant, Content: first.Content, ToolCalls: first.ToolCalls},
			llm.Message{Role: llm.RoleTool, ToolCallID: "call_1_1", Content: "12:00"},
			llm.Message{Role: llm.RoleTool, ToolCallID: "call_1_0", Content: "sunny"},
		)
		second, _, err := generate(context.Background(), p, req, streaming)
		if err != nil {
			t.Fatal(err)
		}
		if second.Content != "Sunny, and noon." || second.ToolCalls != nil || second.FinishReason != "stop" {
			t.Errorf("streaming %v: second answer = %+v", streaming, second)
		}
		r := srv.Requests()[1]
		sent := []llmtest.ToolCall{{ID: "call_1_0", Name: "weather", Arguments: `{"city":"Paris"}`}, {ID: "call_1_1", Name: "now", Arguments: "{}"}}
		if got := r.Messages[1].ToolCalls(); !reflect.DeepEqual(got, sent) {
			t.Errorf("streaming %v: the history's tool calls = %+v, want %+v", streaming, got, sent)
		}
		if res, ok := r.ToolResult("call_1_0"); !ok || res != "sunny" {
			t.Errorf("streaming %v: tool result = %q, %v", streaming, res, ok)
		}
		wantTool := llmtest.Tool{Name: "now", Description: "The time.", Parameters: []byte(`{"type":"object","properties":{}}`)}
		if len(r.Tools) != 2 || !reflect.DeepEqual(r.Tools[1], wantTool) {
			t.Errorf("streaming %v: tools = %+v", streaming, r.Tools)
		}
	}
}
