package gemini_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/gemini"
)

// weatherSchema is written with whitespace and with properties in an
// order that sorting would change.
const weatherSchema = `{
	"type": "object",
	"properties": {"unit": {"enum": ["c", "f"]}, "city": {"type": "string"}},
	"required": ["city"]
}`

func functionCall(name string, args map[string]any, extra ...any) any {
	fc := map[string]any{"name": name}
	if args != nil {
		fc["args"] = args
	}
	if len(extra) > 0 {
		fc["id"] = extra[0]
	}
	return map[string]any{"functionCall": fc}
}

func signed(part any) any {
	part.(map[string]any)["thoughtSignature"] = "skip_thought_signature_validator"
	return part
}

func functionResponse(name, output string, id ...string) any {
	fr := map[string]any{"name": name, "response": map[string]any{"output": output}}
	if len(id) > 0 {
		fr["id"] = id[0]
	}
	return map[string]any{"functionResponse": fr}
}

func TestToolRequestWire(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	req := &llm.Request{
		Model: "m",
		Tools: []llm.ToolDef{
			{Name: "weather", Description: "Current weather.", Parameters: []byte(weatherSchema)},
			{Name: "now"},
		},
		Messages: []llm.Message{
			{Role: llm.RoleUser, Content: "weather in Paris?"},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
				{ID: "call_0", Name: "weather", Arguments: `{"city":"Paris"}`}, // made up here: not sent
				{ID: "f9x2kq1a", Name: "now"},                                  // Gemini's own: sent back
			}},
			// The results in another order than the calls, merged into one content.
			{Role: llm.RoleTool, ToolCallID: "f9x2kq1a", Content: "12:00"},
			{Role: llm.RoleTool, ToolCallID: "call_0", Content: "sunny"},
			{Role: llm.RoleAssistant, Content: "And again:", ToolCalls: []llm.ToolCall{{ID: "call_0", Name: "now", Arguments: "{bad"}}},
			// call_0 again: the latest call with that ID is the one answered.
			{Role: llm.RoleTool, ToolCallID: "call_0", Content: "12:01"},
		},
	}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	wantContents := []any{
		map[string]any{"role": "user", "parts": []any{text("weather in Paris?")}},
		map[string]any{"role": "model", "parts": []any{
			signed(functionCall("weather", map[string]any{"city": "Paris"})), // the first call of a turn carries the signature
			functionCall("now", nil, "f9x2kq1a"),
		}},
		map[string]any{"role": "user", "parts": []any{
			functionResponse("now", "12:00", "f9x2kq1a"),
			functionResponse("weather", "sunny"),
		}},
		map[string]any{"role": "model", "parts": []any{text("And again:"), signed(functionCall("now", nil))}},
		map[string]any{"role": "user", "parts": []any{functionResponse("now", "12:01")}},
	}
	if got := r.Body["contents"]; !reflect.DeepEqual(got, wantContents) {
		t.Errorf("contents =\n%v\nwant\n%v", got, wantContents)
	}
	wantTools := []any{map[string]any{"functionDeclarations": []any{
		map[string]any{"name": "weather", "description": "Current weather.", "parametersJsonSchema": map[string]any{
			"type":       "object",
			"properties": map[string]any{"unit": map[string]any{"enum": []any{"c", "f"}}, "city": map[string]any{"type": "string"}},
			"required":   []any{"city"},
		}},
		map[string]any{"name": "now"},
	}}}
	if got := r.Body["tools"]; !reflect.DeepEqual(got, wantTools) {
		t.Errorf("tools =\n%v\nwant\n%v", got, wantTools)
	}
	// The schema goes out as written, in its order, only compacted.
	const compact = `"parametersJsonSchema":{"type":"object","properties":{"unit":{"enum":["c","f"]},"city":{"type":"string"}},"required":["city"]}`
	if !strings.Contains(string(r.Raw), compact) {
		t.Errorf("raw body %s does not contain %s", r.Raw, compact)
	}
}

func TestNoToolsNoToolsKey(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	req := userRequest("x")
	req.Tools = []llm.ToolDef{}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	if body := f.only(t).Body; body["tools"] != nil {
		t.Errorf("tools = %v, want no key", body["tools"])
	}
}

