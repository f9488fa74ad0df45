package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera"
)

// The lease protocol. A lease is live while lease_expires_at >= now and
// expired once it is before now. Every write by a worker is fenced by
// (id, attempt, status running): a claim increments attempt, so a worker
// that lost its lease matches no row and gets ECONFLICT. Under READ
// COMMITTED a fenced UPDATE that waited for another writer of the row
// re-checks its WHERE clause against the row that writer committed, so the
// fence holds across nodes.

// fence is the condition of a worker's write, with the execution id at
// placeholder $n and the attempt at $n+1.
func fence(n int) string {
	return `id = $` + strconv.Itoa(n) + ` AND attempt = $` + strconv.Itoa(n+1) + ` AND status = 'running'`
}

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
// list is the predicate of the partial index executions_root_active.
const busyThread = `EXISTS (SELECT 1 FROM executions AS earlier
	WHERE earlier.root_id = executions.root_id AND earlier.id < executions.id
		AND earlier.status IN ('queued', 'running') AND earlier.workspace_id = executions.workspace_id)`

// ExecutionClaim moves a queued execution, or a running one whose lease has
// expired, to running with Attempt incremented and a lease until
// params.LeaseUntil, and appends its status event. ECONFLICT when it is
// terminal or leased by a live worker; else EUNAVAILABLE when an earlier
// turn of its thread is queued or running; ENOTFOUND when it does not
// exist. Of two nodes claiming at once, the second waits for the first's
// row lock, finds the row running under a live lease and gets ECONFLICT.
func (s *Store) ExecutionClaim(ctx context.Context, params *tessera.ExecutionClaimParams) (*tessera.Execution, error) {
	if err := needLease(params.Now, params.LeaseUntil); err != nil {
		return nil, wrap("execution claim", err)
	}
	now := ts(params.Now)
	var exec *tessera.Execution
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		for range claimAttempts {
			exec, err = scanExecution(tx.QueryRow(ctx, `UPDATE executions
				SET status = 'running', attempt = attempt + 1, lease_expires_at = $1,
					started_at = COALESCE(started_at, $2), updated_at = $2, last_event_seq = last_event_seq + 1
				WHERE id = $3 AND (status = 'queued' OR (status = 'running' AND lease_expires_at < $2))
					AND NOT `+busyThread+`
				RETURNING `+execColumns, ts(params.LeaseUntil), now, params.ID))
			if errors.Is(err, pgx.ErrNoRows) {
				if err = notClaimable(ctx, tx, params.ID, now); errors.Is(err, errClaimable) {
					continue // what stopped the claim changed meanwhile: claim again
				}
			}
			break
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

// claimAttempts bounds the claims of ExecutionClaim that find, once
// refused, no reason for it (see errClaimable).
const claimAttempts = 3

// errClaimable is notClaimable finding nothing that stops the claim. Each
// statement of a READ COMMITTED transaction has its own snapshot: between
// the claim's and the explanation's, the earlier turn that held the thread
// may have ended, or the sweeper requeued the execution.
var errClaimable = errors.New("the execution became claimable while its claim was refused")

// notClaimable explains, in the claim's transaction, why it matched no row.
func notClaimable(ctx context.Context, q querier, id int64, now time.Time) error {
	var status tessera.Status
	var root int64
	var leased, busy bool
	err := q.QueryRow(ctx, `SELECT status, root_id,
			status = 'running' AND NOT COALESCE(lease_expires_at < $1, false), `+busyThread+`
		FROM executions WHERE id = $2`, now, id).Scan(&status, &root, &leased, &busy)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
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
	return fmt.Errorf("execution %d (%s): %w", id, status, errClaimable)
}

// fenced explains why a write fenced by attempt matched no row: ENOTFOUND
// when the execution does not exist, else ECONFLICT.
func fenced(ctx context.Context, q querier, id int64, attempt int) error {
	var status tessera.Status
	err := q.QueryRow(ctx, `SELECT status FROM executions WHERE id = $1`, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := s.pool.QueryRow(ctx, `UPDATE executions SET lease_expires_at = $1, updated_at = $2 WHERE `+fence(3)+`
		RETURNING cancel_requested`, ts(params.LeaseUntil), ts(params.Now), params.ID, params.Attempt,
	).Scan(&cancelRequested)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fenced(ctx, s.pool, params.ID, params.Attempt)
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
	tag, err := s.pool.Exec(ctx, `UPDATE executions SET lease_expires_at = $1, updated_at = $1 WHERE `+fence(2),
		ts(params.Now), params.ID, params.Attempt)
	if err == nil && tag.RowsAffected() == 0 {
		err = fenced(ctx, s.pool, params.ID, params.Attempt)
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
	now := ts(params.Now)
	var exec *tessera.Execution
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		exec, err = scanExecution(tx.QueryRow(ctx, `UPDATE executions
			SET status = $1, output = $2, error = $3, model_used = $4, input_tokens = $5, output_tokens = $6,
				cached_input_tokens = $7, cost = $8, credits = $9, lease_expires_at = NULL,
				completed_at = $10, updated_at = $10, last_event_seq = last_event_seq + $11, stop_reason = $12,
				structured_output = $13, reasoning_tokens = $14
			WHERE `+fence(15)+` RETURNING `+execColumns,
			params.Status, params.Output, params.Error, params.ModelUsed, params.Usage.InputTokens,
			params.Usage.OutputTokens, params.Usage.CachedInputTokens, params.Cost, params.Credits,
			now, len(events), params.StopReason, nullJSON(params.StructuredOutput), params.Usage.ReasoningTokens, params.ID, params.Attempt))
		if errors.Is(err, pgx.ErrNoRows) {
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
// ENOTFOUND when it does not exist or is in another workspace. The row is
// locked from the read of its status to the write, so a claim on another
// node cannot slip in between.
func (s *Store) ExecutionCancel(ctx context.Context, params *tessera.ExecutionCancelParams) (*tessera.Execution, error) {
	if params.Now.IsZero() {
		return nil, wrap("execution cancel", errNoNow)
	}
	now := ts(params.Now)
	var exec *tessera.Execution
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		exec = nil
		var status tessera.Status
		err := tx.QueryRow(ctx, `SELECT status FROM executions WHERE id = $1 AND ($2::bigint = 0 OR workspace_id = $2)
			FOR NO KEY UPDATE`, params.ID, params.WorkspaceID).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
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
			exec, err = scanExecution(tx.QueryRow(ctx, `UPDATE executions
				SET cancel_requested = true, updated_at = $1 WHERE id = $2 AND status = 'running'
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
func cancelNow(ctx context.Context, tx pgx.Tx, id int64, from tessera.Status, now time.Time) (*tessera.Execution, error) {
	return endNow(ctx, tx, id, from, tessera.StatusCancelled, cancelledError, now)
}

// endNow ends execution id, whose status is from, with a terminal status
// and error, dropping its lease, and appends its done event. The caller
// holds the row's lock.
func endNow(ctx context.Context, tx pgx.Tx, id int64, from, to tessera.Status, msg string, now time.Time) (*tessera.Execution, error) {
	exec, err := scanExecution(tx.QueryRow(ctx, `UPDATE executions
		SET status = $1, error = $2, lease_expires_at = NULL, completed_at = $3, updated_at = $3,
			last_event_seq = last_event_seq + 1
		WHERE id = $4 AND status = $5 RETURNING `+execColumns, to, msg, now, id, from))
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
