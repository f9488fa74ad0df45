// Package engine runs executions. It validates an ExecuteRequest against its
// agent (questions, messages rules, model, limits) and writes the execution
// with its durable job in one transaction (Submit); it waits for executions
// to finish (Wait); and it runs them when the queue hands them over
// (RunExecution), under a lease that a heartbeat renews and that a sweeper
// recovers when its holder dies.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/tool/httptool"
	"github.com/tessera-run/tessera/tool/mcptool"
)

// Config configures an Engine. Zero values take the defaults of
// WithDefaults.
type Config struct {
	Store    tessera.Store
	Registry *llm.Registry
	Logger   *slog.Logger
	// Now is the clock; tests inject their own.
	Now func() time.Time

	// Lease is how long a claim lasts without a heartbeat: after a crash,
	// the executions a node held are recovered within about this long.
	Lease time.Duration
	// Timeout is the deadline of an execution whose agent and request set
	// none; past it the execution ends as timeout.
	Timeout time.Duration
	// MaxTimeout caps the deadlines agents and requests may ask for.
	MaxTimeout time.Duration
	// MaxAttempts bounds how often an interrupted execution is retried.
	MaxAttempts int
	// MaxWait bounds a synchronous wait (Tess: 100 s).
	MaxWait time.Duration
	// PollInterval is how often a waiter or a stream re-reads the store in
	// case a signal was missed (another node wrote it).
	PollInterval time.Duration
	// DeltaFlush is how long output text may wait before it is appended to
	// the event log as one delta event; the first delta never waits.
	DeltaFlush time.Duration
	// EventRetention is how long the event log of a finished execution is
	// kept; 0 keeps it forever.
	EventRetention time.Duration
	// Notifier, when set, carries changes between nodes sharing the
	// database.
	Notifier Notifier
	// Concurrency bounds how many executions run at once on this node,
	// whether the queue handed them over or they started inline. With a
	// positive value a submission starts at once on this node when a slot
	// is free, without waiting for the queue. The execution and its job are
	// committed first, so an inline run is as durable as a queued one: the
	// job finds it claimed (or done) and does nothing, and a crash is
	// recovered by the lease like any other run. 0 leaves every execution
	// to the queue, unbounded here.
	Concurrency int
	// RecoverFetchedJobs says the store shares its database with the
	// queue's jobs, so the sweeper also re-enqueues executions whose job a
	// worker fetched and never claimed (its node died in between).
	RecoverFetchedJobs bool
	// Tools resolves the tool names of executions; nil allows none.
	Tools ToolResolver
	// HTTPTools configures the HTTP tools agents declare; without a
	// Client they are refused.
	HTTPTools httptool.Config
	// MCP configures how MCP servers are reached.
	MCP mcptool.Options
	// Webhooks configures the delivery of finished executions to agents'
	// webhooks; WebhookPoll is how often a node looks for due deliveries.
	Webhooks    WebhookConfig
	WebhookPoll time.Duration
	// ToolTimeout bounds one tool call; ToolMaxOutput bounds what a tool
	// call shows the model, in bytes.
	ToolTimeout   time.Duration
	ToolMaxOutput int
}

// WithDefaults returns cfg with defaults filled in.
func (cfg Config) WithDefaults() Config {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	if cfg.MaxTimeout <= 0 {
		cfg.MaxTimeout = max(time.Hour, cfg.Timeout)
	}
	if cfg.ToolTimeout <= 0 {
		cfg.ToolTimeout = 30 * time.Second
	}
	if cfg.ToolMaxOutput <= 0 {
		cfg.ToolMaxOutput = 16 << 10
	}
	if cfg.DeltaFlush <= 0 {
		cfg.DeltaFlush = 25 * time.Millisecond
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 100 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.WebhookPoll <= 0 {
		cfg.WebhookPoll = 2 * time.Second
	}
	return cfg
}

func (cfg Config) validate() error {
	if cfg.Store == nil {
		return errors.New("engine: Store is required")
	}
	if cfg.Registry == nil {
		return errors.New("engine: Registry is required")
	}
	return nil
}

// Engine is safe for concurrent use.
type Engine struct {
	cfg   Config
	store tessera.Store
	log   *slog.Logger
	done  *hub
	// events fans appended events out to in-process followers.
	events *bus
	// running holds the cancel funcs of the executions this node runs, so
	// a cancel reaches the provider call at once.
	runningMu sync.Mutex
	running   map[int64]context.CancelCauseFunc

	stopSweep context.CancelFunc
	sweepDone chan struct{}
	mu        sync.Mutex

	draining  chan struct{}
	drainOnce sync.Once
	// node names this process in cross-node notifications.
	node string

	// slots bounds the runs of this node (Concurrency); inline is slots
	// while started (nil once stopping). runCtx is the context of inline
	// runs, cancelled by Stop after its grace.
	slots      chan struct{}
	inline     chan struct{}
	inlineRuns sync.WaitGroup
	runCtx     context.Context
	stopRuns   context.CancelFunc
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Engine{cfg: cfg, store: cfg.Store, log: cfg.Logger, done: newHub(), draining: make(chan struct{}),
		events: newBus(), running: map[int64]context.CancelCauseFunc{}, node: newNodeID(),
		slots: slotsFor(cfg.Concurrency)}, nil
}

// Start starts the sweeper that recovers executions whose lease expired.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopSweep != nil {
		return errors.New("engine: already started")
	}
	e.runCtx, e.stopRuns = context.WithCancel(context.WithoutCancel(ctx))
	e.inline = e.slots
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.stopSweep, e.sweepDone = cancel, make(chan struct{})
	listening := make(chan struct{})
	if n := e.cfg.Notifier; n != nil {
		go func() {
			defer close(listening)
			n.Listen(ctx, func(payload string) { e.onNotify(ctx, payload) })
		}()
	} else {
		close(listening)
	}
	webhooksDone := make(chan struct{})
	go func() {
		defer close(webhooksDone)
		e.RunWebhooks(ctx, e.cfg.WebhookPoll)
	}()
	go func() {
		e.sweepLoop(ctx)
		<-listening
		<-webhooksDone
		close(e.sweepDone)
	}()
	return nil
}