func TestInvalidToolRequestsAreNotSent(t *testing.T) {
	t.Parallel()
	f := okServer(t)
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	user := llm.Message{Role: llm.RoleUser, Content: "x"}
	call := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "f"}}}
	cases := map[string]*llm.Request{
		"unknown role":         {Model: "m", Messages: []llm.Message{{Role: "function", Content: "x"}}},
		"tool without call ID": {Model: "m", Messages: []llm.Message{user, {Role: llm.RoleTool, Content: "r"}}},
		"unknown call ID":      {Model: "m", Messages: []llm.Message{user, call, {Role: llm.RoleTool, ToolCallID: "c2", Content: "r"}}},
		"result before call":   {Model: "m", Messages: []llm.Message{user, {Role: llm.RoleTool, ToolCallID: "c1", Content: "r"}, call}},
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
	_, err := p.Generate(context.Background(), cases["unknown call ID"], nil)
	if e := asLLMError(t, err); e.Message != `message 2 answers tool call "c2", which no earlier assistant message made` {
		t.Errorf("message = %q", e.Message)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server got %d requests", n)
	}
}

// callParts is a candidate's parts: some text, then two calls, one with
// Gemini's ID, one without, the first with a real signature.
const callParts = `[
  {"text": "Let me check."},
  {"functionCall": {"name": "weather", "args": {"city": "Paris", "unit": "c"}}, "thoughtSignature": "CiQBVKhc7rZ8"},
  {"functionCall": {"id": "g-77", "name": "now"}}
]`

var wantCalls = []llm.ToolCall{
	{ID: "call_0", Name: "weather", Arguments: `{"city":"Paris","unit":"c"}`},
	{ID: "g-77", Name: "now", Arguments: `{}`},
}

func TestGenerateToolCalls(t *testing.T) {
	t.Parallel()
	usage := `"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":9,"thoughtsTokenCount":4,"totalTokenCount":33}`
	want := llm.Response{Content: "Let me check.", ToolCalls: wantCalls, FinishReason: "tool_calls", Model: "gemini-test-001",
		Usage: llm.Usage{InputTokens: 20, OutputTokens: 13, ReasoningTokens: 4}}
	cases := map[string]struct {
		handle    func(http.ResponseWriter, *received)
		streaming bool
		deltas    string
	}{
		"whole": {
			handle: replying(`{"candidates":[{"content":{"role":"model","parts":` + callParts + `},"finishReason":"STOP"}],` +
				usage + `,"modelVersion":"gemini-test-001"}`),
		},
		"streamed": {
			handle: streaming(
				`{"candidates":[{"content":{"role":"model","parts":[{"text":"Let me"}]}}],"modelVersion":"gemini-test-001"}`,
				`{"candidates":[{"content":{"role":"model","parts":[{"text":" check."},{"functionCall":{"name":"weather","args":{"city":"Paris","unit":"c"}},"thoughtSignature":"CiQBVKhc7rZ8"}]}}],"modelVersion":"gemini-test-001"}`,
				`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"id":"g-77","name":"now"}}]},"finishReason":"STOP"}],`+usage+`,"modelVersion":"gemini-test-001"}`,
			),
			streaming: true,
			deltas:    "Let me| check.",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tc.handle)
			p := newProvider(t, gemini.Config{BaseURL: f.URL})
			req := userRequest("weather and time?")
			req.Tools = []llm.ToolDef{{Name: "weather"}, {Name: "now"}}
			resp, deltas, err := generate(context.Background(), p, req, tc.streaming)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*resp, want) {
				t.Errorf("response = %+v\nwant       %+v", *resp, want)
			}
			// Function calls never reach the stream func.
			if got := strings.Join(deltas, "|"); got != tc.deltas {
				t.Errorf("deltas = %q, want %q", got, tc.deltas)
			}
		})
	}
}

