package openai_test

import (
	"context"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/openai"
)

func TestDeveloperRoleAndMaxCompletionTokens(t *testing.T) {
	t.Parallel()
	var c capture
	p := newProvider(t, openai.Config{BaseURL: completionServer(t, &c), SystemRole: openai.RoleDeveloper, MaxTokensParam: openai.MaxCompletionTokens})
	req := &llm.Request{Model: "m", MaxTokens: 50, Messages: []llm.Message{{Role: llm.RoleSystem, Content: "be brief"}, {Role: llm.RoleUser, Content: "hi"}}}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	body, _, _ := c.only(t)
	if first := body["messages"].([]any)[0].(map[string]any); first["role"] != "developer" || first["content"] != "be brief" {
		t.Errorf("first message = %v, want the developer role", first)
	}
	if body["max_completion_tokens"] != 50.0 || body["max_tokens"] != nil {
		t.Errorf("max_completion_tokens = %v, max_tokens = %v", body["max_completion_tokens"], body["max_tokens"])
	}
}

func TestClassicRoleAndMaxTokensByDefault(t *testing.T) {
	t.Parallel()
	var c capture
	p := newProvider(t, openai.Config{BaseURL: completionServer(t, &c)})
	req := &llm.Request{Model: "m", MaxTokens: 50, Messages: []llm.Message{{Role: llm.RoleSystem, Content: "be brief"}, {Role: llm.RoleUser, Content: "hi"}}}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	body, _, _ := c.only(t)
	if first := body["messages"].([]any)[0].(map[string]any); first["role"] != "system" {
		t.Errorf("first message = %v, want the system role", first)
	}
	if body["max_tokens"] != 50.0 || body["max_completion_tokens"] != nil {
		t.Errorf("max_tokens = %v, max_completion_tokens = %v", body["max_tokens"], body["max_completion_tokens"])
	}
}

func TestAzureDeployment(t *testing.T) {
	t.Parallel()
	var c capture
	srv := completionServer(t, &c)
	endpoint := strings.TrimSuffix(srv, "/v1")
	p := newProvider(t, openai.Config{BaseURL: endpoint, APIKey: "az-key", Azure: &openai.AzureConfig{Deployment: "gpt4o-prod", APIVersion: "2024-10-21"}})
	if _, err := p.Generate(context.Background(), userRequest("hi"), nil); err != nil {
		t.Fatal(err)
	}
	_, h, path := c.only(t)
	if path != "/openai/deployments/gpt4o-prod/chat/completions" {
		t.Errorf("path = %s", path)
	}
	if h.Get("api-key") != "az-key" || h.Get("Authorization") != "" {
		t.Errorf("api-key = %q Authorization = %q, want the key in api-key only", h.Get("api-key"), h.Get("Authorization"))
	}
	c.mu.Lock()
	q := c.queries[0]
	c.mu.Unlock()
	if q.Get("api-version") != "2024-10-21" {
		t.Errorf("api-version = %q", q.Get("api-version"))
	}
	if _, err := openai.New(openai.Config{BaseURL: endpoint, Azure: &openai.AzureConfig{Deployment: "d"}}); err == nil {
		t.Error("an Azure config without an api-version was accepted")
	}
}

func TestImagesAreContentParts(t *testing.T) {
	t.Parallel()
	var c capture
	p := newProvider(t, openai.Config{BaseURL: completionServer(t, &c)})
	req := &llm.Request{Model: "m", Messages: []llm.Message{{Role: llm.RoleUser, Content: "what is this?", Images: []llm.Image{
		{MIMEType: "image/png", Data: []byte{0x89, 'P', 'N', 'G'}}, {URL: "https://example.com/cat.jpg"},
	}}}}
	if _, err := p.Generate(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	body, _, _ := c.only(t)
	content := body["messages"].([]any)[0].(map[string]any)["content"]
	want := []any{
		map[string]any{"type": "text", "text": "what is this?"},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:image/png;base64,iVBORw=="}},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "https://example.com/cat.jpg"}},
	}
	if !reflect.DeepEqual(content, want) {
		t.Errorf("content = %v\nwant %v", content, want)
	}
}

func TestPresets(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"openai", "azure", "ollama", "vllm", "llamacpp", "lmstudio", "openrouter", "groq", "deepseek", "mistral"} {
		p, ok := openai.LookupPreset(name)
		if !ok {
			t.Errorf("no preset %q", name)
			continue
		}
		if p.BaseURL == "" && !p.Azure {
			t.Errorf("%s has no base URL", name)
		}
		cfg := p.Apply(openai.Config{APIKey: "k"})
		if p.Azure {
			cfg.BaseURL, cfg.Azure = "https://res.openai.azure.com", &openai.AzureConfig{Deployment: "d", APIVersion: "2024-10-21"}
		}
		if _, err := openai.New(cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// What the configuration sets wins over the preset.
	p, _ := openai.LookupPreset("ollama")
	if cfg := p.Apply(openai.Config{Name: "gpu-box", BaseURL: "http://gpu:11434/v1"}); cfg.Name != "gpu-box" || cfg.BaseURL != "http://gpu:11434/v1" || cfg.SystemRole != "system" {
		t.Errorf("Apply = %+v", cfg)
	}
}

func TestUsageCountsCachedAndReasoningTokens(t *testing.T) {
	t.Parallel()
	srv := rawServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"c1","object":"chat.completion","created":1,"model":"o-mini",
"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],
"usage":{"prompt_tokens":300,"completion_tokens":120,"total_tokens":420,
"prompt_tokens_details":{"cached_tokens":256},"completion_tokens_details":{"reasoning_tokens":96}}}`)
	})
	p := newProvider(t, openai.Config{BaseURL: srv.URL})
	resp, err := p.Generate(context.Background(), userRequest("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (llm.Usage{InputTokens: 300, OutputTokens: 120, CachedInputTokens: 256, ReasoningTokens: 96}); resp.Usage != want {
		t.Errorf("usage = %+v, want %+v", resp.Usage, want)
	}
}
