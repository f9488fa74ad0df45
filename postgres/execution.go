package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera"
)

const execColumns = `id, workspace_id, agent_id, root_id, status, trigger_type, api_key_id,
	instance_id, context_type, context_id, max_iterations, stop_reason, input, inputs,
	messages, model, model_used, temperature, tools, output, error, input_tokens, output_tokens,
	cached_input_tokens, cost, credits, timeout_ms, cancel_requested, last_event_seq, attempt, lease_expires_at,
	job_id, idempotency_key, request_hash, metadata, created_at, updated_at, started_at, completed_at,
	structured_output, reasoning_tokens, agent_version`

// insertExecution writes a queued execution. A taken idempotency key
// inserts nothing (and RETURNING yields no row); a concurrent insert of the
// same key makes it wait for that transaction, so exactly one wins.
const insertExecution = `INSERT INTO executions (workspace_id, agent_id, root_id, status, trigger_type,
	api_key_id, instance_id, context_type, context_id, max_iterations, stop_reason, input, inputs, messages,
	model, model_used, temperature, tools, output, error, input_tokens, output_tokens, cached_input_tokens,
	cost, credits, timeout_ms, idempotency_key, request_hash, metadata, created_at, updated_at, agent_version)
	VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
		$20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $29, $30)
	ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key <> '' DO NOTHING
	RETURNING id`

// lockThread locks a thread's root row, so that the turns of one thread
// take their ids and commit one after the other (see the package comment).
// A root that does not exist locks nothing; the engine checks roots first.
const lockThread = `SELECT 1 FROM executions WHERE id = $1 FOR NO KEY UPDATE`

// ExecutionCreate inserts a queued execution and, in the same transaction,
// its job (Config.Enqueue) and its first event (status queued); when the
// hook fails nothing is written. With an IdempotencyKey already used in the
// workspace it returns that execution with created false, or ECONFLICT
// when its RequestHash differs.
func (s *Store) ExecutionCreate(ctx context.Context, params *tessera.ExecutionCreateParams) (*tessera.Execution, bool, error) {
	if params.Now.IsZero() {
		return nil, false, wrap("execution create", errNoNow)
	}
	args, err := insertArgs(params)
	if err != nil {
		return nil, false, wrap("execution create", err)
	}
	var exec *tessera.Execution
	var created bool
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		exec, created = nil, false
		if root := params.Execution.RootID; root != 0 {
			if _, err := tx.Exec(ctx, lockThread, root); err != nil {
				return err
			}
		}
		var id int64
		err := tx.QueryRow(ctx, insertExecution, args...).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			exec, err = sameRequest(ctx, tx, params.Execution)
			return err
		}
		if err != nil {
			return noWorkspace(err, params.Execution.WorkspaceID)
		}
		jobID, err := s.enqueueJob(ctx, tx, id)
		if err != nil {
			return err
		}
		// The first execution of a thread is its own root.
		queued := statusEvent(tessera.StatusQueued, 0)
		exec, err = scanExecution(tx.QueryRow(ctx, `UPDATE executions
			SET root_id = CASE root_id WHEN 0 THEN id ELSE root_id END, job_id = $1,
				last_event_seq = last_event_seq + $2
			WHERE id = $3 RETURNING `+execColumns, jobID, len(queued), id))
		if err != nil {
			return err
		}
		if _, err := insertEvents(ctx, tx, id, exec.LastEventSeq, queued, params.Now); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return nil, false, wrap("execution create", err)
	}
	return exec, created, nil
}

func insertArgs(params *tessera.ExecutionCreateParams) ([]any, error) {
	e := params.Execution
	inputs, err := encodeJSON(e.Inputs, "{}")
	if err != nil {
		return nil, err
	}
	messages, err := encodeJSON(e.Messages, "[]")
	if err != nil {
		return nil, err
	}
	return []any{e.WorkspaceID, e.AgentID, e.RootID, e.TriggerType, e.APIKeyID,
		e.InstanceID, e.ContextType, e.ContextID, e.MaxIterations, e.StopReason, e.Input, inputs,
		messages, e.Model, e.ModelUsed, e.Temperature, e.Tools, e.Output, e.Error,
		e.Usage.InputTokens, e.Usage.OutputTokens, e.Usage.CachedInputTokens, e.Cost, e.Credits, e.TimeoutMS,
		e.IdempotencyKey, e.RequestHash, nullJSON(e.Metadata), ts(params.Now), e.AgentVersion}, nil
}

