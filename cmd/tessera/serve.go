package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/spf13/cobra"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/server"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/postgres"
	"github.com/tessera-run/tessera/queue"
	"github.com/tessera-run/tessera/sqlite"
	"github.com/tessera-run/tessera/tool/builtin"
	"github.com/tessera-run/tessera/tool/httptool"
	"github.com/tessera-run/tessera/tool/mcptool"
)

func serveCommand(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API, the workers and the sweeper",
		Args:  cobra.NoArgs,
	}
	bindFlags(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd.Flags(), getenv)
		if err != nil {
			return usageError{err}
		}
		return serve(cmd.Context(), cfg, stdout, stderr)
	}
	return cmd
}

func newLogger(cfg LogConfig, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		return nil, usageError{fmt.Errorf("log level %q: use debug, info, warn or error", cfg.Level)}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.Format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("log format %q: use text or json", cfg.Format)}
}

// worker is the job queue as the node drives it, whatever its database.
type worker interface {
	Start(ctx context.Context, r queue.Runner) error
	Stop(ctx context.Context) error
}

// node is one running server: its store, queue, engine and HTTP server.
type node struct {
	cfg    Config
	log    *slog.Logger
	store  tessera.Store
	queue  worker
	engine *engine.Engine
	reg    *llm.Registry
}

