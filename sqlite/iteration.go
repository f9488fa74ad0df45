package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
)

// The steps of the tool loop. A worker records them as they happen, fenced
// like its other writes: the UPDATE of the execution that checks the fence
// (and touches updated_at) runs in the transaction that inserts the steps,
// so a worker that lost its lease writes none. Steps are keyed by
// (execution, attempt, step): a retried execution starts its steps again at
// 1, and lists show those of its latest attempt that recorded any.

const iterationColumns = `execution_id, attempt, iteration, thought, action, action_input, observation, error,
	input_tokens, output_tokens, latency_ms, timestamp, provider_attempts`

var iterationColumnCount = strings.Count(iterationColumns, ",") + 1

// iterationInsertBatch bounds the rows of one INSERT, well below SQLite's
// limit on bound parameters (13 per row).
const iterationInsertBatch = 100

// encodedIteration is a step ready to insert: the values of
// iterationColumns after execution_id and attempt.
type encodedIteration []any

// encodeIterations checks and encodes steps for insertion. A nil step or a
// step number below 1 (or beyond 32 bits) is EINVALID; so is an
// ActionInput that is not JSON. An empty or null ActionInput is stored as
// {}, any other compacted. A zero Timestamp is now.
func encodeIterations(steps []*tessera.Iteration, now time.Time) ([]encodedIteration, error) {
	out := make([]encodedIteration, len(steps))
	for i, it := range steps {
		if it == nil {
			return nil, tessera.Errorf(tessera.EINVALID, "step %d is nil", i)
		}
		if it.Iteration < 1 || it.Iteration > math.MaxInt32 {
			return nil, tessera.Errorf(tessera.EINVALID, "step %d is numbered %d; steps are numbered from 1", i, it.Iteration)
		}
		input, err := actionInput(it.ActionInput)
		if err != nil {
			return nil, tessera.Errorf(tessera.EINVALID, "the action input of step %d is not valid JSON", it.Iteration)
		}
		at := it.Timestamp
		if at.IsZero() {
			at = now
		}
		attempts, err := encodeJSON(it.ProviderAttempts, "[]")
		if err != nil {
			return nil, err
		}
		out[i] = encodedIteration{it.Iteration, it.Thought, it.Action, input, it.Observation, it.Error,
			it.InputTokens, it.OutputTokens, it.LatencyMS, micros(at), attempts}
	}
	return out, nil
}

// actionInput is raw as stored: compacted, {} when empty or null.
func actionInput(raw json.RawMessage) (string, error) {
	if len(raw) == 0 {
		return "{}", nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", err
	}
	if b.String() == "null" {
		return "{}", nil
	}
	return b.String(), nil
}

// IterationAppend records steps of a running execution for the attempt
// holding it. ECONFLICT when the attempt no longer holds it, or when a step
// number is already recorded for the attempt (or given twice); ENOTFOUND
// when the execution does not exist; EINVALID for a step encodeIterations
// refuses. A refused append writes nothing.
func (s *Store) IterationAppend(ctx context.Context, params *tessera.IterationAppendParams) error {
	if params.Now.IsZero() {
		return wrap("iteration append", errNoNow)
	}
	steps, err := encodeIterations(params.Iterations, params.Now)
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE executions SET updated_at = ? WHERE `+fence,
			micros(params.Now), params.ExecutionID, params.Attempt)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fenced(ctx, tx, params.ExecutionID, params.Attempt)
		}
		return insertIterations(ctx, tx, params.ExecutionID, params.Attempt, steps)
	})
	return wrap("iteration append", err)
}

func insertIterations(ctx context.Context, tx *sql.Tx, id int64, attempt int, steps []encodedIteration) error {
	row := "(" + placeholders(iterationColumnCount) + ")"
	for chunk := range slices.Chunk(steps, iterationInsertBatch) {
		args := make([]any, 0, iterationColumnCount*len(chunk))
		for _, st := range chunk {
			args = append(append(args, id, attempt), st...)
		}
		values := strings.TrimSuffix(strings.Repeat(row+", ", len(chunk)), ", ")
		_, err := tx.ExecContext(ctx, `INSERT INTO execution_iterations (`+iterationColumns+`) VALUES `+values, args...)
		if isUnique(err) {
			return tessera.Errorf(tessera.ECONFLICT, "a step of attempt %d of execution %d is already recorded", attempt, id)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// IterationList returns the steps of the execution's latest attempt that
// recorded any, ordered by step. ENOTFOUND when the execution does not
// exist or is in another workspace (WorkspaceID zero skips the check).
func (s *Store) IterationList(ctx context.Context, params *tessera.IterationListParams) ([]*tessera.Iteration, error) {
	var list []*tessera.Iteration
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM executions WHERE id = ? AND (? = 0 OR workspace_id = ?)`,
			params.ExecutionID, params.WorkspaceID, params.WorkspaceID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return tessera.Errorf(tessera.ENOTFOUND, "execution %d not found", params.ExecutionID)
		}
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+iterationColumns+` FROM execution_iterations
			WHERE execution_id = ?1 AND attempt = (SELECT MAX(attempt) FROM execution_iterations WHERE execution_id = ?1)
			ORDER BY iteration`, params.ExecutionID)
		if err != nil {
			return err
		}
		list, err = collect(rows, scanIteration)
		return err
	})
	return list, wrap("iteration list", err)
}

func scanIteration(row scanner) (*tessera.Iteration, error) {
	var it tessera.Iteration
	var input, attempts string
	var at int64
	err := row.Scan(&it.ExecutionID, &it.Attempt, &it.Iteration, &it.Thought, &it.Action, &input, &it.Observation,
		&it.Error, &it.InputTokens, &it.OutputTokens, &it.LatencyMS, &at, &attempts)
	if err != nil {
		return nil, err
	}
	if attempts != "[]" {
		if err := decodeJSON(attempts, &it.ProviderAttempts); err != nil {
			return nil, err
		}
	}
	it.ActionInput, it.Timestamp = json.RawMessage(input), fromMicros(at)
	return &it, nil
}
