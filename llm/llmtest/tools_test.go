package llmtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/shared"

	"github.com/tessera-run/tessera/llm/llmtest"
)

var weatherCalls = []llmtest.ToolCall{
	{ID: "call_w", Name: "weather", Arguments: `{"city":"Paris","unit":"celsius"}`},
	{Name: "time", Arguments: `{"tz":"Europe/Paris"}`}, // the server fills the ID in
}

// wantCalls is weatherCalls as the first request of a server sees them.
var wantCalls = []llmtest.ToolCall{weatherCalls[0], {ID: "call_1_1", Name: "time", Arguments: `{"tz":"Europe/Paris"}`}}

func TestToolCallReply(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{ToolCalls: weatherCalls})})
	cc, err := chat(srv, "").New(context.Background(), params("x"))
	if err != nil {
		t.Fatal(err)
	}
	c := cc.Choices[0]
	if c.FinishReason != "tool_calls" || c.Message.Content != "" || c.Message.JSON.Content.Raw() != "null" {
		t.Errorf("choice = %+v, content %s", c, c.Message.JSON.Content.Raw())
	}
	var got []llmtest.ToolCall
	for _, tc := range c.Message.ToolCalls {
		if tc.Type != "function" {
			t.Errorf("type = %q", tc.Type)
		}
		got = append(got, llmtest.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	if !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("tool calls = %+v, want %+v", got, wantCalls)
	}
}

func TestToolCallReplyWithContent(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Content: "Let me look.", ToolCalls: weatherCalls[:1], FinishReason: "stop",
	})})
	cc, err := chat(srv, "").New(context.Background(), params("x"))
	if err != nil {
		t.Fatal(err)
	}
	c := cc.Choices[0]
	if c.FinishReason != "stop" || c.Message.Content != "Let me look." || len(c.Message.ToolCalls) != 1 {
		t.Errorf("choice = %+v", c)
	}
}

// streamToolCalls streams reply through the SDK's accumulator and returns
// it with the raw tool-call deltas and the calls JustFinishedToolCall saw.
func streamToolCalls(t *testing.T, reply llmtest.Reply) (*sdk.ChatCompletionAccumulator, []map[string]any, []sdk.FinishedChatCompletionToolCall) {
	t.Helper()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(reply)})
	s := chat(srv, "").NewStreaming(context.Background(), params("x"))
	defer s.Close()
	var acc sdk.ChatCompletionAccumulator
	var raw []map[string]any
	var finished []sdk.FinishedChatCompletionToolCall
	for s.Next() {
		chunk := s.Current()
		if !acc.AddChunk(chunk) {
			t.Fatalf("the accumulator refused %s", chunk.RawJSON())
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			finished = append(finished, tc)
		}
		for _, c := range chunk.Choices {
			if len(c.Delta.ToolCalls) > 1 {
				t.Errorf("a chunk carries %d tool calls", len(c.Delta.ToolCalls))
			}
			for _, tc := range c.Delta.ToolCalls {
				var m map[string]any
				if err := json.Unmarshal([]byte(tc.RawJSON()), &m); err != nil {
					t.Fatal(err)
				}
				raw = append(raw, m)
			}
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return &acc, raw, finished
}

func accumulated(acc *sdk.ChatCompletionAccumulator) []llmtest.ToolCall {
	var got []llmtest.ToolCall
	for _, tc := range acc.Choices[0].Message.ToolCalls {
		got = append(got, llmtest.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
	}
	return got
}

func TestStreamToolCallsParseWithSDK(t *testing.T) {
	t.Parallel()
	acc, raw, finished := streamToolCalls(t, llmtest.Reply{ToolCalls: weatherCalls})
	if got := accumulated(acc); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("tool calls = %+v, want %+v", got, wantCalls)
	}
	if c := acc.Choices[0]; c.FinishReason != "tool_calls" || c.Message.Content != "" {
		t.Errorf("choice = %+v", c)
	}
	// Each call finishes once, in order, whole.
	if len(finished) != 2 || finished[0].ID != "call_w" || finished[0].Arguments != wantCalls[0].Arguments ||
		finished[1].Index != 1 || finished[1].Name != "time" {
		t.Errorf("finished = %+v", finished)
	}
	// OpenAI's shape: the first chunk of a call has its index, ID, type and
	// name with empty arguments; the next ones only the index and a piece
	// of the arguments.
	var pieces [2]int
	seen := map[float64]bool{}
	for _, m := range raw {
		index := m["index"].(float64)
		fn := m["function"].(map[string]any)
		if !seen[index] {
			seen[index] = true
			if m["id"] == nil || m["type"] != "function" || fn["name"] == nil || fn["arguments"] != "" {
				t.Errorf("first chunk of call %v = %v", index, m)
			}
			continue
		}
		pieces[int(index)]++
		if _, ok := m["id"]; ok || fn["name"] != nil || fn["arguments"] == "" {
			t.Errorf("continuation chunk of call %v = %v", index, m)
		}
	}
	if pieces[0] < 3 || pieces[1] < 3 {
		t.Errorf("arguments came in %v pieces, want several per call", pieces)
	}
}

func TestStreamInterleavedToolCalls(t *testing.T) {
	t.Parallel()
	acc, raw, _ := streamToolCalls(t, llmtest.Reply{Content: "Checking.", ToolCalls: weatherCalls, InterleaveToolCalls: true})
	if got := accumulated(acc); !reflect.DeepEqual(got, wantCalls) {
		t.Errorf("tool calls = %+v, want %+v", got, wantCalls)
	}
	if acc.Choices[0].Message.Content != "Checking." {
		t.Errorf("content = %q", acc.Choices[0].Message.Content)
	}
	var order []float64
	for _, m := range raw[:4] {
		order = append(order, m["index"].(float64))
	}
	if !reflect.DeepEqual(order, []float64{0, 1, 0, 1}) {
		t.Errorf("the calls' chunks come in the order %v, want them in turn", order)
	}
}

func TestStreamBreakInToolCalls(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{Handler: replying(llmtest.Reply{
		Chunks: []string{"a"}, ToolCalls: weatherCalls, Break: true, BreakAfter: 3,
	})})
	s := chat(srv, "").NewStreaming(context.Background(), params("x"))
	var acc sdk.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if s.Err() == nil {
		t.Fatal("the stream did not break")
	}
	// "a", the head of call 0, its first piece.
	if got := accumulated(&acc); len(got) != 1 || got[0].Arguments != `{"ci` {
		t.Errorf("tool calls before the break = %+v", got)
	}
}

