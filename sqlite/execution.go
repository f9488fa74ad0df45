package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/tessera-run/tessera"
)

const execColumns = `id, workspace_id, agent_id, root_id, status, trigger_type, api_key_id,
	instance_id, context_type, context_id, max_iterations, stop_reason, input, inputs,
	messages, model, model_used, temperature, tools, output, error, input_tokens, output_tokens,
	cached_input_tokens, cost, credits, timeout_ms, cancel_requested, last_event_seq, attempt, lease_expires_at,
	job_id, idempotency_key, request_hash, metadata, created_at, updated_at, started_at, completed_at,
	structured_output, reasoning_tokens, agent_version`

// insertExecution writes a queued execution. A taken idempotency key
// inserts nothing (and RETURNING yields no row): the conflict target makes
// the check race-free without relying on the transaction's lock.
const insertExecution = `INSERT INTO executions (workspace_id, agent_id, root_id, status, trigger_type,
	api_key_id, instance_id, context_type, context_id, max_iterations, stop_reason, input, inputs, messages, model, model_used, temperature, tools, output, error,
	input_tokens, output_tokens, cached_input_tokens, cost, credits, timeout_ms, idempotency_key, request_hash,
	metadata, created_at, updated_at, agent_version)
	VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key <> '' DO NOTHING
	RETURNING id`

// ExecutionCreate inserts a queued execution and, in the same transaction,
// its job (Config.Enqueue) and its first event (status queued); when the
// hook fails nothing is written. With an
// IdempotencyKey already used in the workspace it returns that execution
// with created false, or ECONFLICT when its RequestHash differs.
func (s *Store) ExecutionCreate(ctx context.Context, params *tessera.ExecutionCreateParams) (*tessera.Execution, bool, error) {
	if params.Now.IsZero() {
		return nil, false, wrap("execution create", errNoNow)
	}
	var exec *tessera.Execution
	var created bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		args, err := insertArgs(params)
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRowContext(ctx, insertExecution, args...).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
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
		exec, err = scanExecution(tx.QueryRowContext(ctx, `UPDATE executions
			SET root_id = CASE root_id WHEN 0 THEN id ELSE root_id END, job_id = ?,
				last_event_seq = last_event_seq + ?
			WHERE id = ? RETURNING `+execColumns, jobID, len(queued), id))
		if err != nil {
			return err
		}
		if _, err := insertEvents(ctx, tx, id, exec.LastEventSeq, queued, micros(params.Now)); err != nil {
			return err
		}
		created = true
		return nil
	})
	return exec, created, wrap("execution create", err)
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
	now := micros(params.Now)
	return []any{e.WorkspaceID, e.AgentID, e.RootID, e.TriggerType, nullInt(e.APIKeyID),
		nullInt(e.InstanceID), e.ContextType, nullInt(e.ContextID), e.MaxIterations, e.StopReason, e.Input, inputs,
		messages, e.Model, e.ModelUsed, nullFloat(e.Temperature), e.Tools, e.Output, e.Error,
		e.Usage.InputTokens, e.Usage.OutputTokens, e.Usage.CachedInputTokens, e.Cost, e.Credits, e.TimeoutMS,
		e.IdempotencyKey, e.RequestHash, nullJSON(e.Metadata), now, now, e.AgentVersion}, nil
}

