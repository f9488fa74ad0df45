// Package queue is the durable job queue executions run through: River, on
// the same database as the executions, so that an execution and its job are
// written in one transaction. It is generic over the driver's transaction
// type so that the SQLite and PostgreSQL backends share it.
//
// Jobs only carry an execution id. Whether and how an execution runs is the
// engine's decision (its lease protocol); a job that finds its execution
// terminal or held by a live worker simply completes.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
)

// ExecutionArgs is the job that runs one execution.
type ExecutionArgs struct {
	ExecutionID int64 `json:"execution_id"`
}

// Kind implements river.JobArgs.
func (ExecutionArgs) Kind() string { return "tessera.execution" }

// Runner runs executions; the engine implements it. An error that
// implements RetryAfter (an execution that cannot run yet) snoozes the job
// for that long instead of counting as a failed attempt.
type Runner interface {
	RunExecution(ctx context.Context, executionID int64) error
}

// retryLater is the shape of errors that ask for a later try.
type retryLater interface {
	error
	RetryAfter() time.Duration
}

// Config configures a Queue.
type Config struct {
	// Workers is how many executions run at once on this node.
	Workers int
	// PollInterval is how often idle workers look for jobs when the
	// database has no LISTEN/NOTIFY (SQLite).
	PollInterval time.Duration
	// Logger receives River's warnings and errors.
	Logger *slog.Logger
	// Lease is the engine's lease (informational: recovery is the
	// engine's sweeper's).
	Lease time.Duration
}

// WithDefaults returns cfg with defaults filled in.
func (cfg Config) WithDefaults() Config {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg
}

// Queue inserts and works execution jobs.
type Queue[TTx any] struct {
	client *river.Client[TTx]
	worker *executionWorker
}

// New builds a queue on driver. It does not start working jobs.
func New[TTx any](driver riverdriver.Driver[TTx], cfg Config) (*Queue[TTx], error) {
	cfg = cfg.WithDefaults()
	w := &executionWorker{}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, w); err != nil {
		return nil, fmt.Errorf("queue: add worker: %w", err)
	}
	client, err := river.NewClient(driver, &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:           workers,
		FetchCooldown:     min(cfg.PollInterval, river.FetchCooldownDefault),
		FetchPollInterval: cfg.PollInterval,
		// The engine bounds each execution and recovers lost ones with its
		// own lease; River's timeout would cut runs the engine allows.
		JobTimeout: -1,
		// Errors only come from an unreachable database; give it weeks
		// (River's backoff over 25 attempts) rather than drop the job.
		MaxAttempts: 25,
		// River rescues no job while JobTimeout is off; a job fetched by a
		// node that died before claiming its execution is re-enqueued by
		// the engine's sweeper instead (RecoverFetchedJobs).
		// River's logs are for operators only when something is wrong.
		Logger: slog.New(levelFilter{cfg.Logger.Handler(), slog.LevelWarn}),
	})
	if err != nil {
		return nil, fmt.Errorf("queue: new river client: %w", err)
	}
	return &Queue[TTx]{client: client, worker: w}, nil
}

// Migrate brings River's own tables up to date.
func Migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("queue: migrator: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("queue: migrate river: %w", err)
	}
	return nil
}

// InsertTx enqueues the job of an execution inside tx and returns the job id.
func (q *Queue[TTx]) InsertTx(ctx context.Context, tx TTx, executionID int64) (int64, error) {
	res, err := q.client.InsertTx(ctx, tx, ExecutionArgs{ExecutionID: executionID}, nil)
	if err != nil {
		return 0, fmt.Errorf("queue: insert job for execution %d: %w", executionID, err)
	}
	return res.Job.ID, nil
}

// Start starts working jobs with r.
func (q *Queue[TTx]) Start(ctx context.Context, r Runner) error {
	if r == nil {
		return errors.New("queue: Start needs a Runner")
	}
	q.worker.runner = r
	// River stops hard (cancelling running jobs) when its start context
	// ends; shutdown must go through Stop to get its grace period.
	if err := q.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("queue: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running ones until ctx ends; then
// it cancels them, and the engine hands their executions back.
func (q *Queue[TTx]) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if err == nil {
		return nil
	}
	cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := q.client.StopAndCancel(cancelCtx); err != nil {
		return fmt.Errorf("queue: stop and cancel: %w", err)
	}
	return nil
}

type executionWorker struct {
	river.WorkerDefaults[ExecutionArgs]
	runner Runner
}

func (w *executionWorker) Work(ctx context.Context, job *river.Job[ExecutionArgs]) error {
	err := w.runner.RunExecution(ctx, job.Args.ExecutionID)
	var later retryLater
	if errors.As(err, &later) {
		return river.JobSnooze(later.RetryAfter())
	}
	return err
}

// levelFilter drops records below a level.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (h levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFilter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return levelFilter{h.Handler.WithAttrs(attrs), h.min}
}

func (h levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{h.Handler.WithGroup(name), h.min}
}
