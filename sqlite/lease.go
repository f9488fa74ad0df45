package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/tessera-run/tessera"
)

// The lease protocol. A lease is live while lease_expires_at >= now and
// expired once it is before now. Every write by a worker is fenced by
// (id, attempt, status running): a claim increments attempt, so a worker
// that lost its lease matches no row and gets ECONFLICT.

const fence = `id = ? AND attempt = ? AND status = 'running'`

// needLease checks the times a lease write needs.
func needLease(now, until time.Time) error {
	if now.IsZero() {
		return errNoNow
	}
	if until.IsZero() {
		return errors.New("params.LeaseUntil is zero")
	}
	return nil
}

// terminalStatuses is the SQL list of tessera's terminal statuses.
const terminalStatuses = `('completed', 'failed', 'cancelled', 'timeout')`

// busyThread is true for an execution (the row of table executions) that
// has an earlier turn of its thread still queued or running. Its status
// list is the one of index executions_root_active, which SQLite then uses.
const busyThread = `EXISTS (SELECT 1 FROM executions AS earlier
	WHERE earlier.root_id = executions.root_id AND earlier.id < executions.id
		AND earlier.status IN ('queued', 'running') AND earlier.workspace_id = executions.workspace_id)`

// ExecutionClaim moves a queued execution, or a running one whose lease has
// expired, to running with Attempt incremented and a lease until
// params.LeaseUntil, and appends its status event. ECONFLICT when it is
// terminal or leased by a live worker; else EUNAVAILABLE when an earlier
// turn of its thread is queued or running; ENOTFOUND when it does not
// exist.
func (s *Store) ExecutionClaim(ctx context.Context, params *tessera.ExecutionClaimParams) (*tessera.Execution, error) {
	if err := needLease(params.Now, params.LeaseUntil); err != nil {
		return nil, wrap("execution claim", err)
	}
	now := micros(params.Now)
	var exec *tessera.Execution
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		exec, err = scanExecution(tx.QueryRowContext(ctx, `UPDATE executions
			SET status = 'running', attempt = attempt + 1, lease_expires_at = ?,
				started_at = COALESCE(started_at, ?), updated_at = ?, last_event_seq = last_event_seq + 1
			WHERE id = ? AND (status = 'queued' OR (status = 'running' AND lease_expires_at < ?))
				AND NOT `+busyThread+`
			RETURNING `+execColumns, micros(params.LeaseUntil), now, now, params.ID, now))
		if errors.Is(err, sql.ErrNoRows) {
			return notClaimable(ctx, tx, params.ID, now)
		}
		if err != nil {
			return err
		}
		_, err = insertEvents(ctx, tx, exec.ID, exec.LastEventSeq,
			statusEvent(tessera.StatusRunning, exec.Attempt), now)
		return err
	})
	if err != nil {
		return nil, wrap("execution claim", err)
	}
	return exec, nil
}

// notClaimable explains, in the claim's transaction, why it matched no row.
func notClaimable(ctx context.Context, q querier, id, now int64) error {
	var status tessera.Status
	var root int64
	var leased, busy bool
	err := q.QueryRowContext(ctx, `SELECT status, root_id,
			status = 'running' AND NOT COALESCE(lease_expires_at < ?, 0), `+busyThread+`
		FROM executions WHERE id = ?`, now, id).Scan(&status, &root, &leased, &busy)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return tessera.Errorf(tessera.ENOTFOUND, "execution %d not found", id)
	case err != nil:
		return err
	case status.Terminal():
		return tessera.Errorf(tessera.ECONFLICT, "execution %d is already %s", id, status)
	case leased:
		return tessera.Errorf(tessera.ECONFLICT, "execution %d is leased by another worker", id)
	case busy:
		return tessera.Errorf(tessera.EUNAVAILABLE, "an earlier turn of thread %d is still running", root)
	}
	return fmt.Errorf("execution %d (%s) could not be claimed", id, status)
}

