package openaicompat

import (
	"log/slog"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
)

// Config configures the OpenAI-compatible surface.
type Config struct {
	Store    tessera.Store
	Engine   *engine.Engine
	Registry *llm.Registry
	Logger   *slog.Logger
	// MaxBody bounds request bodies.
	MaxBody int64
	// MaxWait bounds how long a non-streamed request waits for its
	// execution; past it the answer is a 504 naming the execution.
	MaxWait time.Duration
	// Heartbeat is the interval of keep-alive comments on idle streams.
	Heartbeat time.Duration
}

// WithDefaults returns cfg with defaults filled in.
func (cfg Config) WithDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 100 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	return cfg
}

// Handler serves the OpenAI-compatible routes.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	cfg = cfg.WithDefaults()
	return &Handler{cfg: cfg, log: cfg.Logger}
}

// agentPrefixes are where the per-agent routes are mounted: un-prefixed
// (api.tess.im) and under /api (tess.pareto.io), as Tess's own routes are.
// The /v1 routes exist once: /api/v1 is the native surface.
var agentPrefixes = []string{"", "/api"}

// Routes registers the surface on r, which must already authenticate.
func (h *Handler) Routes(r chi.Router) {
	for _, p := range agentPrefixes {
		r.Post(p+"/agents/{id}/openai/chat/completions", h.agentCompletions)
		r.Get(p+"/agents/{id}/openai/models", h.agentModels)
		r.Get(p+"/agents/{id}/openai/models/{model}", h.agentModel)
	}
	r.Post("/v1/chat/completions", h.modelCompletions)
	r.Get("/v1/models", h.listModels)
	r.Get("/v1/models/{model}", h.getModel)
}

// Owns reports whether path belongs to this surface, so that the server
// renders its errors (authentication failures, unknown routes) in OpenAI's
// shape: /v1/… and /agents/{id}/openai/… with or without /api.
func Owns(path string) bool {
	if path == "/v1" || strings.HasPrefix(path, "/v1/") {
		return true
	}
	rest, ok := strings.CutPrefix(strings.TrimPrefix(path, "/api"), "/agents/")
	if !ok {
		return false
	}
	_, tail, ok := strings.Cut(rest, "/")
	return ok && (tail == "openai" || strings.HasPrefix(tail, "openai/"))
}
