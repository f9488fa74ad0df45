package main

// One agent definition, unchanged, run through seed 003 on three
// providers: the OpenAI-compatible llmtest fake, and fakes speaking the
// Anthropic Messages API and the Gemini API on the wire. Only the
// instance's config.model differs.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tessera-run/tessera/llm/llmtest"
)

const (
	crossInstructions = "You are a careful arithmetician. Always use the calculator tool."
	crossQuestion     = "What is six times seven?"
	crossThought      = "I should compute it."
	crossAnswer       = "The answer is 42."

	anthropicTestKey = "sk-ant-e2e-key"
	geminiTestKey    = "AIzaE2ETestKey-0123456789"
	anthropicCallID  = "toolu_01A09q90qw90lq917835lq9"
	openaiCallID     = "call_gpt_1"
)

// crossModels is the model table: one entry per provider, each with its own
// prices and credits multiplier.
const crossModels = `
models:
  - {name: gpt, provider: openai, model: gpt-test-1, input_price: 1.25, output_price: 10, cached_input_price: 0.125, credits_multiplier: 1.5}
  - {name: claude, provider: anthropic, model: claude-test-1, input_price: 3, output_price: 15, cached_input_price: 0.3, credits_multiplier: 2}
  - {name: gem, provider: gemini, model: gemini-test-1, input_price: 0.3, output_price: 2.5, cached_input_price: 0.075, credits_multiplier: 4}
`

// crossUsage is one model call's usage as Tessera counts it: input
// includes the cached tokens, output includes the reasoning tokens.
type crossUsage struct{ in, out, cached, reasoning int64 }

// crossPrice is a model table entry's prices, per million tokens.
type crossPrice struct{ in, out, cached, mult float64 }

func (p crossPrice) cost(u crossUsage) float64 {
	return (float64(u.in-u.cached)*p.in + float64(u.cached)*p.cached + float64(u.out)*p.out) / 1e6
}

