package llm_test

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/llm"
)

type named string

func (n named) Name() string { return string(n) }
func (n named) Generate(context.Context, *llm.Request, llm.StreamFunc) (*llm.Response, error) {
	return &llm.Response{}, nil
}

func newRegistry(t *testing.T, def string, providers ...string) *llm.Registry {
	t.Helper()
	var ps []llm.Provider
	for _, p := range providers {
		ps = append(ps, named(p))
	}
	r, err := llm.NewRegistry(llm.RegistryConfig{
		Providers: ps,
		Models: []llm.Model{
			{Name: "fast", Provider: "openai", ProviderModel: "gpt-4o-mini", InputPrice: 0.15, OutputPrice: 0.6},
			{Name: "tess-6", Provider: "openai", ProviderModel: "gpt-4o"},
		},
		DefaultModel: def,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolve(t *testing.T) {
	t.Parallel()
	r := newRegistry(t, "fast", "echo", "openai", "other")
	tests := []struct{ name, spec string }{
		{"", "openai/gpt-4o-mini"},                      // the default model
		{"fast", "openai/gpt-4o-mini"},                  // a table entry
		{"tess-5", "openai/gpt-4o-mini"},                // a Tess alias → the default
		{"tess-6", "openai/gpt-4o"},                     // an alias the table maps
		{"other/llama3", "other/llama3"},                // provider/name
		{"meta/llama-3-70b", "openai/meta/llama-3-70b"}, // a slash but no such provider: a bare name
		{"gpt-4.1", "openai/gpt-4.1"},                   // bare → the first real provider
		{"echo", "echo/echo"},
	}
	for _, tt := range tests {
		got, err := r.Resolve(tt.name)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.name, err)
			continue
		}
		if got.Spec != tt.spec {
			t.Errorf("Resolve(%q) = %s, want %s", tt.name, got.Spec, tt.spec)
		}
	}
	// A directly named model is billed like its table entry.
	if got, _ := r.Resolve("openai/gpt-4o-mini"); got.Price.InputPrice != 0.15 {
		t.Errorf("price of a directly named model = %+v", got.Price)
	}
}

func TestResolveWithoutProviderOrDefault(t *testing.T) {
	t.Parallel()
	onlyEcho, err := llm.NewRegistry(llm.RegistryConfig{Providers: []llm.Provider{named("echo")}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "tess-5", "gpt-4o"} {
		if _, err := onlyEcho.Resolve(name); err == nil {
			t.Errorf("Resolve(%q) without a provider or default succeeded", name)
		}
	}
	if _, err := llm.NewRegistry(llm.RegistryConfig{Models: []llm.Model{{Name: "x", Provider: "nope"}}}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a table entry naming an unknown provider: %v", err)
	}
}

func TestCost(t *testing.T) {
	t.Parallel()
	m := llm.Model{InputPrice: 2, OutputPrice: 8, CachedInputPrice: 0.5, CreditsMultiplier: 100}
	cost, credits := m.Cost(llm.Usage{InputTokens: 1_000_000, CachedInputTokens: 400_000, OutputTokens: 500_000})
	want := 0.6*2 + 0.4*0.5 + 0.5*8
	if math.Abs(cost-want) > 1e-9 || math.Abs(credits-want*100) > 1e-6 {
		t.Errorf("cost %v credits %v, want %v and %v", cost, credits, want, want*100)
	}
	if cost, credits := (&llm.Model{}).Cost(llm.Usage{InputTokens: 10, OutputTokens: 10}); cost != 0 || credits != 0 {
		t.Errorf("a model without prices costs %v (%v credits)", cost, credits)
	}
	// Without a cached price, cached tokens cost the input price.
	if cost, _ := (&llm.Model{InputPrice: 1}).Cost(llm.Usage{InputTokens: 1_000_000, CachedInputTokens: 1_000_000}); math.Abs(cost-1) > 1e-9 {
		t.Errorf("cached tokens without a cached price cost %v, want 1", cost)
	}
}
