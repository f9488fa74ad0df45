package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/llm/anthropic"
	"github.com/tessera-run/tessera/llm/echo"
	"github.com/tessera-run/tessera/llm/gemini"
	"github.com/tessera-run/tessera/llm/openai"
)

// newRegistry configures the providers from the environment and config:
// echo always (it needs no network); openai and anthropic when a key or a
// base URL is set, gemini when one is set (it then needs its key, which
// the Gemini API always wants); every server of providers.servers. Each real
// provider gets the retry policy and its concurrency limit, the limit
// inside the retries so that a call waiting to retry holds no slot.
func newRegistry(cfg Config) (*llm.Registry, error) {
	providers := []llm.Provider{echo.New(echo.Config{Delay: cfg.Providers.Echo.Delay})}
	r := cfg.Providers.Retry
	policy := llm.RetryPolicy{MaxAttempts: r.MaxAttempts, BaseDelay: r.BaseDelay, MaxDelay: r.MaxDelay,
		MaxRetryAfter: r.MaxRetryAfter, MaxTotal: r.MaxTotal}
	add := func(p llm.Provider, limit int) {
		providers = append(providers, llm.WithRetry(llm.WithConcurrency(p, limit), policy))
	}
	hasReal := false
	if oa := cfg.Providers.OpenAI; oa.APIKey != "" || oa.BaseURL != "" {
		c := openai.Config{APIKey: oa.APIKey, BaseURL: oa.BaseURL, Timeout: oa.Timeout}
		if c.BaseURL == "" {
			// api.openai.com itself: its quirks. A base URL may be any
			// compatible server, which gets the classic wire form.
			preset, _ := openai.LookupPreset("openai")
			c = preset.Apply(c)
		}
		p, err := openai.New(c)
		if err != nil {
			return nil, fmt.Errorf("providers.openai: %w", err)
		}
		add(p, oa.MaxConcurrency)
		hasReal = true
	}
	if an := cfg.Providers.Anthropic; an.APIKey != "" || an.BaseURL != "" {
		p, err := anthropic.New(anthropic.Config{APIKey: an.APIKey, BaseURL: an.BaseURL, Timeout: an.Timeout})
		if err != nil {
			return nil, fmt.Errorf("providers.anthropic: %w", err)
		}
		add(p, an.MaxConcurrency)
		hasReal = true
	}
	if g := cfg.Providers.Gemini; g.APIKey != "" || g.BaseURL != "" {
		p, err := gemini.New(gemini.Config{APIKey: g.APIKey, BaseURL: g.BaseURL, Timeout: g.Timeout})
		if err != nil {
			return nil, fmt.Errorf("providers.gemini: %w", err)
		}
		add(p, g.MaxConcurrency)
		hasReal = true
	}
	for i, sc := range cfg.Providers.Servers {
		c, err := serverConfig(sc)
		if err != nil {
			return nil, fmt.Errorf("providers.servers[%d]: %w", i, err)
		}
		if slices.ContainsFunc(providers, func(p llm.Provider) bool { return p.Name() == c.Name }) {
			return nil, fmt.Errorf("providers.servers[%d]: the name %q is already used: give the server its own name", i, c.Name)
		}
		p, err := openai.New(c)
		if err != nil {
			return nil, fmt.Errorf("providers.servers[%d] (%s): %w", i, c.Name, err)
		}
		add(p, sc.MaxConcurrency)
		hasReal = true
	}
	def := cfg.DefaultModel
	if def == "" && !hasReal {
		// With no real provider the echo model is the only one there is;
		// with one, echo is never chosen silently.
		def = "echo"
	}
	return llm.NewRegistry(llm.RegistryConfig{Providers: providers, Models: cfg.Models, DefaultModel: def})
}

// serverConfig turns a providers.servers entry into the adapter's config:
// the preset's values under what the entry sets (the key was read from its
// variable with the rest of the environment).
func serverConfig(sc ServerConfig) (openai.Config, error) {
	c := openai.Config{Name: sc.Name, APIKey: sc.APIKey, BaseURL: sc.BaseURL, Timeout: sc.Timeout,
		SystemRole: sc.SystemRole, MaxTokensParam: sc.MaxTokensParam}
	var preset openai.Preset
	if sc.Preset != "" {
		p, ok := openai.LookupPreset(sc.Preset)
		if !ok {
			return c, fmt.Errorf("unknown preset %q: use one of %s", sc.Preset, strings.Join(openai.PresetNames(), ", "))
		}
		preset = p
		c = p.Apply(c)
	}
	if c.Name == "" {
		return c, fmt.Errorf("a server needs a name or a preset")
	}
	if preset.KeyRequired && c.APIKey == "" {
		return c, fmt.Errorf("%s needs an API key (api_key, or the variable %s)", c.Name, cmpOr(sc.APIKeyEnv, preset.KeyEnv))
	}
	if preset.Azure || sc.Deployment != "" {
		c.Azure = &openai.AzureConfig{Deployment: sc.Deployment, APIVersion: sc.APIVersion}
	}
	if c.BaseURL == "" {
		return c, fmt.Errorf("%s needs a base_url", c.Name)
	}
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
