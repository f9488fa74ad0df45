// Package native serves Tessera's own management API under /api/v1:
// workspaces, API keys and agents. Errors are RFC 9457 problem details.
package native

import (
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
	"github.com/tessera-run/tessera/llm"
)

// Config configures the native surface.
type Config struct {
	Store    tessera.Store
	Registry *llm.Registry
	Auth     *httpx.Authenticator
	// Tools checks what agent definitions refer to: tool names, declared
	// tools, output_schema.
	Tools   interface{ CheckAgent(a *tessera.Agent) error }
	Logger  *slog.Logger
	Now     func() time.Time
	MaxBody int64
}

// Handler serves the native routes.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, log: cfg.Logger}
}

// Prefix is where the surface is mounted.
const Prefix = "/api/v1"

// Routes registers the surface on r, which must already authenticate.
func (h *Handler) Routes(r chi.Router) {
	r.Get(Prefix+"/workspaces", h.listWorkspaces)
	r.Post(Prefix+"/workspaces", h.createWorkspace)
	r.Get(Prefix+"/workspaces/{id}", h.getWorkspace)

	r.Get(Prefix+"/api-keys", h.listKeys)
	r.Post(Prefix+"/api-keys", h.createKey)
	r.Delete(Prefix+"/api-keys/{id}", h.revokeKey)

	r.Get(Prefix+"/agents", h.listAgents)
	r.Post(Prefix+"/agents", h.createAgent)
	r.Get(Prefix+"/agents/{id}", h.getAgent)
	r.Put(Prefix+"/agents/{id}", h.replaceAgent)
	r.Patch(Prefix+"/agents/{id}", h.patchAgent)
	r.Delete(Prefix+"/agents/{id}", h.deleteAgent)

	r.Get(Prefix+"/schedules", h.listSchedules)
	r.Post(Prefix+"/schedules", h.createSchedule)
	r.Get(Prefix+"/schedules/{id}", h.getSchedule)
	r.Put(Prefix+"/schedules/{id}", h.replaceSchedule)
	r.Patch(Prefix+"/schedules/{id}", h.patchSchedule)
	r.Delete(Prefix+"/schedules/{id}", h.deleteSchedule)

	r.Get(Prefix+"/models", h.listModels)
}
