// Package instances serves the agent-instance surface of seed 003 under
// /api/v1/ai/agents. Its errors are FastAPI-shaped: 422
// {"detail": [{"loc": […], "msg": …, "type": …}]} for validation, and
// {"detail": "…"} otherwise.
package instances

import (
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
)

// Config configures the surface.
type Config struct {
	Store    tessera.Store
	Engine   *engine.Engine
	Registry *llm.Registry
	Logger   *slog.Logger
	Now      func() time.Time
	MaxBody  int64
	// MaxWait bounds a synchronous execute.
	MaxWait time.Duration
	// Heartbeat is the interval of SSE keep-alive comments.
	Heartbeat time.Duration
}

// Handler serves the routes.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 100 * time.Second
	}
	return &Handler{cfg: cfg, log: cfg.Logger}
}

// Prefix is where the surface is mounted.
const Prefix = "/api/v1/ai/agents"

// Routes registers the surface on r, which must already authenticate.
func (h *Handler) Routes(r chi.Router) {
	r.Get(Prefix+"/instances", h.listInstances)
	r.Post(Prefix+"/instances", h.createInstance)
	r.Get(Prefix+"/instances/{id}", h.getInstance)
	r.Put(Prefix+"/instances/{id}", h.updateInstance)
	r.Patch(Prefix+"/instances/{id}", h.updateInstance)
	r.Delete(Prefix+"/instances/{id}", h.deleteInstance)
	r.Post(Prefix+"/instances/{id}/execute", h.execute)
	r.Post(Prefix+"/instances/{id}/trigger", h.rotateTrigger)
	r.Get(Prefix+"/executions", h.listExecutions)
	r.Get(Prefix+"/executions/{id}", h.getExecution)
	r.Get(Prefix+"/executions/{id}/events", h.events)
	r.Post(Prefix+"/executions/{id}/cancel", h.cancel)
}
