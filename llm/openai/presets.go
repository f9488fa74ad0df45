package openai

import (
	"slices"
	"strings"
)

// Preset is a known OpenAI-compatible server: where it usually listens,
// which environment variable usually holds its key, and its wire quirks.
type Preset struct {
	Name    string
	BaseURL string
	// KeyEnv is the variable the server's own clients read the key from.
	KeyEnv string
	// KeyRequired: hosted services refuse calls without a key; local
	// servers need none.
	KeyRequired    bool
	SystemRole     string
	MaxTokensParam string
	// Azure: BaseURL is the resource endpoint, and a deployment and an
	// api-version are required.
	Azure bool
}

// Presets are the servers Tessera knows how to talk to. Local servers
// (Ollama, vLLM, llama.cpp, LM Studio) and most hosted ones take the
// classic "system" role and "max_tokens"; OpenAI's reasoning models want
// "developer" and "max_completion_tokens", which its other models accept
// too; Groq and Azure take max_completion_tokens.
var Presets = []Preset{
	{Name: "openai", BaseURL: "https://api.openai.com/v1", KeyEnv: "OPENAI_API_KEY", KeyRequired: true, SystemRole: RoleDeveloper, MaxTokensParam: MaxCompletionTokens},
	{Name: "azure", KeyEnv: "AZURE_OPENAI_API_KEY", KeyRequired: true, SystemRole: RoleSystem, MaxTokensParam: MaxCompletionTokens, Azure: true},
	{Name: "ollama", BaseURL: "http://localhost:11434/v1", SystemRole: RoleSystem, MaxTokensParam: MaxTokens},
	{Name: "vllm", BaseURL: "http://localhost:8000/v1", SystemRole: RoleSystem, MaxTokensParam: MaxTokens},
	{Name: "llamacpp", BaseURL: "http://localhost:8080/v1", SystemRole: RoleSystem, MaxTokensParam: MaxTokens},
	{Name: "lmstudio", BaseURL: "http://localhost:1234/v1", SystemRole: RoleSystem, MaxTokensParam: MaxTokens},
	{Name: "openrouter", BaseURL: "https://openrouter.ai/api/v1", KeyEnv: "OPENROUTER_API_KEY", KeyRequired: true, SystemRole: RoleSystem, MaxTokensParam: MaxTokens},
	{Name: "groq", BaseURL: "https://api.groq.com/openai/v1", KeyEnv: "GROQ_API_KEY", KeyRequired: true, SystemRole: RoleSystem, MaxTokensParam: MaxCompletionTokens},
	{Name: "deepseek", BaseURL: "https://api.deepseek.com/v1", KeyEnv: "DEEPSEEK_API_KEY", KeyRequired: true, SystemRole: RoleSystem, MaxTokensParam: MaxTokens},
	{Name: "mistral", BaseURL: "https://api.mistral.ai/v1", KeyEnv: "MISTRAL_API_KEY", KeyRequired: true, SystemRole: RoleSystem, MaxTokensParam: MaxTokens},
}

// LookupPreset returns the preset called name.
func LookupPreset(name string) (Preset, bool) {
	i := slices.IndexFunc(Presets, func(p Preset) bool { return p.Name == strings.ToLower(name) })
	if i < 0 {
		return Preset{}, false
	}
	return Presets[i], true
}

// PresetNames lists the presets' names.
func PresetNames() []string {
	names := make([]string, len(Presets))
	for i, p := range Presets {
		names[i] = p.Name
	}
	return names
}

// Apply fills what cfg leaves unset with the preset's values; what cfg
// sets wins. Name defaults to the preset's name.
func (p Preset) Apply(cfg Config) Config {
	if cfg.Name == "" {
		cfg.Name = p.Name
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = p.BaseURL
	}
	if cfg.SystemRole == "" {
		cfg.SystemRole = p.SystemRole
	}
	if cfg.MaxTokensParam == "" {
		cfg.MaxTokensParam = p.MaxTokensParam
	}
	return cfg
}