// sameRequest returns the execution that already holds e's idempotency
// key, or ECONFLICT when it was created by a different request. Its
// statement sees the winner's row: READ COMMITTED takes a new snapshot, and
// the insert that found the key taken waited for the winner to commit.
func sameRequest(ctx context.Context, q querier, e *tessera.Execution) (*tessera.Execution, error) {
	prior, err := getExecution(ctx, q, "workspace_id = $1 AND idempotency_key = $2 AND idempotency_key <> ''",
		e.WorkspaceID, e.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	if prior.RequestHash != e.RequestHash {
		return nil, tessera.Errorf(tessera.ECONFLICT, "Idempotency-Key %q was used with a different request", e.IdempotencyKey)
	}
	return prior, nil
}

// ExecutionGetByID returns ENOTFOUND when missing or in another workspace;
// WorkspaceID zero skips the workspace check.
func (s *Store) ExecutionGetByID(ctx context.Context, params *tessera.ExecutionGetParams) (*tessera.Execution, error) {
	exec, err := getExecution(ctx, s.pool, "id = $1 AND ($2::bigint = 0 OR workspace_id = $2)", params.ID, params.WorkspaceID)
	if err != nil {
		return nil, wrap("execution get", err)
	}
	return exec, nil
}

func getExecution(ctx context.Context, q querier, cond string, args ...any) (*tessera.Execution, error) {
	exec, err := scanExecution(q.QueryRow(ctx, `SELECT `+execColumns+` FROM executions WHERE `+cond, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "execution not found")
	}
	return exec, err
}

// ExecutionList returns one page of a workspace's executions ordered by id
// and the total matching count. A Limit of zero or less returns them all.
// CreatedAfter is inclusive and CreatedBefore exclusive.
func (s *Store) ExecutionList(ctx context.Context, params *tessera.ExecutionListParams) ([]*tessera.Execution, int, error) {
	if params.WorkspaceID == 0 {
		return nil, 0, wrap("execution list", errNoWorkspace)
	}
	var w where
	ws := w.arg(params.WorkspaceID)
	w.add("workspace_id = " + ws)
	if params.AgentID != 0 {
		w.add("agent_id = " + w.arg(params.AgentID))
	}
	if params.InstanceID != 0 {
		w.add("instance_id = " + w.arg(params.InstanceID))
	}
	if params.TriggerType != "" {
		w.add("trigger_type = " + w.arg(params.TriggerType))
	}
	if params.ContextType != "" {
		w.add("context_type = " + w.arg(params.ContextType))
	}
	if params.ContextID != 0 {
		w.add("context_id = " + w.arg(params.ContextID))
	}
	// The bounds are kept to the microsecond, as every time the store is
	// given: a bound equal to an execution's creation Now is at its
	// created_at exactly.
	if !params.CreatedAfter.IsZero() {
		w.add("created_at >= " + w.arg(ts(params.CreatedAfter)))
	}
	if !params.CreatedBefore.IsZero() {
		w.add("created_at < " + w.arg(ts(params.CreatedBefore)))
	}
	if params.RootID != 0 {
		w.add("root_id = " + w.arg(params.RootID))
	}
	if params.AgentQuery != "" {
		w.add("agent_id IN (SELECT id FROM agents WHERE workspace_id = " + ws + " AND " +
			ilike("title", w.arg(containsArg(params.AgentQuery))) + ")")
	}
	if len(params.Statuses) > 0 {
		statuses := make([]string, len(params.Statuses))
		for i, st := range params.Statuses {
			statuses[i] = string(st)
		}
		w.add("status = ANY(" + w.arg(statuses) + "::text[])")
	}
	list, total, err := listPage(ctx, s, listQuery{table: "executions", columns: execColumns, where: w,
		limit: params.Limit, offset: params.Offset, desc: params.Desc}, scanExecution)
	if err != nil {
		return nil, 0, wrap("execution list", err)
	}
	return list, total, nil
}

// ExecutionThread returns the executions of thread RootID in the workspace,
// oldest first: those with an id below BeforeID, or all when it is zero.
func (s *Store) ExecutionThread(ctx context.Context, params *tessera.ExecutionThreadParams) ([]*tessera.Execution, error) {
	if params.WorkspaceID == 0 {
		return nil, wrap("execution thread", errNoWorkspace)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+execColumns+` FROM executions
		WHERE workspace_id = $1 AND root_id = $2 AND ($3::bigint = 0 OR id < $3) ORDER BY id`,
		params.WorkspaceID, params.RootID, params.BeforeID)
	if err != nil {
		return nil, wrap("execution thread", err)
	}
	list, err := collect(rows, scanExecution)
	if err != nil {
		return nil, wrap("execution thread", err)
	}
	return list, nil
}

func scanExecution(row pgx.Row) (*tessera.Execution, error) {
	var e tessera.Execution
	var inputs, messages, metadata, structured []byte
	var lease, started, completed *time.Time
	var created, updated time.Time
	err := row.Scan(&e.ID, &e.WorkspaceID, &e.AgentID, &e.RootID, &e.Status, &e.TriggerType, &e.APIKeyID,
		&e.InstanceID, &e.ContextType, &e.ContextID, &e.MaxIterations, &e.StopReason, &e.Input, &inputs, &messages, &e.Model, &e.ModelUsed, &e.Temperature, &e.Tools, &e.Output, &e.Error,
		&e.Usage.InputTokens, &e.Usage.OutputTokens, &e.Usage.CachedInputTokens, &e.Cost, &e.Credits,
		&e.TimeoutMS, &e.CancelRequested, &e.LastEventSeq, &e.Attempt, &lease, &e.JobID, &e.IdempotencyKey,
		&e.RequestHash, &metadata, &created, &updated, &started, &completed, &structured, &e.Usage.ReasoningTokens, &e.AgentVersion)
	if err != nil {
		return nil, err
	}
	if structured != nil {
		e.StructuredOutput = json.RawMessage(structured)
	}
	if err := decodeJSON(inputs, &e.Inputs); err != nil {
		return nil, err
	}
	if err := decodeJSON(messages, &e.Messages); err != nil {
		return nil, err
	}
	if metadata != nil {
		e.Metadata = json.RawMessage(metadata)
	}
	e.LeaseExpiresAt, e.StartedAt, e.CompletedAt = utcPtr(lease), utcPtr(started), utcPtr(completed)
	e.CreatedAt, e.UpdatedAt = utc(created), utc(updated)
	return &e, nil
}
