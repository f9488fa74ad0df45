package llm

import (
	"fmt"
	"slices"
	"strings"
)

// Model is one entry of the model table: a name users write (often an
// alias) and what it runs on, with its prices.
type Model struct {
	// Name is what agents and requests write: "tess-5", "fast", "gpt-4o".
	Name string `yaml:"name" json:"name"`
	// Provider names a configured provider ("openai", "echo").
	Provider string `yaml:"provider" json:"provider"`
	// ProviderModel is the provider's model name; empty means Name.
	ProviderModel string `yaml:"model" json:"model"`
	ContextWindow int    `yaml:"context_window" json:"context_window,omitempty"`
	// Prices in US dollars per million tokens.
	InputPrice       float64 `yaml:"input_price" json:"input_price"`
	OutputPrice      float64 `yaml:"output_price" json:"output_price"`
	CachedInputPrice float64 `yaml:"cached_input_price" json:"cached_input_price"`
	// CreditsMultiplier turns cost into credits; 0 means 1.
	CreditsMultiplier float64 `yaml:"credits_multiplier" json:"credits_multiplier"`
	// TextReAct makes the tool loop use the text protocol (Thought, Action,
	// Action Input, Observation, Final Answer) for a model without native
	// tool calling.
	TextReAct bool `yaml:"text_react" json:"text_react"`
	// StructuredOutput says the provider can hold the answer to a JSON
	// Schema (OpenAI's response_format json_schema). Without it an agent's
	// output_schema is asked for in the instructions, then validated.
	StructuredOutput bool `yaml:"structured_output" json:"structured_output"`
	// Vision says the model takes images.
	Vision bool `yaml:"vision" json:"vision"`
	// NoStreaming makes every call whole: for servers whose streaming is
	// broken or missing.
	NoStreaming bool `yaml:"no_streaming" json:"no_streaming,omitempty"`
}

// Capabilities are what a model can do, as GET /api/v1/models shows them.
type Capabilities struct {
	// Tools is native tool calling; TextReAct models run tools through
	// the text protocol instead.
	Tools            bool `json:"tools"`
	TextReAct        bool `json:"text_react"`
	Vision           bool `json:"vision"`
	StructuredOutput bool `json:"structured_output"`
	Streaming        bool `json:"streaming"`
}

// Capabilities returns what the table entry says the model can do.
func (m *Model) Capabilities() Capabilities {
	return Capabilities{Tools: !m.TextReAct, TextReAct: m.TextReAct, Vision: m.Vision,
		StructuredOutput: m.StructuredOutput, Streaming: !m.NoStreaming}
}

// Cost returns the dollar cost and the credits of usage on this model.
// Cached input tokens are part of InputTokens and billed at the cached price.
func (m *Model) Cost(u Usage) (cost, credits float64) {
	cached := min(u.CachedInputTokens, u.InputTokens)
	cachedPrice := m.CachedInputPrice
	if cachedPrice == 0 {
		cachedPrice = m.InputPrice
	}
	cost = (float64(u.InputTokens-cached)*m.InputPrice +
		float64(cached)*cachedPrice +
		float64(u.OutputTokens)*m.OutputPrice) / 1e6
	mult := m.CreditsMultiplier
	if mult == 0 {
		mult = 1
	}
	return cost, cost * mult
}

// TessAliases are the model names Tess clients send; unless the model table
// maps them they run on the default model.
var TessAliases = []string{"tess-5", "tess-6", "tess-ai-light", "tess-ai-3", "auto"}

// Resolved is a model name resolved to what runs it.
type Resolved struct {
	Provider Provider
	// Model is the provider's model name.
	Model string
	// Spec is "provider/model", recorded as the model used.
	Spec string
	// Price is the table entry used for cost; zero prices when unknown.
	Price Model
}

// Registry resolves model names. Build it with NewRegistry; it is read-only
// afterwards and safe for concurrent use.
type Registry struct {
	providers    map[string]Provider
	order        []string // real providers in configuration order
	models       map[string]Model
	defaultModel string
}

