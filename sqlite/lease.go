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

// ExecutionClaim moves a queued execution, or a running one whose lease has
// expired, to running with Attempt incremented and a lease until
// params.LeaseUntil. ECONFLICT when it is terminal or leased by a live
// worker, ENOTFOUND when it does not exist.
func (s *Store) ExecutionClaim(ctx context.Context, params *tessera.ExecutionClaimParams) (*tessera.Execution, error) {
	if err := needLease(params.Now, params.LeaseUntil); err != nil {
		return nil, wrap("execution claim", err)
	}
	now := micros(params.Now)
	exec, err := scanExecution(s.db.QueryRowContext(ctx, `UPDATE executions
		SET status = 'running', attempt = attempt + 1, lease_expires_at = ?,
			started_at = COALESCE(started_at, ?), updated_at = ?
		WHERE id = ? AND (status = 'queued' OR (status = 'running' AND lease_expires_at < ?))
		RETURNING `+execColumns, micros(params.LeaseUntil), now, now, params.ID, now))
	if errors.Is(err, sql.ErrNoRows) {
		err = s.notClaimable(ctx, params.ID)
	}
	return exec, wrap("execution claim", err)
}

func (s *Store) notClaimable(ctx context.Context, id int64) error {
	status, err := s.status(ctx, id)
	if err != nil {
		return err
	}
	if status == tessera.StatusRunning {
		return tessera.Errorf(tessera.ECONFLICT, "execution %d is leased by another worker", id)
	}
	return tessera.Errorf(tessera.ECONFLICT, "execution %d is already %s", id, status)
}

func (s *Store) status(ctx context.Context, id int64) (tessera.Status, error) {
	var status tessera.Status
	err := s.db.QueryRowContext(ctx, `SELECT status FROM executions WHERE id = ?`, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", tessera.Errorf(tessera.ENOTFOUND, "execution %d not found", id)
	}
	return status, err
}

// fenced explains why a write fenced by attempt matched no row: ENOTFOUND
// when the execution does not exist, else ECONFLICT.
func (s *Store) fenced(ctx context.Context, id int64, attempt int) error {
	status, err := s.status(ctx, id)
	if err != nil {
		return err
	}
	return tessera.Errorf(tessera.ECONFLICT, "attempt %d no longer holds execution %d (it is %s)", attempt, id, status)
}

// fencedExec runs a fenced update and explains a miss.
func (s *Store) fencedExec(ctx context.Context, id int64, attempt int, query string, args ...any) error {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return s.fenced(ctx, id, attempt)
	}
	return nil
}

// ExecutionHeartbeat extends the lease of a running execution at the given
// attempt. ECONFLICT when the attempt no longer holds it.
func (s *Store) ExecutionHeartbeat(ctx context.Context, params *tessera.ExecutionHeartbeatParams) error {
	if err := needLease(params.Now, params.LeaseUntil); err != nil {
		return wrap("execution heartbeat", err)
	}
	err := s.fencedExec(ctx, params.ID, params.Attempt,
		`UPDATE executions SET lease_expires_at = ?, updated_at = ? WHERE `+fence,
		micros(params.LeaseUntil), micros(params.Now), params.ID, params.Attempt)
	return wrap("execution heartbeat", err)
}

// ExecutionRelease expires the lease of a running execution at params.Now,
// so the next sweep re-enqueues it. ECONFLICT when the attempt no longer
// holds it.
func (s *Store) ExecutionRelease(ctx context.Context, params *tessera.ExecutionHeartbeatParams) error {
	if params.Now.IsZero() {
		return wrap("execution release", errNoNow)
	}
	now := micros(params.Now)
	err := s.fencedExec(ctx, params.ID, params.Attempt,
		`UPDATE executions SET lease_expires_at = ?, updated_at = ? WHERE `+fence,
		now, now, params.ID, params.Attempt)
	return wrap("execution release", err)
}

// ExecutionFinish writes the terminal state of a running execution at the
// given attempt and drops its lease. ECONFLICT when the attempt no longer
// holds it, so a late worker never overwrites a terminal state.
func (s *Store) ExecutionFinish(ctx context.Context, params *tessera.ExecutionFinishParams) (*tessera.Execution, error) {
	if params.Now.IsZero() {
		return nil, wrap("execution finish", errNoNow)
	}
	if !params.Status.Terminal() {
		return nil, wrap("execution finish", fmt.Errorf("status %q is not terminal", params.Status))
	}
	now := micros(params.Now)
	exec, err := scanExecution(s.db.QueryRowContext(ctx, `UPDATE executions
		SET status = ?, output = ?, error = ?, model_used = ?, input_tokens = ?, output_tokens = ?,
			cached_input_tokens = ?, cost = ?, credits = ?, lease_expires_at = NULL,
			completed_at = ?, updated_at = ?
		WHERE `+fence+` RETURNING `+execColumns,
		params.Status, params.Output, params.Error, params.ModelUsed, params.Usage.InputTokens,
		params.Usage.OutputTokens, params.Usage.CachedInputTokens, params.Cost, params.Credits,
		now, now, params.ID, params.Attempt))
	if errors.Is(err, sql.ErrNoRows) {
		err = s.fenced(ctx, params.ID, params.Attempt)
	}
	return exec, wrap("execution finish", err)
}
