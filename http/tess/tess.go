// Package tess serves the Tess-compatible API: a drop-in server for
// existing clients of the Tess AI agents API (reference: tess-api.md). It is
// mounted both un-prefixed (api.tess.im style) and under /api
// (tess.pareto.io style), with the legacy /templates names. Shapes follow
// Tess exactly: {"error": …} bodies, Laravel paginators and timestamps,
// integer ids and the starting/running/succeeded/failed statuses.
package tess

import (
	"log/slog"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
)

// Config configures the Tess surface.
type Config struct {
	Store    tessera.Store
	Engine   *engine.Engine
	Registry *llm.Registry
	Logger   *slog.Logger
	// MaxBody bounds request bodies.
	MaxBody int64
	// MaxWait bounds waitExecution (Tess documents 100 s).
	MaxWait time.Duration
}

// Handler serves the Tess routes.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 100 * time.Second
	}
	return &Handler{cfg: cfg, log: cfg.Logger}
}

// Prefixes are where the surface is mounted.
var Prefixes = []string{"", "/api"}

// Routes registers the surface on r, which must already authenticate.
func (h *Handler) Routes(r chi.Router) {
	for _, p := range Prefixes {
		for _, noun := range []string{"/agents", "/templates"} {
			r.Get(p+noun, h.listAgents)
			r.Get(p+noun+"/{id}", h.getAgent)
			r.Post(p+noun+"/{id}/execute", h.execute)
			r.Get(p+noun+"/{id}/versions", h.listVersions)
			r.Get(p+noun+"/{id}/versions/{version}", h.getVersion)
			r.Post(p+noun+"/{id}/versions/{version}/rollback", h.rollback)
			r.Get(p+noun+"/{id}/webhooks", h.listAgentWebhooks)
			r.Post(p+noun+"/{id}/webhooks", h.createWebhook)
		}
		r.Get(p+"/webhooks", h.listWebhooks)
		r.Delete(p+"/webhooks/{id}", h.deleteWebhook)
		r.Get(p+"/webhooks/{id}/deliveries", h.listDeliveries)
		for _, noun := range []string{"/agent-responses", "/template-responses"} {
			r.Get(p+noun, h.listResponses)
			r.Get(p+noun+"/{id}", h.getResponse)
			r.Post(p+noun+"/{id}/cancel", h.cancelResponse)
		}
	}
}
