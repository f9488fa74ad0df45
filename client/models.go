package client

import (
	"context"
	"net/http"
)

// Model is a model agents and requests may name.
type Model struct {
	Name          string `json:"name"`
	Provider      string `json:"provider"`
	Model         string `json:"model"`
	Spec          string `json:"spec"`
	ContextWindow int    `json:"context_window,omitempty"`
	Capabilities  struct {
		Tools            bool `json:"tools"`
		TextReAct        bool `json:"text_react"`
		Vision           bool `json:"vision"`
		StructuredOutput bool `json:"structured_output"`
		Streaming        bool `json:"streaming"`
	} `json:"capabilities"`
	// Pricing is in US dollars per million tokens.
	Pricing struct {
		Input       float64 `json:"input"`
		Output      float64 `json:"output"`
		CachedInput float64 `json:"cached_input"`
	} `json:"pricing"`
	CreditsMultiplier float64 `json:"credits_multiplier"`
	Default           bool    `json:"default"`
}

// ModelList is what the server can run.
type ModelList struct {
	Data         []Model `json:"data"`
	DefaultModel string  `json:"default_model"`
	// Aliases maps Tess's model names to what they run on.
	Aliases   map[string]string `json:"aliases"`
	Providers []string          `json:"providers"`
}

// ModelsService lists models (/api/v1/models).
type ModelsService struct{ c *Client }

// List returns the model table, the default model, the aliases and the
// providers.
func (s *ModelsService) List(ctx context.Context) (*ModelList, error) {
	var out ModelList
	if err := s.c.do(ctx, &request{method: http.MethodGet, path: "/api/v1/models"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
