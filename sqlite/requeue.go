package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tessera-run/tessera"
)

// DefaultRequeueLimit is the batch size of ExecutionRequeueExpired when
// params.Limit is zero.
const DefaultRequeueLimit = 100

type expiredLease struct {
	id      int64
	attempt int
}

// ExecutionRequeueExpired recovers, in one transaction, up to params.Limit
// running executions whose lease expired before params.Now, oldest lease
// first: each goes back to queued with a new job (Config.Enqueue), or fails
// when it has been attempted MaxAttempts times. When the hook fails nothing
// is written.
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
			if e.attempt >= params.MaxAttempts {
				err = giveUp(ctx, tx, e, now)
				failed = append(failed, e.id)
			} else {
				err = s.requeue(ctx, tx, e.id, now)
				requeued = append(requeued, e.id)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, wrap("execution requeue", err)
	}
	return requeued, failed, nil
}

func expiredLeases(ctx context.Context, tx *sql.Tx, now int64, limit int) ([]expiredLease, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, attempt FROM executions
		WHERE status = 'running' AND lease_expires_at < ?
		ORDER BY lease_expires_at, id LIMIT ?`, now, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(row scanner) (expiredLease, error) {
		var e expiredLease
		return e, row.Scan(&e.id, &e.attempt)
	})
}

func (s *Store) requeue(ctx context.Context, tx *sql.Tx, id, now int64) error {
	jobID, err := s.enqueueJob(ctx, tx, id)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE executions
		SET status = 'queued', lease_expires_at = NULL, job_id = ?, updated_at = ? WHERE id = ?`, jobID, now, id)
	return err
}

func giveUp(ctx context.Context, tx *sql.Tx, e expiredLease, now int64) error {
	msg := fmt.Sprintf("execution was interrupted %d times (the server stopped or crashed while it ran); giving up", e.attempt)
	_, err := tx.ExecContext(ctx, `UPDATE executions
		SET status = ?, error = ?, lease_expires_at = NULL, completed_at = ?, updated_at = ? WHERE id = ?`,
		tessera.StatusFailed, msg, now, now, e.id)
	return err
}
