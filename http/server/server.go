// Package server assembles Tessera's HTTP surfaces (Tess-compatible,
// native) behind the shared middleware, and serves health checks.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
	"github.com/tessera-run/tessera/http/instances"
	"github.com/tessera-run/tessera/http/native"
	"github.com/tessera-run/tessera/http/openaicompat"
	"github.com/tessera-run/tessera/http/tess"
	"github.com/tessera-run/tessera/llm"
)

// Config configures the HTTP handler.
type Config struct {
	Store      tessera.Store
	Engine     *engine.Engine
	Registry   *llm.Registry
	Logger     *slog.Logger
	Now        func() time.Time
	AdminToken string
	MaxBody    int64
	MaxWait    time.Duration
	// SSEHeartbeat is the interval of keep-alive comments on event streams.
	SSEHeartbeat time.Duration
	// Ready reports whether the node can take work (database and workers).
	Ready func(ctx context.Context) error
}

// New returns the root handler.
func New(cfg Config) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = httpx.DefaultMaxBody
	}
	auth := httpx.NewAuthenticator(cfg.Store, cfg.AdminToken, cfg.Now)
	writeErr := errorWriter(cfg.Logger)

	r := chi.NewRouter()
	r.Use(httpx.RequestID, httpx.AccessLog(cfg.Logger), httpx.Recover(cfg.Logger, writeErr))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, r, tessera.Errorf(tessera.ENOTFOUND, "Not found: %s %s", r.Method, r.URL.Path))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, req *http.Request) {
		writeMethodNotAllowed(r, writeErr, w, req)
	})
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if cfg.Ready != nil {
			if err := cfg.Ready(r.Context()); err != nil {
				httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "error": err.Error()})
				return
			}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	inst := instances.New(instances.Config{Store: cfg.Store, Engine: cfg.Engine, Registry: cfg.Registry, Logger: cfg.Logger,
		Heartbeat: cfg.SSEHeartbeat, Now: cfg.Now, MaxBody: cfg.MaxBody, MaxWait: cfg.MaxWait})
	// Signed inbound events carry their own credential.
	inst.HookRoutes(r)
	r.Group(func(r chi.Router) {
		r.Use(httpx.RequireAuth(auth, writeErr))
		tess.New(tess.Config{Store: cfg.Store, Engine: cfg.Engine, Registry: cfg.Registry, Logger: cfg.Logger,
			MaxBody: cfg.MaxBody, MaxWait: cfg.MaxWait}).Routes(r)
		inst.Routes(r)
		native.New(native.Config{Store: cfg.Store, Registry: cfg.Registry, Auth: auth, Logger: cfg.Logger, Tools: cfg.Engine,
			Now: cfg.Now, MaxBody: cfg.MaxBody}).Routes(r)
		openaicompat.New(openaicompat.Config{Store: cfg.Store, Engine: cfg.Engine, Registry: cfg.Registry, Logger: cfg.Logger,
			MaxBody: cfg.MaxBody, MaxWait: cfg.MaxWait, Heartbeat: cfg.SSEHeartbeat}).Routes(r)
	})
	return r
}

// errorWriter picks the surface's error shape by path: OpenAI's on the
// OpenAI-compatible routes, FastAPI's under the agent-instances prefix,
// problem+json under the native prefix, Tess's {"error": …} everywhere else.
func errorWriter(log *slog.Logger) httpx.ErrorWriter {
	tessErr, nativeErr, instErr := tess.WriteError(log), native.WriteError(log), instances.WriteError(log)
	openaiErr := openaicompat.WriteError(log)
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if openaicompat.Owns(r.URL.Path) {
			openaiErr(w, r, err)
			return
		}
		if strings.HasPrefix(r.URL.Path, instances.Prefix+"/") {
			instErr(w, r, err)
			return
		}
		if strings.HasPrefix(r.URL.Path, native.Prefix+"/") {
			nativeErr(w, r, err)
			return
		}
		tessErr(w, r, err)
	}
}

// writeMethodNotAllowed answers 405 in the surface's shape, with the Allow
// header listing the methods the path does support.
func writeMethodNotAllowed(router chi.Router, writeErr httpx.ErrorWriter, w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if router.Match(chi.NewRouteContext(), m, r.URL.Path) {
			allowed = append(allowed, m)
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeErr(w, r, tessera.Errorf(tessera.EMETHOD, "The %s method is not supported for %s; use %s.", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
}
