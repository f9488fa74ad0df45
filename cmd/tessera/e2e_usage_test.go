package main

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm/llmtest"
)

const pricedConfig = `
models:
  - name: priced
    provider: openai
    model: priced-model
    input_price: 2.0
    output_price: 8.0
    cached_input_price: 0.5
    credits_multiplier: 1.5
  - name: tess-5
    provider: openai
    model: tess-backend
    input_price: 1.0
    output_price: 1.0
`

// usageHandler reports fixed usage: 1000 prompt tokens (400 of them
// cached when the message says "cached"), 500 completion tokens.
func usageHandler(req *llmtest.ChatRequest) llmtest.Reply {
	r := llmtest.Reply{Content: "ok", PromptTokens: 1000, CompletionTokens: 500}
	if strings.Contains(req.LastUserMessage(), "cached") {
		r.CachedTokens = 400
	}
	return r
}

func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestCreditsAreComputedFromTheModelTable(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Config: pricedConfig, Handler: usageHandler})
	id := s.chatAgent(t, "Billing")
	cost := (1000*2.0 + 500*8.0) / 1e6
	cachedCost := (600*2.0 + 400*0.5 + 500*8.0) / 1e6
	cases := []struct {
		name, model, message, provider string
		credits                        float64
	}{
		{"table entry", "priced", "bill me", "priced-model", cost * 1.5},
		{"cached input tokens at the cached price", "priced", "bill me cached", "priced-model", cachedCost * 1.5},
		{"the provider model named directly is billed like its entry", "openai/priced-model", "direct", "priced-model", cost * 1.5},
		{"an alias mapped by the table", "tess-5", "alias", "tess-backend", (1000 + 500) / 1e6},
		{"a model not in the table costs nothing", "mystery-model", "unknown", "mystery-model", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.run(t, id, map[string]any{"model": tc.model, "messages": tc.message})
			credits, ok := r["credits"].(float64)
			if !ok || !closeTo(credits, tc.credits) {
				t.Errorf("credits = %#v, want %v", r["credits"], tc.credits)
			}
			got := s.must(t, http.StatusOK, "GET", path("/agent-responses/%v", r["id"]), nil, nil)
			if c, _ := got["credits"].(float64); !closeTo(c, tc.credits) {
				t.Errorf("polled credits = %v, want %v", got["credits"], tc.credits)
			}
			if m := requestWith(t, s.Fake, tc.message).Model; m != tc.provider {
				t.Errorf("provider model = %q, want %q", m, tc.provider)
			}
		})
	}
}

func TestCreditsWithoutUsageAreZero(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Config: pricedConfig, Handler: func(*llmtest.ChatRequest) llmtest.Reply {
		return llmtest.Reply{Content: "no usage", NoUsage: true}
	}})
	id := s.chatAgent(t, "Free")
	r := s.run(t, id, map[string]any{"model": "priced", "messages": "x"})
	if r["credits"] != 0.0 {
		t.Errorf("credits = %v, want 0 when the provider reports no usage", r["credits"])
	}
}

func TestCreditsFollowTheDefaultModelsEntry(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Config: pricedConfig, Handler: usageHandler, Env: map[string]string{"TESSERA_DEFAULT_MODEL": "priced"}})
	id := s.chatAgent(t, "Default priced")
	for _, model := range []any{nil, "tess-6", "auto"} {
		body := map[string]any{"messages": "default"}
		if model != nil {
			body["model"] = model
		}
		r := s.run(t, id, body)
		if c, _ := r["credits"].(float64); !closeTo(c, (1000*2.0+500*8.0)/1e6*1.5) {
			t.Errorf("model %v: credits %v", model, r["credits"])
		}
	}
	for _, req := range s.Fake.Requests() {
		if req.Model != "priced-model" {
			t.Errorf("provider got model %q, want priced-model", req.Model)
		}
	}
}

func TestModelTableNamingAnUnknownProviderIsAUsageError(t *testing.T) {
	t.Parallel()
	o := opts{Config: "models:\n  - name: x\n    provider: nowhere\n"}
	env := testEnv(t, &o)
	env["TESSERA_ADDR"] = "127.0.0.1:0"
	var out, errOut strings.Builder
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := Run(ctx, []string{"serve"}, getenvFrom(env), &out, &errOut)
	if err == nil || exitCode(err) != 2 {
		t.Errorf("serve = %v (exit %d), want a usage error", err, exitCode(err))
	}
}

// doneEvent reads the event log of a finished execution and returns the
// data of its done event.
func doneEvent(t *testing.T, c *api, id int64) map[string]any {
	t.Helper()
	res := c.doRaw(t, "GET", path("/api/v1/ai/agents/executions/%d/events", id), nil, hdr{"Accept": "text/event-stream"})
	if res.Status != http.StatusOK {
		t.Fatalf("events: HTTP %d %s", res.Status, res.Body)
	}
	for line := range strings.SplitSeq(string(res.Body), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if json.Unmarshal([]byte(data), &ev) == nil && ev.Type == "done" {
			return ev.Data
		}
	}
	t.Fatalf("no done event in %s", res.Body)
	return nil
}

func TestTokensAndCostAreRecordedFromTheProvidersUsage(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Config: pricedConfig, Handler: usageHandler})
	id := s.chatAgent(t, "Tokens")
	r := s.run(t, id, map[string]any{"model": "priced", "messages": "count me"})
	done := doneEvent(t, s.api, intOf(t, r["id"]))
	usage, _ := done["usage"].(map[string]any)
	if usage["input_tokens"] != 1000.0 || usage["output_tokens"] != 500.0 {
		t.Errorf("recorded usage = %v, want 1000 input and 500 output tokens", done["usage"])
	}
	cost, _ := done["cost"].(float64)
	if want := (1000*2.0 + 500*8.0) / 1e6; !closeTo(cost, want) {
		t.Errorf("recorded cost = %v, want %v", done["cost"], want)
	}
	if c, _ := done["credits"].(float64); !closeTo(c, cost*1.5) {
		t.Errorf("recorded credits = %v, want cost × 1.5", done["credits"])
	}
	r2 := s.run(t, id, map[string]any{"model": "mystery-model", "messages": "count me too"})
	done = doneEvent(t, s.api, intOf(t, r2["id"]))
	if usage, _ := done["usage"].(map[string]any); usage["input_tokens"] != 1000.0 || done["cost"] != 0.0 || done["credits"] != 0.0 {
		t.Errorf("unpriced model: done = %v, want the tokens recorded at no cost", done)
	}
}
