package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/llm/llmtest"
)

// retryConfig keeps the backoff short; a Retry-After is still honoured.
const retryConfig = `
providers:
  retry: {base_delay: 10ms, max_delay: 50ms, max_attempts: 4}
models:
  - {name: ` + defaultModel + `, provider: openai, input_price: 1, output_price: 2}
`

func TestProviderFailuresAreRetriedAndShownOnTheIteration(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Config: retryConfig, Handler: llmtest.Script(
		llmtest.Reply{Status: http.StatusTooManyRequests, RetryAfter: "1", ErrorMessage: "slow down"},
		llmtest.Reply{Status: http.StatusInternalServerError, ErrorMessage: "upstream hiccup"},
		llmtest.Reply{Content: "I should compute it.", ToolCalls: []llmtest.ToolCall{{ID: "c1", Name: "calculator", Arguments: `{"expression":"6*7"}`}}, PromptTokens: 40, CompletionTokens: 10},
		llmtest.Reply{Content: "The answer is 42.", PromptTokens: 60, CompletionTokens: 5},
	)})
	_, inst := newInstance(t, s)
	got := s.must(t, http.StatusOK, "POST", path("/api/v1/ai/agents/instances/%d/execute", inst), map[string]any{"message": "six times seven?"}, nil)
	if got["status"] != "completed" {
		t.Fatalf("execution = %v", got)
	}
	if n := len(s.Fake.Requests()); n != 4 {
		t.Errorf("provider requests = %d, want 4 (two failed, two answered)", n)
	}
	first := got["iterations"].([]any)[0].(map[string]any)
	attempts, _ := first["provider_attempts"].([]any)
	if len(attempts) != 2 {
		t.Fatalf("provider_attempts = %v", first["provider_attempts"])
	}
	limited, failed := attempts[0].(map[string]any), attempts[1].(map[string]any)
	if intOf(t, limited["status_code"]) != 429 || limited["kind"] != "rate_limited" || intOf(t, limited["wait_ms"]) != 1000 ||
		limited["model"] != "openai/"+defaultModel {
		t.Errorf("first attempt = %v, want the 429 and its Retry-After", limited)
	}
	if intOf(t, failed["status_code"]) != 500 || failed["kind"] != "unavailable" || intOf(t, failed["wait_ms"]) > 50 {
		t.Errorf("second attempt = %v, want the 500 and a short backoff", failed)
	}
	if final := got["iterations"].([]any)[1].(map[string]any); final["provider_attempts"] != nil {
		t.Errorf("the final step had no failures, but shows %v", final["provider_attempts"])
	}
}

func TestProviderAuthErrorsFailAtOnce(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{Config: retryConfig, Handler: llmtest.Script(
		llmtest.Reply{Status: http.StatusUnauthorized, ErrorMessage: "Incorrect API key provided", ErrorType: "invalid_request_error", ErrorCode: "invalid_api_key"},
	)})
	agent := s.chatAgent(t, "Auth")
	_, m := s.execute(t, agent, map[string]any{"messages": "hi", "waitExecution": true}, nil)
	if n := len(s.Fake.Requests()); n != 1 {
		t.Errorf("provider requests = %d, want 1: an auth error is not retried", n)
	}
	if got := first(t, m); got["status"] != "failed" || !strings.Contains(strOf(got["error"]), "Incorrect API key") {
		t.Errorf("response = %v", got)
	}
}

func TestModelsListsTheTableWithCapabilitiesAndPrices(t *testing.T) {
	t.Parallel()
	local := llmtest.NewTest(t, llmtest.Config{Handler: llmtest.Script(llmtest.Reply{Content: "from the local server"})})
	s := setup(t, opts{Env: map[string]string{"TESSERA_DEFAULT_MODEL": ""}, Config: `
default_model: smart
providers:
  servers:
    - {name: local, preset: ollama, base_url: "` + local.URL + `/v1"}
models:
  - {name: smart, provider: openai, model: gpt-x, context_window: 128000, input_price: 2.5, output_price: 10, cached_input_price: 1.25, vision: true, structured_output: true}
  - {name: tiny, provider: local, model: llama3.2, text_react: true, credits_multiplier: 3}
`})
	m := s.must(t, http.StatusOK, "GET", "/api/v1/models", nil, nil)
	if m["default_model"] != "smart" {
		t.Errorf("default_model = %v", m["default_model"])
	}
	byName := map[string]map[string]any{}
	for _, it := range m["data"].([]any) {
		byName[it.(map[string]any)["name"].(string)] = it.(map[string]any)
	}
	smart, tiny := byName["smart"], byName["tiny"]
	if smart == nil || tiny == nil {
		t.Fatalf("models = %v", m["data"])
	}
	caps := smart["capabilities"].(map[string]any)
	if smart["spec"] != "openai/gpt-x" || smart["default"] != true || intOf(t, smart["context_window"]) != 128000 ||
		caps["vision"] != true || caps["structured_output"] != true || caps["tools"] != true || caps["streaming"] != true {
		t.Errorf("smart = %v", smart)
	}
	if p := smart["pricing"].(map[string]any); p["input"] != 2.5 || p["output"] != 10.0 || p["cached_input"] != 1.25 {
		t.Errorf("smart pricing = %v", p)
	}
	if c := tiny["capabilities"].(map[string]any); c["text_react"] != true || c["tools"] != false || tiny["credits_multiplier"] != 3.0 || tiny["spec"] != "local/llama3.2" {
		t.Errorf("tiny = %v", tiny)
	}
	if a := m["aliases"].(map[string]any); a["tess-5"] != "openai/gpt-x" {
		t.Errorf("aliases = %v", a)
	}
	if p := m["providers"].([]any); len(p) != 3 || p[0] != "echo" || p[1] != "openai" || p[2] != "local" {
		t.Errorf("providers = %v", p)
	}

	// An agent on the preset server reaches it, with the classic wire form.
	agent := s.createAgent(t, map[string]any{"title": "Local", "type": "chat", "model": "local/llama3.2"}, nil)
	got := s.run(t, agent, map[string]any{"messages": "hi"})
	if !strings.Contains(strOf(got["output"]), "from the local server") {
		t.Errorf("response = %v", got)
	}
	if r := local.Requests(); len(r) != 1 || r[0].Model != "llama3.2" || r[0].Messages[0].Role != "user" {
		t.Errorf("local server requests = %+v", r)
	}
}

func TestBadProviderConfigIsAUsageError(t *testing.T) {
	t.Parallel()
	for name, cfg := range map[string]string{
		"unknown preset": "providers:\n  servers:\n    - {name: x, preset: nope, base_url: \"http://127.0.0.1:1/v1\"}\n",
		"missing key":    "providers:\n  servers:\n    - {preset: groq, api_key_env: TESSERA_TEST_UNSET_KEY}\n",
		"azure no dep":   "providers:\n  servers:\n    - {preset: azure, api_key: k, base_url: \"https://r.openai.azure.com\"}\n",
		"name taken":     "providers:\n  servers:\n    - {name: openai, preset: vllm}\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := serveOnce(t, opts{Config: cfg})
			if err == nil || exitCode(err) != 2 {
				t.Errorf("serve with %s: %v (exit %d), want a usage error", name, err, exitCode(err))
			}
		})
	}
}