// sameRequest returns the execution that already holds e's idempotency
// key, or ECONFLICT when it was created by a different request.
func sameRequest(ctx context.Context, q querier, e *tessera.Execution) (*tessera.Execution, error) {
	prior, err := getExecution(ctx, q, "workspace_id = ? AND idempotency_key = ? AND idempotency_key <> ''",
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
	var exec *tessera.Execution
	var err error
	if params.WorkspaceID == 0 {
		exec, err = getExecution(ctx, s.db, "id = ?", params.ID)
	} else {
		exec, err = getExecution(ctx, s.db, "id = ? AND workspace_id = ?", params.ID, params.WorkspaceID)
	}
	return exec, wrap("execution get", err)
}

func getExecution(ctx context.Context, q querier, cond string, args ...any) (*tessera.Execution, error) {
	exec, err := scanExecution(q.QueryRowContext(ctx, `SELECT `+execColumns+` FROM executions WHERE `+cond, args...))
	if errors.Is(err, sql.ErrNoRows) {
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
	w.add("workspace_id = ?", params.WorkspaceID)
	if params.AgentID != 0 {
		w.add("agent_id = ?", params.AgentID)
	}
	if params.InstanceID != 0 {
		w.add("instance_id = ?", params.InstanceID)
	}
	if params.TriggerType != "" {
		w.add("trigger_type = ?", params.TriggerType)
	}
	if params.ContextType != "" {
		w.add("context_type = ?", params.ContextType)
	}
	if params.ContextID != 0 {
		w.add("context_id = ?", params.ContextID)
	}
	// The bounds are kept to the microsecond, as every time the store is
	// given: a bound equal to an execution's creation Now is at its
	// created_at exactly.
	if !params.CreatedAfter.IsZero() {
		w.add("created_at >= ?", micros(params.CreatedAfter))
	}
	if !params.CreatedBefore.IsZero() {
		w.add("created_at < ?", micros(params.CreatedBefore))
	}
	if params.RootID != 0 {
		w.add("root_id = ?", params.RootID)
	}
	if params.AgentQuery != "" {
		cond, arg := contains("title", params.AgentQuery)
		w.add("agent_id IN (SELECT id FROM agents WHERE workspace_id = ? AND "+cond+")", params.WorkspaceID, arg)
	}
	if len(params.Statuses) > 0 {
		statuses := make([]string, len(params.Statuses))
		for i, st := range params.Statuses {
			statuses[i] = string(st)
		}
		cond, args := in("status", statuses)
		w.add(cond, args...)
	}
	list, total, err := listPage(ctx, s, listQuery{table: "executions", columns: execColumns, where: w,
		limit: params.Limit, offset: params.Offset, desc: params.Desc}, scanExecution)
	return list, total, wrap("execution list", err)
}

// ExecutionThread returns the executions of thread RootID in the workspace,
// oldest first: those with an id below BeforeID, or all when it is zero.
func (s *Store) ExecutionThread(ctx context.Context, params *tessera.ExecutionThreadParams) ([]*tessera.Execution, error) {
	if params.WorkspaceID == 0 {
		return nil, wrap("execution thread", errNoWorkspace)
	}
	var w where
	w.add("workspace_id = ?", params.WorkspaceID)
	w.add("root_id = ?", params.RootID)
	if params.BeforeID != 0 {
		w.add("id < ?", params.BeforeID)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+execColumns+` FROM executions`+w.String()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, wrap("execution thread", err)
	}
	list, err := collect(rows, scanExecution)
	return list, wrap("execution thread", err)
}

func nullJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return string(raw) // a STRICT TEXT column refuses a []byte (BLOB)
}

func scanExecution(row scanner) (*tessera.Execution, error) {
	var e tessera.Execution
	var apiKeyID, instanceID, contextID, lease, started, completed sql.NullInt64
	var temperature sql.NullFloat64
	var inputs, messages string
	var metadata, structured sql.NullString
	var created, updated int64
	err := row.Scan(&e.ID, &e.WorkspaceID, &e.AgentID, &e.RootID, &e.Status, &e.TriggerType, &apiKeyID,
		&instanceID, &e.ContextType, &contextID, &e.MaxIterations, &e.StopReason, &e.Input, &inputs, &messages, &e.Model, &e.ModelUsed, &temperature, &e.Tools, &e.Output, &e.Error,
		&e.Usage.InputTokens, &e.Usage.OutputTokens, &e.Usage.CachedInputTokens, &e.Cost, &e.Credits,
		&e.TimeoutMS, &e.CancelRequested, &e.LastEventSeq, &e.Attempt, &lease, &e.JobID, &e.IdempotencyKey, &e.RequestHash, &metadata,
		&created, &updated, &started, &completed, &structured, &e.Usage.ReasoningTokens, &e.AgentVersion)
	if err != nil {
		return nil, err
	}
	if structured.Valid {
		e.StructuredOutput = json.RawMessage(structured.String)
	}
	if err := decodeJSON(inputs, &e.Inputs); err != nil {
		return nil, err
	}
	if err := decodeJSON(messages, &e.Messages); err != nil {
		return nil, err
	}
	if metadata.Valid {
		e.Metadata = json.RawMessage(metadata.String)
	}
	e.APIKeyID, e.Temperature = intPtr(apiKeyID), floatPtr(temperature)
	e.InstanceID, e.ContextID = intPtr(instanceID), intPtr(contextID)
	e.LeaseExpiresAt, e.StartedAt, e.CompletedAt = timePtr(lease), timePtr(started), timePtr(completed)
	e.CreatedAt, e.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &e, nil
}