func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		return err
	}
	n, err := openNode(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer n.store.Close()
	if err := n.bootstrap(ctx, stdout); err != nil {
		return err
	}
	if err := n.engine.Start(ctx); err != nil {
		return err
	}
	if err := n.queue.Start(ctx, n.engine); err != nil {
		return err
	}
	// Every node scans for due schedules; each slot still starts one run.
	schedCtx, cancelSchedules := context.WithCancel(context.WithoutCancel(ctx))
	schedulesDone := make(chan struct{})
	go func() {
		defer close(schedulesDone)
		n.engine.RunSchedules(schedCtx, engine.DefaultScheduleInterval)
	}()
	stopSchedules := sync.OnceFunc(func() { cancelSchedules(); <-schedulesDone })
	defer stopSchedules()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		n.stopWork()
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler: server.New(server.Config{
			Store: n.store, Engine: n.engine, Registry: n.reg, Logger: log, AdminToken: cfg.AdminToken,
			MaxBody: cfg.Limits.MaxBodyBytes, MaxWait: cfg.Execution.MaxWait, Ready: n.ready,
			SSEHeartbeat: cfg.Events.Heartbeat,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening on http://" + ln.Addr().String())

	select {
	case err := <-errc:
		n.stopWork()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownGrace)
	stopSchedules()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	// Stop taking requests first. Waiting requests answer at once with the
	// current state; the executions they wait for carry on in the queue.
	n.engine.Drain()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
	}
	if err := n.queue.Stop(shutdownCtx); err != nil {
		log.Warn("stop queue", "err", err)
	}
	n.engine.Stop(shutdownCtx)
	log.Info("stopped")
	return nil
}

// openNode opens the database (migrating it) and builds the queue, the
// providers and the engine.
func openNode(ctx context.Context, cfg Config, log *slog.Logger) (*node, error) {
	var store tessera.Store
	var q worker
	var notifier engine.Notifier
	var err error
	if cfg.isPostgres() {
		var pg *postgres.Store
		pg, q, err = openPostgres(ctx, cfg, log)
		if err == nil {
			store = pg
			notifier, err = postgres.NewNotifier(ctx, pg)
			if err != nil {
				pg.Close()
			}
		}
	} else {
		store, q, err = openSQLite(ctx, cfg, log)
	}
	if err != nil {
		return nil, err
	}
	reg, err := newRegistry(cfg)
	if err != nil {
		store.Close()
		return nil, usageError{err}
	}
	tools, err := newToolResolver(cfg)
	if err != nil {
		store.Close()
		return nil, usageError{err}
	}
	declaredHTTP, err := builtin.NewHTTPClient(tools.Deps.HTTP)
	if err != nil {
		store.Close()
		return nil, usageError{fmt.Errorf("tools.http: %w", err)}
	}
	// An MCP tool call is one HTTP request whose answer may stream for as
	// long as the tool runs, so its client's bound is the tool timeout's,
	// not the short one of a plain HTTP call.
	mcpHTTPConfig := tools.Deps.HTTP
	mcpHTTPConfig.Timeout = max(cfg.Tools.Timeout, 30*time.Second) + 10*time.Second
	mcpHTTP, err := builtin.NewHTTPClient(mcpHTTPConfig)
	if err != nil {
		store.Close()
		return nil, usageError{fmt.Errorf("tools.http: %w", err)}
	}
	// Webhook deliveries follow no redirect: a receiver that moved answers
	// 3xx, which counts as a failed attempt the delivery log shows.
	hookHTTPConfig := tools.Deps.HTTP
	hookHTTPConfig.MaxRedirects = -1
	hookHTTP, err := builtin.NewHTTPClient(hookHTTPConfig)
	if err != nil {
		store.Close()
		return nil, usageError{fmt.Errorf("tools.http: %w", err)}
	}
	eng, err := engine.New(engine.Config{
		Webhooks: engine.WebhookConfig{Client: hookHTTP},
		Tools:    tools, ToolTimeout: cfg.Tools.Timeout, ToolMaxOutput: cfg.Tools.MaxOutput,
		// Declared HTTP tools and MCP servers go through the same SSRF
		// guard and allow-list as the built-in HTTP tools.
		HTTPTools: httptool.Config{Client: declaredHTTP, Timeout: cfg.Tools.HTTP.Timeout, MaxResponseBytes: cfg.Tools.HTTP.MaxResponseBytes},
		MCP: mcptool.Options{HTTPClient: mcpHTTP, AllowStdio: cfg.Tools.MCP.AllowStdio, AllowedCommands: cfg.Tools.MCP.AllowedCommands,
			ConnectTimeout: cfg.Tools.MCP.ConnectTimeout, ClientName: "tessera", ClientVersion: Version, MaxOutputBytes: cfg.Tools.MaxOutput},
		Store: store, Registry: reg, Logger: log, Lease: cfg.Execution.Lease, Timeout: cfg.Execution.Timeout,
		MaxTimeout: cfg.Execution.MaxTimeout, MaxAttempts: cfg.Execution.MaxAttempts, MaxWait: cfg.Execution.MaxWait,
		EventRetention: cfg.Events.Retention, Notifier: notifier, Concurrency: cfg.Workers, RecoverFetchedJobs: true,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	return &node{cfg: cfg, log: log, store: store, queue: q, engine: eng, reg: reg}, nil
}

// openSQLite opens the embedded database and its queue, wired so that an
// execution and its job are written in one transaction.
func openSQLite(ctx context.Context, cfg Config, log *slog.Logger) (*sqlite.Store, worker, error) {
	if cfg.DatabaseURL == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, nil, fmt.Errorf("data dir: %w", err)
		}
	}
	store, err := sqlite.OpenMigrated(ctx, sqlite.Config{Path: cfg.sqlitePath(), Logger: log})
	if err != nil {
		return nil, nil, err
	}
	q, err := openQueue(ctx, riversqlite.New(store.DB()), cfg, log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	store.SetEnqueue(q.InsertTx)
	return store, q, nil
}

// openPostgres opens a PostgreSQL database shared by any number of nodes,
// with River on the same pool (LISTEN/NOTIFY wakes workers at once).
func openPostgres(ctx context.Context, cfg Config, log *slog.Logger) (*postgres.Store, worker, error) {
	store, err := postgres.OpenMigrated(ctx, postgres.Config{URL: cfg.DatabaseURL, Logger: log})
	if err != nil {
		return nil, nil, err
	}
	q, err := openQueue(ctx, riverpgxv5.New(store.Pool()), cfg, log)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	store.SetEnqueue(q.InsertTx)
	return store, q, nil
}

// openQueue migrates River's tables and builds the queue on driver.
func openQueue[TTx any](ctx context.Context, driver riverdriver.Driver[TTx], cfg Config, log *slog.Logger) (*queue.Queue[TTx], error) {
	if err := queue.Migrate(ctx, driver); err != nil {
		return nil, err
	}
	return queue.New(driver, queue.Config{Workers: cfg.Workers, PollInterval: cfg.Queue.PollInterval, Logger: log, Lease: cfg.Execution.Lease})
}

// newToolResolver builds the built-in tools from the config, checking it
// (a malformed allow-list entry is a usage error).
func newToolResolver(cfg Config) (builtin.Resolver, error) {
	deps := builtin.Deps{HTTP: builtin.HTTPConfig{
		Allow: cfg.Tools.HTTP.Allow, Timeout: cfg.Tools.HTTP.Timeout, MaxResponseBytes: cfg.Tools.HTTP.MaxResponseBytes,
	}}
	if u := cfg.Tools.WebSearch.SearxngURL; u != "" {
		search, err := builtin.NewSearXNG(builtin.SearXNGConfig{BaseURL: u})
		if err != nil {
			return builtin.Resolver{}, fmt.Errorf("tools.web_search: %w", err)
		}
		deps.Search = search
	}
	r := builtin.Resolver{Deps: deps}
	if _, err := r.Resolve(nil); err != nil {
		return builtin.Resolver{}, fmt.Errorf("tools.http: %w", err)
	}
	return r, nil
}

// bootstrap creates workspace 1 on a fresh database and, when no admin
// token is configured and no key exists, one key for it, printed once.
func (n *node) bootstrap(ctx context.Context, stdout io.Writer) error {
	now := time.Now()
	_, err := n.store.WorkspaceGetByID(ctx, tessera.DefaultWorkspaceID)
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		_, err = n.store.WorkspaceCreate(ctx, &tessera.WorkspaceCreateParams{ID: tessera.DefaultWorkspaceID, Name: "default", Now: now})
		if tessera.ErrorCode(err) == tessera.ECONFLICT {
			err = nil // another node created it first
		}
	}
	if err != nil {
		return fmt.Errorf("bootstrap workspace: %w", err)
	}
	if n.cfg.AdminToken == "" {
		count, err := n.store.APIKeyCount(ctx)
		if err != nil {
			return fmt.Errorf("bootstrap key: %w", err)
		}
		if count == 0 {
			token, hash := tessera.NewAPIToken()
			if _, err := n.store.APIKeyCreate(ctx, &tessera.APIKeyCreateParams{
				Name: "bootstrap", Hash: hash, Prefix: tessera.TokenPrefix(token), WorkspaceIDs: []int64{tessera.DefaultWorkspaceID}, Now: now,
			}); err != nil {
				return fmt.Errorf("bootstrap key: %w", err)
			}
			// Printed, never logged: this is the only time it can be seen.
			fmt.Fprintf(stdout, "Created an API key for workspace 1. It is shown only once:\n\n    %s\n\n", token)
		}
	}
	return n.upsertAgents(ctx, now)
}

// upsertAgents writes the agents declared in the config file.
func (n *node) upsertAgents(ctx context.Context, now time.Time) error {
	for _, ac := range n.cfg.Agents {
		a := &tessera.Agent{
			WorkspaceID: max(ac.WorkspaceID, tessera.DefaultWorkspaceID), Slug: ac.Slug, Title: ac.Title, Description: ac.Description,
			Type: ac.Type, Instructions: ac.Instructions, Prompt: ac.Prompt, Questions: ac.Questions, Model: ac.Model,
			Temperature: ac.Temperature, Tools: ac.Tools, MaxIterations: ac.MaxIterations, Source: "config",
			FallbackModels: ac.FallbackModels,
		}
		if err := ac.declaredTools(a); err != nil {
			return usageError{fmt.Errorf("config agent %q: %w", ac.Slug, err)}
		}
		if err := a.Validate(); err != nil {
			return usageError{fmt.Errorf("config agent %q: %w", ac.Slug, err)}
		}
		if err := n.engine.CheckAgent(a); err != nil {
			return usageError{fmt.Errorf("config agent %q: %w", ac.Slug, err)}
		}
		if _, changed, err := n.store.AgentUpsertBySlug(ctx, &tessera.AgentCreateParams{Agent: a, Now: now, Actor: "config"}); err != nil {
			return fmt.Errorf("config agent %q: %w", ac.Slug, err)
		} else if changed {
			n.log.Info("agent from config written", "slug", ac.Slug, "workspace_id", a.WorkspaceID)
		}
	}
	return nil
}

func (n *node) ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := n.store.Ping(ctx); err != nil {
		return errors.New("database unavailable")
	}
	return nil
}

func (n *node) stopWork() {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.ShutdownGrace)
	defer cancel()
	_ = n.queue.Stop(ctx)
	n.engine.Stop(ctx)
}