// RegistryConfig configures a Registry.
type RegistryConfig struct {
	// Providers in order of preference for bare model names. The echo
	// provider is never preferred for bare names when a real one is present.
	Providers []Provider
	Models    []Model
	// DefaultModel is used when neither the agent nor the request names a
	// model, and for the Tess aliases not in Models.
	DefaultModel string
}

// NewRegistry builds a registry, checking that every table entry names a
// configured provider.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	r := &Registry{providers: map[string]Provider{}, models: map[string]Model{}, defaultModel: cfg.DefaultModel}
	for _, p := range cfg.Providers {
		if _, dup := r.providers[p.Name()]; dup {
			return nil, fmt.Errorf("llm: provider %q configured twice", p.Name())
		}
		r.providers[p.Name()] = p
		if p.Name() != "echo" {
			r.order = append(r.order, p.Name())
		}
	}
	for _, m := range cfg.Models {
		if m.Name == "" {
			return nil, fmt.Errorf("llm: a model table entry has no name")
		}
		if _, ok := r.providers[m.Provider]; !ok {
			return nil, fmt.Errorf("llm: model %q names provider %q, which is not configured", m.Name, m.Provider)
		}
		if m.ProviderModel == "" {
			m.ProviderModel = m.Name
		}
		r.models[m.Name] = m
	}
	return r, nil
}

// Providers returns the names of the configured providers, echo first.
func (r *Registry) Providers() []string {
	out := make([]string, 0, len(r.providers))
	if _, ok := r.providers["echo"]; ok {
		out = append(out, "echo")
	}
	return append(out, r.order...)
}

// DefaultModel returns the configured default model name.
func (r *Registry) DefaultModel() string { return r.defaultModel }

// Models returns the model table entries.
func (r *Registry) Models() []Model {
	out := make([]Model, 0, len(r.models))
	for _, m := range r.models {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b Model) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Resolve maps a model name to its provider. An empty name means the
// default model. It returns an error whose message is safe to show.
func (r *Registry) Resolve(name string) (*Resolved, error) {
	return r.resolve(strings.TrimSpace(name), 0)
}

func (r *Registry) resolve(name string, depth int) (*Resolved, error) {
	if depth > 3 {
		return nil, fmt.Errorf("model %q: aliases loop", name)
	}
	if name == "" {
		if r.defaultModel == "" {
			return nil, fmt.Errorf("no model given and no default model configured (set TESSERA_DEFAULT_MODEL)")
		}
		return r.resolve(r.defaultModel, depth+1)
	}
	if m, ok := r.models[name]; ok {
		return r.resolved(r.providers[m.Provider], m.ProviderModel, m), nil
	}
	if slices.Contains(TessAliases, name) {
		if r.defaultModel == "" || r.defaultModel == name {
			return nil, fmt.Errorf("model %q is an alias of the default model, and none is configured (set TESSERA_DEFAULT_MODEL)", name)
		}
		return r.resolve(r.defaultModel, depth+1)
	}
	if prov, model, ok := strings.Cut(name, "/"); ok {
		if p, ok := r.providers[prov]; ok && model != "" {
			return r.resolved(p, model, r.priceFor(prov, model)), nil
		}
	}
	if name == "echo" {
		if p, ok := r.providers["echo"]; ok {
			return r.resolved(p, "echo", r.priceFor("echo", "echo")), nil
		}
	}
	if len(r.order) == 0 {
		return nil, fmt.Errorf("model %q is not available: no provider is configured (set OPENAI_API_KEY or OPENAI_BASE_URL)", name)
	}
	p := r.providers[r.order[0]]
	return r.resolved(p, name, r.priceFor(p.Name(), name)), nil
}

func (r *Registry) resolved(p Provider, model string, price Model) *Resolved {
	return &Resolved{Provider: p, Model: model, Spec: p.Name() + "/" + model, Price: price}
}

// priceFor finds a table entry for a provider's model so that a model named
// directly is billed like its alias.
func (r *Registry) priceFor(provider, model string) Model {
	for _, m := range r.models {
		if m.Provider == provider && m.ProviderModel == model {
			return m
		}
	}
	return Model{Name: model, Provider: provider, ProviderModel: model}
}
