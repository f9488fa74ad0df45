package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-run/tessera"
)

// DefaultRequeueLimit is the batch size of ExecutionRequeueExpired when
// params.Limit is zero.
const DefaultRequeueLimit = 100

type expiredLease struct {
	id              int64
	attempt         int
	cancelRequested bool
}

// ExecutionRequeueExpired recovers, in one transaction, up to params.Limit
// running executions whose lease expired before params.Now, oldest lease
// first: one whose cancel was requested is cancelled (cancelledError); one
// attempted MaxAttempts times fails; any other goes back to queued with a
// new job (Config.Enqueue), keeping its attempt. Each change appends its
// event (status queued, or done). The cancelled and failed are returned
// together as failed. When the hook fails nothing is written.
func (s *Store) ExecutionRequeueExpired(ctx context.Context, params *tessera.ExecutionRequeueParams) (requeued, failed []int64, err error) {
	if params.Now.IsZero() {
		return nil, nil, wrap("execution requeue", errNoNow)
	}
	if params.MaxAttempts < 1 {
		return nil, nil, wrap("execution requeue", errors.New("params.MaxAttempts is below 1"))
	}
	limit := params.Limit
	if limit <= 0 {
		limit = DefaultRequeueLimit
	}
	now := micros(params.Now)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		expired, err := expiredLeases(ctx, tx, now, limit)
		if err != nil {
			return err
		}
		for _, e := range expired {
			switch {
			case e.cancelRequested:
				_, err = cancelNow(ctx, tx, e.id, tessera.StatusRunning, now)
				failed = append(failed, e.id)
			case e.attempt >= params.MaxAttempts:
				_, err = endNow(ctx, tx, e.id, tessera.StatusRunning, tessera.StatusFailed, interrupted(e.attempt), now)
				failed = append(failed, e.id)
			default:
				err = s.requeue(ctx, tx, e, now)
				requeued = append(requeued, e.id)
			}
			if err != nil {
				return err
			}
		}
		if params.StaleJobBefore.IsZero() {
			return nil
		}
		stale, err := staleJobs(ctx, tx, params.StaleJobBefore, limit)
		if err != nil {
			return err
		}
		for _, id := range stale {
			jobID, err := s.enqueueJob(ctx, tx, id)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE executions SET job_id = ?, updated_at = ? WHERE id = ? AND status = 'queued'`, jobID, now, id); err != nil {
				return err
			}
			requeued = append(requeued, id)
		}
		return nil
	})
	if err != nil {
		return nil, nil, wrap("execution requeue", err)
	}
	return requeued, failed, nil
}

// staleJobs returns queued executions whose current job a worker fetched
// (River state running) before before and never claimed: that worker is
// gone, and River does not rescue jobs when job timeouts are off. River's
// SQLite driver keeps attempted_at as UTC text with milliseconds, which
// compares correctly as text in that same form.
func staleJobs(ctx context.Context, tx *sql.Tx, before time.Time, limit int) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT e.id FROM executions AS e JOIN river_job AS j ON j.id = e.job_id
		WHERE e.status = 'queued' AND j.state = 'running' AND j.attempted_at < ?
		ORDER BY e.id LIMIT ?`, before.UTC().Format("2006-01-02 15:04:05.000"), limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(row scanner) (int64, error) {
		var id int64
		return id, row.Scan(&id)
	})
}

func expiredLeases(ctx context.Context, tx *sql.Tx, now int64, limit int) ([]expiredLease, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, attempt, cancel_requested FROM executions
		WHERE status = 'running' AND lease_expires_at < ?
		ORDER BY lease_expires_at, id LIMIT ?`, now, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(row scanner) (expiredLease, error) {
		var e expiredLease
		return e, row.Scan(&e.id, &e.attempt, &e.cancelRequested)
	})
}

func (s *Store) requeue(ctx context.Context, tx *sql.Tx, e expiredLease, now int64) error {
	jobID, err := s.enqueueJob(ctx, tx, e.id)
	if err != nil {
		return err
	}
	queued := statusEvent(tessera.StatusQueued, e.attempt)
	var last int64
	err = tx.QueryRowContext(ctx, `UPDATE executions
		SET status = 'queued', lease_expires_at = NULL, job_id = ?, updated_at = ?,
			last_event_seq = last_event_seq + ?
		WHERE id = ? AND status = 'running' RETURNING last_event_seq`, jobID, now, len(queued), e.id).Scan(&last)
	if err != nil {
		return err
	}
	_, err = insertEvents(ctx, tx, e.id, last, queued, now)
	return err
}

func interrupted(attempts int) string {
	return fmt.Sprintf("execution was interrupted %d times (the server stopped or crashed while it ran); giving up", attempts)
}