// Stop lets the runs this node started inline finish until ctx ends, then
// cancels them (they hand their executions back), and stops the sweeper.
func (e *Engine) Stop(ctx context.Context) {
	e.mu.Lock()
	stop, done, stopRuns := e.stopSweep, e.sweepDone, e.stopRuns
	e.stopSweep, e.inline = nil, nil
	e.mu.Unlock()
	if stop == nil {
		return
	}
	finished := make(chan struct{})
	go func() {
		e.inlineRuns.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-ctx.Done():
		stopRuns()
		<-finished
	}
	stopRuns()
	stop()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func slotsFor(n int) chan struct{} {
	if n <= 0 {
		return nil
	}
	return make(chan struct{}, n)
}

// dispatch starts a just-submitted execution on this node when an inline
// slot is free; otherwise the queue will hand it to a worker.
func (e *Engine) dispatch(id int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.inline == nil {
		return
	}
	select {
	case e.inline <- struct{}{}:
	default:
		return
	}
	slots := e.inline
	e.inlineRuns.Add(1)
	go func() {
		defer e.inlineRuns.Done()
		defer func() { <-slots }()
		var later *ErrRetryLater
		if err := e.runExecution(e.runCtx, id); err != nil && !errors.As(err, &later) {
			// The queue's job runs it again.
			e.log.Warn("inline run failed; left to the queue", "execution_id", id, "err", err)
		}
	}()
}

func (e *Engine) sweepLoop(ctx context.Context) {
	t := time.NewTicker(max(e.cfg.Lease/3, 50*time.Millisecond))
	defer t.Stop()
	var lastPrune time.Time
	for {
		if err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("sweep expired leases", "err", err)
		}
		if now := e.cfg.Now(); e.cfg.EventRetention > 0 && now.Sub(lastPrune) >= pruneEvery {
			lastPrune = now
			if err := e.PruneEvents(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("prune event log", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// pruneEvery is how often the retention of the event log is applied.
const pruneEvery = 10 * time.Minute

// PruneEvents deletes the event logs of executions that finished longer
// than EventRetention ago.
func (e *Engine) PruneEvents(ctx context.Context) error {
	before := e.cfg.Now().Add(-e.cfg.EventRetention)
	for {
		n, err := e.store.EventDeleteBefore(ctx, &tessera.EventDeleteParams{Before: before, Limit: 500})
		if err != nil {
			return fmt.Errorf("engine: prune events: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}

// Sweep recovers executions whose lease expired once: re-enqueued, or
// failed after MaxAttempts.
func (e *Engine) Sweep(ctx context.Context) error {
	for {
		requeued, failed, err := e.store.ExecutionRequeueExpired(ctx, &tessera.ExecutionRequeueParams{
			Now: e.cfg.Now(), MaxAttempts: e.cfg.MaxAttempts, Limit: 100, StaleJobBefore: e.staleJobBefore(),
		})
		if err != nil {
			return fmt.Errorf("engine: requeue expired: %w", err)
		}
		for _, id := range requeued {
			e.log.Warn("execution lease expired; requeued", "execution_id", id)
			e.changed(id)
		}
		for _, id := range failed {
			e.log.Warn("execution lease expired; ended", "execution_id", id)
			e.changed(id)
		}
		if len(requeued)+len(failed) < 100 {
			return nil
		}
	}
}

// Wait blocks until the execution is terminal, d has passed (bounded by
// MaxWait) or ctx ends, and returns its latest state.
func (e *Engine) Wait(ctx context.Context, workspaceID, id int64, d time.Duration) (*tessera.Execution, error) {
	if d <= 0 || d > e.cfg.MaxWait {
		d = e.cfg.MaxWait
	}
	ch, cancel := e.done.subscribe(id)
	defer cancel()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	poll := time.NewTicker(e.cfg.PollInterval)
	defer poll.Stop()
	for {
		ex, err := e.store.ExecutionGetByID(ctx, &tessera.ExecutionGetParams{ID: id, WorkspaceID: workspaceID})
		if err != nil || ex.Status.Terminal() {
			return ex, err
		}
		select {
		case <-ch:
		case <-poll.C:
		case <-deadline.C:
			return ex, nil
		case <-ctx.Done():
			return ex, nil
		case <-e.draining:
			return ex, nil
		}
	}
}

// wake tells in-process waiters and followers that the execution changed
// without handing them the events: they re-read the store.
func (e *Engine) wake(id int64) {
	e.done.signal(id)
	e.events.publish(id, nil)
}

// staleJobBefore is when a fetched but unclaimed job counts as abandoned:
// a lease ago.
func (e *Engine) staleJobBefore() time.Time {
	if !e.cfg.RecoverFetchedJobs {
		return time.Time{}
	}
	return e.cfg.Now().Add(-e.cfg.Lease)
}

// changed wakes this node's waiters and followers and tells the others.
func (e *Engine) changed(id int64) {
	e.wake(id)
	e.notify(id)
}

// Drain makes every current and future Wait return at once with the
// execution's current state, so that a shutting-down server answers its
// waiting clients (who then poll) instead of holding them to the deadline.
func (e *Engine) Drain() {
	e.drainOnce.Do(func() { close(e.draining) })
}