func TestDecodesToolRequests(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	fn := shared.FunctionDefinitionParam{Name: "weather", Description: param.NewOpt("the weather"),
		Parameters: shared.FunctionParameters{"type": "object"}}
	p := params("x")
	p.Tools = []sdk.ChatCompletionToolUnionParam{sdk.ChatCompletionFunctionTool(fn), sdk.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{Name: "bare"})}
	p.ToolChoice = sdk.ChatCompletionToolChoiceOptionUnionParam{OfAuto: param.NewOpt("auto")}
	p.ParallelToolCalls = param.NewOpt(false)
	asst := sdk.ChatCompletionAssistantMessageParam{ToolCalls: []sdk.ChatCompletionMessageToolCallUnionParam{
		{OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{ID: "c1", Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "weather", Arguments: `{"city":`}}},
		{OfFunction: &sdk.ChatCompletionMessageFunctionToolCallParam{ID: "c2", Function: sdk.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "bare", Arguments: "{}"}}},
	}}
	p.Messages = append(p.Messages,
		sdk.ChatCompletionMessageParamUnion{OfAssistant: &asst},
		sdk.ToolMessage("sunny", "c2"), sdk.ToolMessage("error: bad JSON", "c1"))
	if _, err := chat(srv, "").New(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	wantTools := []llmtest.Tool{
		{Name: "weather", Description: "the weather", Parameters: json.RawMessage(`{"type":"object"}`)},
		{Name: "bare"},
	}
	if !reflect.DeepEqual(r.Tools, wantTools) {
		t.Errorf("tools = %+v, want %+v", r.Tools, wantTools)
	}
	if string(r.ToolChoice) != `"auto"` || r.ParallelToolCalls == nil || *r.ParallelToolCalls {
		t.Errorf("tool_choice = %s, parallel_tool_calls = %v", r.ToolChoice, r.ParallelToolCalls)
	}
	m := r.Messages
	wantAsst := []llmtest.ToolCall{{ID: "c1", Name: "weather", Arguments: `{"city":`}, {ID: "c2", Name: "bare", Arguments: "{}"}}
	if len(m) != 5 || m[2].Role != "assistant" || m[2].Content != "" || !reflect.DeepEqual(m[2].ToolCalls(), wantAsst) {
		t.Fatalf("messages = %+v, assistant tool calls %+v", m, m[2].ToolCalls())
	}
	if m[3] != (llmtest.Message{Role: "tool", Content: "sunny", ToolCallID: "c2"}) || m[1].ToolCalls() != nil {
		t.Errorf("messages = %+v", m)
	}
	if res, ok := r.ToolResult("c1"); !ok || res != "error: bad JSON" {
		t.Errorf("ToolResult(c1) = %q, %v", res, ok)
	}
	if _, ok := r.ToolResult("c3"); ok {
		t.Error("ToolResult found a result for an unknown call")
	}
	// The slice is a copy.
	m[2].ToolCalls()[0].Name = "changed"
	if m[2].ToolCalls()[0].Name != "weather" {
		t.Error("ToolCalls returned the message's own slice")
	}
}