func TestCrossProviderSameAgentRunsOnOpenAIAnthropicAndGemini(t *testing.T) {
	t.Parallel()

	// The fakes are started before the server, so that they are closed
	// after it stops.
	anth := newWireFake(t, anthropicReject, anthropicToolCallTurn, anthropicFinalTurn)
	gem := newWireFake(t, geminiReject, geminiToolCallTurn, geminiFinalTurn)
	s := setup(t, opts{
		Config: crossModels,
		Env: map[string]string{
			"ANTHROPIC_API_KEY":      anthropicTestKey,
			"ANTHROPIC_BASE_URL":     anth.URL, // the API root, without /v1
			"GEMINI_API_KEY":         geminiTestKey,
			"GOOGLE_GEMINI_BASE_URL": gem.URL,
		},
		Handler: llmtest.Script(
			llmtest.Reply{Content: crossThought, ToolCalls: []llmtest.ToolCall{{ID: openaiCallID, Name: "calculator", Arguments: `{"expression":"6*7"}`}},
				PromptTokens: 40, CompletionTokens: 10},
			llmtest.Reply{Content: crossAnswer, PromptTokens: 60, CompletionTokens: 5, CachedTokens: 32},
		),
	})

	// One agent; three instances that differ only in their model.
	agentID := s.createAgent(t, map[string]any{"title": "Arithmetician", "type": "chat",
		"instructions": crossInstructions, "tools": []string{"calculator"}}, nil)
	instance := func(model string) int64 {
		in := s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances", map[string]any{
			"agent_id": agentID, "name": "calc on " + model, "config": map[string]any{"model": model},
		}, nil)
		return intOf(t, in["id"])
	}

	// The calculator's schema, as each provider received it, to compare.
	var schemaMu sync.Mutex
	schemas := map[string]any{}
	descriptions := map[string]any{}
	t.Cleanup(func() {
		if t.Failed() || len(schemas) != 3 {
			return
		}
		if !reflect.DeepEqual(schemas["openai"], schemas["anthropic"]) || !reflect.DeepEqual(schemas["openai"], schemas["gemini"]) {
			t.Errorf("the calculator's schema differs between providers: %v", schemas)
		}
		if descriptions["openai"] == "" || descriptions["openai"] != descriptions["anthropic"] || descriptions["openai"] != descriptions["gemini"] {
			t.Errorf("the calculator's description differs between providers: %v", descriptions)
		}
	})
	recordTool := func(provider string, schema, description any) {
		schemaMu.Lock()
		defer schemaMu.Unlock()
		schemas[provider], descriptions[provider] = schema, description
	}

	cases := []struct {
		model, provider, providerModel string
		price                          crossPrice
		usage                          [2]crossUsage
		checkWire                      func(t *testing.T)
	}{
		{
			model: "gpt", provider: "openai", providerModel: "gpt-test-1",
			price: crossPrice{in: 1.25, out: 10, cached: 0.125, mult: 1.5},
			usage: [2]crossUsage{{in: 40, out: 10}, {in: 60, out: 5, cached: 32}},
			checkWire: func(t *testing.T) {
				reqs := s.Fake.Requests()
				if len(reqs) != 2 {
					t.Fatalf("the OpenAI fake got %d requests, want 2", len(reqs))
				}
				first, second := reqs[0], reqs[1]
				for i, r := range reqs {
					if r.Path != "/v1/chat/completions" || r.Model != "gpt-test-1" || !r.Stream {
						t.Errorf("OpenAI request %d: path %q, model %q, stream %v", i, r.Path, r.Model, r.Stream)
					}
				}
				if len(first.Messages) == 0 || first.Messages[0].Role != "system" || !strings.Contains(first.Messages[0].Content, crossInstructions) {
					t.Errorf("OpenAI first request messages = %q, want the instructions as the system message", roles(first))
				}
				if first.LastUserMessage() != crossQuestion {
					t.Errorf("OpenAI first request's user message = %q", first.LastUserMessage())
				}
				if len(first.Tools) != 1 || first.Tools[0].Name != "calculator" {
					t.Fatalf("OpenAI tools = %+v", first.Tools)
				}
				recordTool("openai", decodeJSON(t, first.Tools[0].Parameters), first.Tools[0].Description)
				// The second request: the assistant's call, then the tool message.
				var call *llmtest.ToolCall
				for _, m := range second.Messages {
					if m.Role == "assistant" {
						if calls := m.ToolCalls(); len(calls) == 1 {
							call = &calls[0]
						}
					}
				}
				if call == nil || call.ID != openaiCallID || call.Name != "calculator" || !jsonEqual(call.Arguments, `{"expression":"6*7"}`) {
					t.Errorf("OpenAI second request's assistant call = %+v (messages %q)", call, roles(second))
				}
				if res, ok := second.ToolResult(openaiCallID); !ok || res != "42" {
					t.Errorf("OpenAI tool message for %s = %q, %v; messages %q", openaiCallID, res, ok, roles(second))
				}
			},
		},
		{
			model: "claude", provider: "anthropic", providerModel: "claude-test-1",
			price: crossPrice{in: 3, out: 15, cached: 0.3, mult: 2},
			// Anthropic counts cache reads apart from input_tokens; Tessera's
			// input is their sum. message_delta's output_tokens is the total.
			usage: [2]crossUsage{{in: 50, out: 12}, {in: 20 + 48, out: 7, cached: 48}},
			checkWire: func(t *testing.T) {
				reqs := anth.requests()
				if len(reqs) != 2 {
					t.Fatalf("the Anthropic fake got %d requests, want 2", len(reqs))
				}
				first, second := reqs[0], reqs[1]
				for i, r := range reqs {
					if r.Path != "/v1/messages" || r.Body["model"] != "claude-test-1" || r.Body["stream"] != true {
						t.Errorf("Anthropic request %d: path %q, model %v, stream %v", i, r.Path, r.Body["model"], r.Body["stream"])
					}
					if got := r.Header.Get("Authorization"); got != "Bearer "+anthropicTestKey {
						t.Errorf("Anthropic request %d: Authorization = %q", i, got)
					}
					if r.Header.Get("Anthropic-Version") == "" {
						t.Errorf("Anthropic request %d has no anthropic-version header", i)
					}
					if _, ok := r.Body["max_tokens"].(float64); !ok {
						t.Errorf("Anthropic request %d has no max_tokens: %s", i, r.Raw)
					}
					// The instructions travel in the top-level system, not as a message.
					if sys := str(dig(r.Body, "system", 0, "text")); !strings.Contains(sys, crossInstructions) {
						t.Errorf("Anthropic request %d: system = %v, want the instructions", i, r.Body["system"])
					}
					for j, m := range list(r.Body["messages"]) {
						if role := dig(m, "role"); role != "user" && role != "assistant" {
							t.Errorf("Anthropic request %d: message %d has role %v", i, j, role)
						}
					}
				}
				msgs := list(first.Body["messages"])
				if len(msgs) != 1 || dig(msgs[0], "role") != "user" || !strings.Contains(fmt.Sprint(dig(msgs[0], "content")), crossQuestion) {
					t.Errorf("Anthropic first request's messages = %v", first.Body["messages"])
				}
				tools := list(first.Body["tools"])
				if len(tools) != 1 || dig(tools[0], "name") != "calculator" || dig(tools[0], "input_schema") == nil {
					t.Fatalf("Anthropic tools = %v", first.Body["tools"])
				}
				recordTool("anthropic", dig(tools[0], "input_schema"), dig(tools[0], "description"))
				// The second request: user, assistant (text and tool_use), user (tool_result).
				msgs = list(second.Body["messages"])
				if len(msgs) != 3 {
					t.Fatalf("Anthropic second request has %d messages, want 3: %s", len(msgs), second.Raw)
				}
				var use map[string]any
				for _, b := range list(dig(msgs[1], "content")) {
					if dig(b, "type") == "tool_use" {
						use, _ = b.(map[string]any)
					}
				}
				if dig(msgs[1], "role") != "assistant" || use == nil || use["id"] != anthropicCallID || use["name"] != "calculator" ||
					!reflect.DeepEqual(use["input"], map[string]any{"expression": "6*7"}) {
					t.Errorf("Anthropic second request's assistant turn = %v", msgs[1])
				}
				result := dig(msgs[2], "content", 0)
				if dig(msgs[2], "role") != "user" || dig(result, "type") != "tool_result" || dig(result, "tool_use_id") != anthropicCallID ||
					toolResultText(dig(result, "content")) != "42" {
					t.Errorf("Anthropic second request's tool result turn = %v, want a tool_result for %s with 42", msgs[2], anthropicCallID)
				}
			},
		},
		{
			model: "gem", provider: "gemini", providerModel: "gemini-test-1",
			price: crossPrice{in: 0.3, out: 2.5, cached: 0.075, mult: 4},
			// Gemini repeats the running usage in each chunk (the last one
			// counts); thoughts are billed as output.
			usage: [2]crossUsage{{in: 30, out: 9}, {in: 45, out: 6 + 4, cached: 16, reasoning: 4}},
			checkWire: func(t *testing.T) {
				reqs := gem.requests()
				if len(reqs) != 2 {
					t.Fatalf("the Gemini fake got %d requests, want 2", len(reqs))
				}
				first, second := reqs[0], reqs[1]
				for i, r := range reqs {
					if r.Path != "/v1beta/models/gemini-test-1:streamGenerateContent" || r.Query.Get("alt") != "sse" {
						t.Errorf("Gemini request %d: %s?%s", i, r.Path, r.Query.Encode())
					}
					if got := r.Header.Get("X-Goog-Api-Key"); got != geminiTestKey || r.Query.Has("key") {
						t.Errorf("Gemini request %d: x-goog-api-key %q, query %v", i, got, r.Query)
					}
					if sys := str(dig(r.Body, "systemInstruction", "parts", 0, "text")); !strings.Contains(sys, crossInstructions) {
						t.Errorf("Gemini request %d: systemInstruction = %v, want the instructions", i, r.Body["systemInstruction"])
					}
					for j, c := range list(r.Body["contents"]) {
						if role := dig(c, "role"); role != "user" && role != "model" {
							t.Errorf("Gemini request %d: content %d has role %v", i, j, role)
						}
					}
				}
				contents := list(first.Body["contents"])
				if len(contents) != 1 || dig(contents[0], "role") != "user" || dig(contents[0], "parts", 0, "text") != crossQuestion {
					t.Errorf("Gemini first request's contents = %v", first.Body["contents"])
				}
				decl := dig(first.Body, "tools", 0, "functionDeclarations", 0)
				if dig(decl, "name") != "calculator" || dig(decl, "parametersJsonSchema") == nil || len(list(dig(first.Body, "tools", 0, "functionDeclarations"))) != 1 {
					t.Fatalf("Gemini tools = %v", first.Body["tools"])
				}
				recordTool("gemini", dig(decl, "parametersJsonSchema"), dig(decl, "description"))
				// The second request: user, model (text and functionCall),
				// user (functionResponse, paired with the call by name).
				contents = list(second.Body["contents"])
				if len(contents) != 3 {
					t.Fatalf("Gemini second request has %d contents, want 3: %s", len(contents), second.Raw)
				}
				var call any
				for _, p := range list(dig(contents[1], "parts")) {
					if fc := dig(p, "functionCall"); fc != nil {
						call = fc
					}
				}
				if dig(contents[1], "role") != "model" || dig(call, "name") != "calculator" ||
					!reflect.DeepEqual(dig(call, "args"), map[string]any{"expression": "6*7"}) {
					t.Errorf("Gemini second request's model turn = %v", contents[1])
				}
				resp := dig(contents[2], "parts", 0, "functionResponse")
				if dig(contents[2], "role") != "user" || dig(resp, "name") != "calculator" || dig(resp, "response", "output") != "42" {
					t.Errorf("Gemini second request's function response turn = %v, want calculator's 42", contents[2])
				}
				// Gemini sent no call ID; the one Tessera made up is not sent back.
				if id := dig(call, "id"); id != nil {
					t.Errorf("Gemini functionCall sent back with id %v, which Gemini never issued", id)
				}
				if id := dig(resp, "id"); id != nil {
					t.Errorf("Gemini functionResponse sent with id %v, which Gemini never issued", id)
				}
			},
		},
	}

	for _, c := range cases {
		inst := instance(c.model)
		t.Run(c.provider, func(t *testing.T) {
			t.Parallel()
			got := s.must(t, http.StatusOK, "POST", path("/api/v1/ai/agents/instances/%d/execute", inst),
				map[string]any{"message": crossQuestion}, nil)
			if got["status"] != "completed" || got["success"] != true || intOf(t, got["agent_id"]) != agentID {
				t.Fatalf("execution on %s = %v", c.model, got)
			}
			if out, _ := got["output_data"].(map[string]any); out["output"] != crossAnswer {
				t.Errorf("output_data = %v", got["output_data"])
			}
			its, _ := got["iterations"].([]any)
			if len(its) != 2 || intOf(t, got["iteration_count"]) != 2 || intOf(t, got["actions_taken"]) != 1 {
				t.Fatalf("iterations = %v", got["iterations"])
			}
			step, final := its[0].(map[string]any), its[1].(map[string]any)
			if step["action"] != "calculator" || step["observation"] != "42" || step["thought"] != crossThought ||
				dig(step, "action_input", "expression") != "6*7" {
				t.Errorf("first iteration = %v", step)
			}
			if final["action"] != "final_answer" || final["observation"] != crossAnswer {
				t.Errorf("final iteration = %v", final)
			}
			for i, it := range []map[string]any{step, final} {
				if in, out := intOf(t, it["input_tokens"]), intOf(t, it["output_tokens"]); in != c.usage[i].in || out != c.usage[i].out {
					t.Errorf("iteration %d tokens = %d in, %d out; want %d, %d", i+1, in, out, c.usage[i].in, c.usage[i].out)
				}
			}
			if tools, _ := got["tools_used"].([]any); !reflect.DeepEqual(tools, []any{"calculator"}) {
				t.Errorf("tools_used = %v", got["tools_used"])
			}

			// Usage, cost and credits: both calls, at this model's prices.
			var sum crossUsage
			var wantCost float64
			for _, u := range c.usage {
				sum.in, sum.out, sum.cached, sum.reasoning = sum.in+u.in, sum.out+u.out, sum.cached+u.cached, sum.reasoning+u.reasoning
				wantCost += c.price.cost(u)
			}
			if n := intOf(t, got["total_tokens"]); n != sum.in+sum.out {
				t.Errorf("total_tokens = %d, want %d", n, sum.in+sum.out)
			}
			if cost, _ := got["total_cost"].(float64); !near(cost, wantCost) {
				t.Errorf("total_cost = %v, want %v", got["total_cost"], wantCost)
			}
			meta, _ := got["extra_metadata"].(map[string]any)
			if credits, _ := meta["credits"].(float64); !near(credits, wantCost*c.price.mult) {
				t.Errorf("extra_metadata.credits = %v, want %v (cost %v × %v)", meta["credits"], wantCost*c.price.mult, wantCost, c.price.mult)
			}
			usage := map[string]any{"input_tokens": float64(sum.in), "output_tokens": float64(sum.out),
				"cached_input_tokens": float64(sum.cached), "reasoning_tokens": float64(sum.reasoning)}
			if !reflect.DeepEqual(meta["usage"], usage) {
				t.Errorf("extra_metadata.usage = %v, want %v", meta["usage"], usage)
			}
			if want := c.provider + "/" + c.providerModel; got["model_used"] != want {
				t.Errorf("model_used = %v, want %s", got["model_used"], want)
			}

			c.checkWire(t)

			// The execution reads back the same.
			one := s.must(t, http.StatusOK, "GET", path("/api/v1/ai/agents/executions/%v", got["id"]), nil, nil)
			if one["status"] != "completed" || one["model_used"] != got["model_used"] || intOf(t, one["total_tokens"]) != sum.in+sum.out {
				t.Errorf("GET execution = %v", one)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Anthropic Messages API, streamed (the wire shapes of llm/anthropic's tests).

// anthropicToolCallTurn streams a text block, then a tool_use block whose
// input arrives in two input_json_delta pieces.
func anthropicToolCallTurn(w http.ResponseWriter) {
	writeAnthropicSSE(w,
		anthropicMessageStart(`{"input_tokens":50,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}`),
		anthropicTextStart(0), anthropicPing, anthropicTextDelta(0, crossThought), anthropicBlockStop(0),
		anthropicToolStart(1, anthropicCallID, "calculator"),
		anthropicJSONDelta(1, `{"expression":`), anthropicJSONDelta(1, ` "6*7"}`), anthropicBlockStop(1),
		anthropicMessageDelta("tool_use", 12), anthropicMessageStop)
}

// anthropicFinalTurn streams the answer in two deltas, with cache reads.
func anthropicFinalTurn(w http.ResponseWriter) {
	writeAnthropicSSE(w,
		anthropicMessageStart(`{"input_tokens":20,"cache_creation_input_tokens":0,"cache_read_input_tokens":48,"output_tokens":1}`),
		anthropicTextStart(0), anthropicTextDelta(0, "The answer"), anthropicTextDelta(0, " is 42."), anthropicBlockStop(0),
		anthropicMessageDelta("end_turn", 7), anthropicMessageStop)
}

// anthropicReject answers a request the script did not expect.
func anthropicReject(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"type":"error","error":{"type":"invalid_request_error","message":"the fake expected no more requests"}}`)
}

type anthropicEvent struct{ name, data string }

func writeAnthropicSSE(w http.ResponseWriter, events ...anthropicEvent) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	for _, e := range events {
		_, _ = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
		w.(http.Flusher).Flush()
	}
}

func anthropicMessageStart(usage string) anthropicEvent {
	return anthropicEvent{"message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant",` +
		`"model":"claude-test-1","content":[],"stop_reason":null,"stop_sequence":null,"usage":` + usage + `}}`}
}

func anthropicTextStart(index int) anthropicEvent {
	return anthropicEvent{"content_block_start", fmt.Sprintf(`{"type":"content_block_start","index":%d,"content_block":{"type":"text","text":""}}`, index)}
}

func anthropicTextDelta(index int, s string) anthropicEvent {
	b, _ := json.Marshal(s)
	return anthropicEvent{"content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"text_delta","text":%s}}`, index, b)}
}

func anthropicToolStart(index int, id, name string) anthropicEvent {
	return anthropicEvent{"content_block_start", fmt.Sprintf(
		`{"type":"content_block_start","index":%d,"content_block":{"type":"tool_use","id":%q,"name":%q,"input":{}}}`, index, id, name)}
}

func anthropicJSONDelta(index int, partial string) anthropicEvent {
	b, _ := json.Marshal(partial)
	return anthropicEvent{"content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":%d,"delta":{"type":"input_json_delta","partial_json":%s}}`, index, b)}
}

func anthropicBlockStop(index int) anthropicEvent {
	return anthropicEvent{"content_block_stop", fmt.Sprintf(`{"type":"content_block_stop","index":%d}`, index)}
}

func anthropicMessageDelta(stopReason string, outputTokens int) anthropicEvent {
	return anthropicEvent{"message_delta", fmt.Sprintf(
		`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":{"output_tokens":%d}}`, stopReason, outputTokens)}
}

var (
	anthropicPing        = anthropicEvent{"ping", `{"type": "ping"}`}
	anthropicMessageStop = anthropicEvent{"message_stop", `{"type":"message_stop"}`}
)

// toolResultText is the text of a tool_result's content: a string or text
// blocks.
func toolResultText(content any) string {
	if s, ok := content.(string); ok {
		return s
	}
	var b strings.Builder
	for _, block := range list(content) {
		if dig(block, "type") == "text" {
			b.WriteString(str(dig(block, "text")))
		}
	}
	return b.String()
}

// ---------------------------------------------------------------------------
// Gemini API, streamed (streamGenerateContent?alt=sse, as llm/gemini's
// tests speak it).

// geminiToolCallTurn streams the thought, then the function call (with no
// ID, as Gemini sends them) and the finish reason; each chunk carries the
// running usage.
func geminiToolCallTurn(w http.ResponseWriter) {
	writeGeminiSSE(w,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"`+crossThought+`"}]},"index":0}],`+
			`"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":2,"totalTokenCount":32},"modelVersion":"gemini-test-1","responseId":"g1"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"calculator","args":{"expression":"6*7"}}}]},"finishReason":"STOP","index":0}],`+
			`"usageMetadata":{"promptTokenCount":30,"candidatesTokenCount":9,"totalTokenCount":39},"modelVersion":"gemini-test-1","responseId":"g1"}`,
	)
}

// geminiFinalTurn streams the answer in two chunks, with cached and
// thinking tokens in the final usage.
func geminiFinalTurn(w http.ResponseWriter) {
	writeGeminiSSE(w,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"The answer "}]},"index":0}],`+
			`"usageMetadata":{"promptTokenCount":45,"cachedContentTokenCount":16,"candidatesTokenCount":1,"totalTokenCount":46},"modelVersion":"gemini-test-1","responseId":"g2"}`,
		`{"candidates":[{"content":{"role":"model","parts":[{"text":"is 42."}]},"finishReason":"STOP","index":0}],`+
			`"usageMetadata":{"promptTokenCount":45,"cachedContentTokenCount":16,"candidatesTokenCount":6,"thoughtsTokenCount":4,"totalTokenCount":55},"modelVersion":"gemini-test-1","responseId":"g2"}`,
	)
}