func TestMadeUpIDsAvoidGeminis(t *testing.T) {
	t.Parallel()
	f := newFake(t, replying(`{"candidates":[{"content":{"role":"model","parts":[
  {"functionCall":{"name":"f"}},
  {"functionCall":{"id":"call_0","name":"g"}}
]},"finishReason":"STOP"}]}`))
	p := newProvider(t, gemini.Config{BaseURL: f.URL})
	resp, err := p.Generate(context.Background(), userRequest("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.ToolCall{{ID: "call_0_1", Name: "f", Arguments: "{}"}, {ID: "call_0", Name: "g", Arguments: "{}"}}
	if !reflect.DeepEqual(resp.ToolCalls, want) {
		t.Errorf("calls = %+v, want %+v", resp.ToolCalls, want)
	}
}

// TestToolLoop plays the exchange the agent loop will have: an answer
// asking for tools, the results sent back, the final answer. The fake
// server checks the history as Gemini does: every function response must
// name a function the previous model turn called.
func TestToolLoop(t *testing.T) {
	t.Parallel()
	for _, streaming := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", streaming), func(t *testing.T) {
			t.Parallel()
			answers := []string{
				`{"candidates":[{"content":{"role":"model","parts":[
  {"functionCall":{"name":"weather","args":{"city":"Paris"}},"thoughtSignature":"CiQBVKhc7rZ8"},
  {"functionCall":{"name":"now","args":{}}}
]},"finishReason":"STOP"}],"modelVersion":"gemini-test-001"}`,
				textResponse("Sunny, and noon.", "STOP"),
			}
			var n int
			f := newFake(t, func(w http.ResponseWriter, r *received) {
				if err := checkHistory(r.Body); err != nil {
					failing(http.StatusBadRequest, fmt.Sprintf(`{"error":{"code":400,"message":%q,"status":"INVALID_ARGUMENT"}}`, err))(w, r)
					return
				}
				replying(answers[min(n, 1)])(w, r)
				n++
			})
			p := newProvider(t, gemini.Config{BaseURL: f.URL})
			req := userRequest("weather and time?")
			req.Tools = []llm.ToolDef{{Name: "weather", Parameters: []byte(weatherSchema)}, {Name: "now", Description: "The time."}}
			first, _, err := generate(context.Background(), p, req, streaming)
			if err != nil {
				t.Fatal(err)
			}
			wantCalls := []llm.ToolCall{{ID: "call_0", Name: "weather", Arguments: `{"city":"Paris"}`}, {ID: "call_1", Name: "now", Arguments: "{}"}}
			if !reflect.DeepEqual(first.ToolCalls, wantCalls) || first.FinishReason != "tool_calls" {
				t.Fatalf("first answer = %+v", first)
			}
			req.Messages = append(req.Messages, llm.Message{Role: llm.RoleAssistant, Content: first.Content, ToolCalls: first.ToolCalls})
			for i, c := range first.ToolCalls {
				req.Messages = append(req.Messages, llm.Message{Role: llm.RoleTool, ToolCallID: c.ID, Content: []string{"sunny", "12:00"}[i]})
			}
			second, _, err := generate(context.Background(), p, req, streaming)
			if err != nil {
				t.Fatal(err)
			}
			if second.Content != "Sunny, and noon." || second.ToolCalls != nil || second.FinishReason != "stop" {
				t.Errorf("second answer = %+v", second)
			}
			contents := f.requests()[1].Body["contents"].([]any)
			want := map[string]any{"role": "user", "parts": []any{functionResponse("weather", "sunny"), functionResponse("now", "12:00")}}
			if len(contents) != 3 || !reflect.DeepEqual(contents[2], want) {
				t.Errorf("contents = %v, want the results last, as %v", contents, want)
			}
		})
	}
}

// checkHistory refuses what Gemini refuses in a history of function calls:
// a model turn whose first function call is not signed, or a function
// response naming no function the model turn before it called.
func checkHistory(body map[string]any) error {
	var called map[string]bool // by the turn before
	for i, c := range body["contents"].([]any) {
		content := c.(map[string]any)
		turn := map[string]bool{}
		for _, p := range content["parts"].([]any) {
			part := p.(map[string]any)
			if fc, ok := part["functionCall"].(map[string]any); ok {
				if len(turn) == 0 && part["thoughtSignature"] == nil {
					return fmt.Errorf("function call in content %d is missing a thought_signature", i)
				}
				turn[fc["name"].(string)] = true
			}
			if fr, ok := part["functionResponse"].(map[string]any); ok && !called[fr["name"].(string)] {
				return fmt.Errorf("function response %v in content %d answers no call of the turn before", fr["name"], i)
			}
		}
		called = turn
	}
	return nil
}