func TestRefusesBadToolRequests(t *testing.T) {
	t.Parallel()
	srv := llmtest.NewTest(t, llmtest.Config{})
	const asst = `{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"c2","type":"function","function":{"name":"f","arguments":"{}"}}]}`
	cases := map[string]struct{ body, contains string }{
		"empty tools":       {`"tools":[],"messages":[]`, "empty array"},
		"unnamed tool":      {`"tools":[{"type":"function","function":{}}],"messages":[]`, "'tools[0].function.name'"},
		"non-function":      {`"tools":[{"type":"custom","custom":{"name":"x"}}],"messages":[]`, "only function tools"},
		"no tool_call_id":   {`"messages":[` + asst + `,{"role":"tool","content":"r"}]`, "'messages[1].tool_call_id'"},
		"unknown call":      {`"messages":[` + asst + `,{"role":"tool","content":"r","tool_call_id":"c9"}]`, "must be a response to a preceeding message"},
		"no call before":    {`"messages":[{"role":"user","content":"u"},{"role":"tool","content":"r","tool_call_id":"c1"}]`, "must be a response"},
		"answered twice":    {`"messages":[` + asst + `,{"role":"tool","content":"r","tool_call_id":"c1"},{"role":"tool","content":"r","tool_call_id":"c1"}]`, "must be a response"},
		"one unanswered":    {`"messages":[` + asst + `,{"role":"tool","content":"r","tool_call_id":"c1"},{"role":"user","content":"u"}]`, "did not have response messages: c2"},
		"none answered":     {`"messages":[{"role":"user","content":"u"},` + asst + `]`, "did not have response messages: c1, c2"},
		"call without id":   {`"messages":[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]`, "'messages[0].tool_calls[0].id'"},
		"call without name": {`"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"arguments":"{}"}}]}]`, "'messages[0].tool_calls[0].function.name'"},
	}
	for name, tc := range cases {
		resp, err := srv.Client().Post(srv.URL+"/chat/completions", "application/json", strings.NewReader(`{"model":"m",`+tc.body+`}`))
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(data), tc.contains) {
			t.Errorf("%s: %d %s, want 400 containing %q", name, resp.StatusCode, data, tc.contains)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d refused requests were recorded", n)
	}
}

func TestScript(t *testing.T) {
	t.Parallel()
	replies := []llmtest.Reply{{ToolCalls: weatherCalls[:1]}, {Content: "It is sunny."}}
	srv := llmtest.NewTest(t, llmtest.Config{Handler: llmtest.Script(replies...)})
	replies[1].Content = "changed" // Script keeps its own copy
	svc := chat(srv, "")
	first, err := svc.New(context.Background(), params("weather?"))
	if err != nil {
		t.Fatal(err)
	}
	if c := first.Choices[0]; c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 {
		t.Fatalf("first answer = %+v", c)
	}
	p := params("weather?")
	p.Messages = append(p.Messages, first.Choices[0].Message.ToParam(), sdk.ToolMessage("sunny", first.Choices[0].Message.ToolCalls[0].ID))
	second, err := svc.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if c := second.Choices[0]; c.FinishReason != "stop" || c.Message.Content != "It is sunny." {
		t.Errorf("second answer = %+v", c)
	}
	_, err = svc.New(context.Background(), params("again"))
	var apiErr *sdk.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || !strings.Contains(apiErr.Message, "script exhausted: this is request 3 of a script of 2 replies") {
		t.Errorf("third call: %v", err)
	}
	if res, ok := srv.Requests()[1].ToolResult("call_w"); !ok || res != "sunny" {
		t.Errorf("the second request's tool result = %q, %v", res, ok)
	}
}