// fenced explains why a write fenced by attempt matched no row: ENOTFOUND
// when the execution does not exist, else ECONFLICT. q is the write's
// transaction when it has one: the pool's single connection is taken.
func fenced(ctx context.Context, q querier, id int64, attempt int) error {
	var status tessera.Status
	err := q.QueryRowContext(ctx, `SELECT status FROM executions WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return tessera.Errorf(tessera.ENOTFOUND, "execution %d not found", id)
	}
	if err != nil {
		return err
	}
	return tessera.Errorf(tessera.ECONFLICT, "attempt %d no longer holds execution %d (it is %s)", attempt, id, status)
}

// ExecutionHeartbeat extends the lease of a running execution at the given
// attempt and reports whether a cancel was requested. ECONFLICT when the
// attempt no longer holds it.
func (s *Store) ExecutionHeartbeat(ctx context.Context, params *tessera.ExecutionHeartbeatParams) (bool, error) {
	if err := needLease(params.Now, params.LeaseUntil); err != nil {
		return false, wrap("execution heartbeat", err)
	}
	var cancelRequested bool
	err := s.db.QueryRowContext(ctx, `UPDATE executions SET lease_expires_at = ?, updated_at = ? WHERE `+fence+`
		RETURNING cancel_requested`, micros(params.LeaseUntil), micros(params.Now), params.ID, params.Attempt,
	).Scan(&cancelRequested)
	if errors.Is(err, sql.ErrNoRows) {
		err = fenced(ctx, s.db, params.ID, params.Attempt)
	}
	if err != nil {
		return false, wrap("execution heartbeat", err)
	}
	return cancelRequested, nil
}

// ExecutionRelease expires the lease of a running execution at params.Now,
// so the next sweep re-enqueues it. ECONFLICT when the attempt no longer
// holds it.
func (s *Store) ExecutionRelease(ctx context.Context, params *tessera.ExecutionHeartbeatParams) error {
	if params.Now.IsZero() {
		return wrap("execution release", errNoNow)
	}
	now := micros(params.Now)
	res, err := s.db.ExecContext(ctx, `UPDATE executions SET lease_expires_at = ?, updated_at = ? WHERE `+fence,
		now, now, params.ID, params.Attempt)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = fenced(ctx, s.db, params.ID, params.Attempt)
		}
	}
	return wrap("execution release", err)
}

// ExecutionFinish writes the terminal state of a running execution at the
// given attempt, drops its lease and appends params.Events then its done
// event. ECONFLICT when the attempt no longer holds it, so a late worker
// never overwrites a terminal state (and writes no event).
func (s *Store) ExecutionFinish(ctx context.Context, params *tessera.ExecutionFinishParams) (*tessera.Execution, error) {
	if params.Now.IsZero() {
		return nil, wrap("execution finish", errNoNow)
	}
	if !params.Status.Terminal() {
		return nil, wrap("execution finish", fmt.Errorf("status %q is not terminal", params.Status))
	}
	events, err := encodeWorkerEvents(params.Events)
	if err != nil {
		return nil, err
	}
	done, err := doneEvent(tessera.DoneData{Status: params.Status, Output: params.Output, Error: params.Error,
		Usage: params.Usage, Cost: params.Cost, Credits: params.Credits})
	if err != nil {
		return nil, err
	}
	events = append(events, done...)
	now := micros(params.Now)
	var exec *tessera.Execution
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		exec, err = scanExecution(tx.QueryRowContext(ctx, `UPDATE executions
			SET status = ?, stop_reason = ?, output = ?, error = ?, model_used = ?, input_tokens = ?, output_tokens = ?,
				cached_input_tokens = ?, cost = ?, credits = ?, lease_expires_at = NULL,
				completed_at = ?, updated_at = ?, last_event_seq = last_event_seq + ?, structured_output = ?,
				reasoning_tokens = ?
			WHERE `+fence+` RETURNING `+execColumns,
			params.Status, params.StopReason, params.Output, params.Error, params.ModelUsed, params.Usage.InputTokens,
			params.Usage.OutputTokens, params.Usage.CachedInputTokens, params.Cost, params.Credits,
			now, now, len(events), nullJSON(params.StructuredOutput), params.Usage.ReasoningTokens, params.ID, params.Attempt))
		if errors.Is(err, sql.ErrNoRows) {
			return fenced(ctx, tx, params.ID, params.Attempt)
		}
		if err != nil {
			return err
		}
		if _, err = insertEvents(ctx, tx, exec.ID, exec.LastEventSeq, events, now); err != nil {
			return err
		}
		return queueDeliveries(ctx, tx, exec.ID, now)
	})
	if err != nil {
		return nil, wrap("execution finish", err)
	}
	return exec, nil
}

// cancelledError is the error of an execution cancelled before it ran,
// or by the sweeper after its worker was lost.
const cancelledError = "The execution was cancelled."

// ExecutionCancel cancels an execution of params.WorkspaceID (any when
// zero): a queued one becomes cancelled at once, with cancelledError and
// its done event; a running one gets cancel_requested set, which its
// worker's next heartbeat reports. ECONFLICT when it is already terminal,
// ENOTFOUND when it does not exist or is in another workspace.
func (s *Store) ExecutionCancel(ctx context.Context, params *tessera.ExecutionCancelParams) (*tessera.Execution, error) {
	if params.Now.IsZero() {
		return nil, wrap("execution cancel", errNoNow)
	}
	now := micros(params.Now)
	var exec *tessera.Execution
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var status tessera.Status
		err := tx.QueryRowContext(ctx, `SELECT status FROM executions WHERE id = ? AND (? = 0 OR workspace_id = ?)`,
			params.ID, params.WorkspaceID, params.WorkspaceID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return tessera.Errorf(tessera.ENOTFOUND, "execution %d not found", params.ID)
		}
		if err != nil {
			return err
		}
		switch {
		case status == tessera.StatusQueued:
			exec, err = cancelNow(ctx, tx, params.ID, status, now)
			return err
		case status == tessera.StatusRunning:
			exec, err = scanExecution(tx.QueryRowContext(ctx, `UPDATE executions
				SET cancel_requested = 1, updated_at = ? WHERE id = ? AND status = 'running'
				RETURNING `+execColumns, now, params.ID))
			return err
		case status.Terminal():
			return tessera.Errorf(tessera.ECONFLICT, "execution %d is already completed", params.ID)
		}
		return fmt.Errorf("execution %d has unknown status %q", params.ID, status)
	})
	if err != nil {
		return nil, wrap("execution cancel", err)
	}
	return exec, nil
}

// cancelNow ends execution id, whose status is from, as cancelled with
// cancelledError and appends its done event.
func cancelNow(ctx context.Context, tx *sql.Tx, id int64, from tessera.Status, now int64) (*tessera.Execution, error) {
	return endNow(ctx, tx, id, from, tessera.StatusCancelled, cancelledError, now)
}

// endNow ends execution id, whose status is from, with a terminal status
// and error, dropping its lease, and appends its done event.
func endNow(ctx context.Context, tx *sql.Tx, id int64, from, to tessera.Status, msg string, now int64) (*tessera.Execution, error) {
	exec, err := scanExecution(tx.QueryRowContext(ctx, `UPDATE executions
		SET status = ?, error = ?, lease_expires_at = NULL, completed_at = ?, updated_at = ?,
			last_event_seq = last_event_seq + 1
		WHERE id = ? AND status = ? RETURNING `+execColumns, to, msg, now, now, id, from))
	if err != nil {
		return nil, err
	}
	done, err := doneEvent(doneOf(exec))
	if err != nil {
		return nil, err
	}
	if _, err = insertEvents(ctx, tx, id, exec.LastEventSeq, done, now); err != nil {
		return nil, err
	}
	return exec, queueDeliveries(ctx, tx, id, now)
}