// geminiReject answers a request the script did not expect.
func geminiReject(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = io.WriteString(w, `{"error":{"code":400,"message":"the fake expected no more requests","status":"INVALID_ARGUMENT"}}`)
}

func writeGeminiSSE(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		_, _ = io.WriteString(w, "data: "+e+"\r\n\r\n")
		w.(http.Flusher).Flush()
	}
}

// ---------------------------------------------------------------------------
// A scripted fake of a provider's HTTP API.

// wireFake records every request and answers the n-th with answers[n],
// and any request past the script with reject.
type wireFake struct {
	URL string

	mu      sync.Mutex
	reqs    []*wireRequest
	answers []func(http.ResponseWriter)
	reject  func(http.ResponseWriter)
}

// wireRequest is one request a wireFake got.
type wireRequest struct {
	Path   string
	Query  url.Values
	Header http.Header
	Body   map[string]any // nil when the body is not a JSON object
	Raw    []byte
}

func newWireFake(t *testing.T, reject func(http.ResponseWriter), answers ...func(http.ResponseWriter)) *wireFake {
	t.Helper()
	f := &wireFake{answers: answers, reject: reject}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		req := &wireRequest{Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Raw: raw}
		_ = json.Unmarshal(raw, &req.Body)
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		if r.Method != http.MethodPost || req.Body == nil || n >= len(f.answers) {
			f.reject(w)
			return
		}
		f.answers[n](w)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *wireFake) requests() []*wireRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*wireRequest(nil), f.reqs...)
}

// ---------------------------------------------------------------------------
// Decoded JSON.

// dig walks decoded JSON by object keys (strings) and array indexes
// (ints); it returns nil where the path does not exist.
func dig(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k < 0 || k >= len(l) {
				return nil
			}
			v = l[k]
		default:
			return nil
		}
	}
	return v
}

func list(v any) []any { l, _ := v.([]any); return l }

func str(v any) string { s, _ := v.(string); return s }

func decodeJSON(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(bytes.TrimSpace(raw), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, raw)
	}
	return v
}

func jsonEqual(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}

// near compares money: the sums are of a few float products.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12+1e-9*math.Abs(want)
}
