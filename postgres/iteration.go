package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera"
)

// The steps of the tool loop. A worker records them as they happen, fenced
// like its other writes: the UPDATE of the execution that checks the fence
// (and touches updated_at) runs in the transaction that inserts the steps,
// so a worker that lost its lease writes none, and its row lock orders the
// step writes of one execution across nodes. Steps are keyed by
// (execution, attempt, step): a retried execution starts its steps again at
// 1, and lists show those of its latest attempt that recorded any.

const iterationColumns = `execution_id, attempt, iteration, thought, action, action_input, observation, error,
	input_tokens, output_tokens, latency_ms, timestamp, provider_attempts`

// encodedIterations are steps ready to insert, column by column.
type encodedIterations struct {
	iteration                              []int32
	thought, action, input, observation, e []string
	attempts                               []string
	inputTokens, outputTokens, latency     []int64
	at                                     []time.Time
}

// encodeIterations checks and encodes steps for insertion. A nil step or a
// step number below 1 (or beyond 32 bits) is EINVALID; so is an
// ActionInput that is not JSON. An empty or null ActionInput is stored as
// {}, any other compacted. A zero Timestamp is now.
func encodeIterations(steps []*tessera.Iteration, now time.Time) (*encodedIterations, error) {
	n := len(steps)
	out := &encodedIterations{
		iteration: make([]int32, n), thought: make([]string, n), action: make([]string, n),
		input: make([]string, n), observation: make([]string, n), e: make([]string, n),
		inputTokens: make([]int64, n), outputTokens: make([]int64, n), latency: make([]int64, n),
		at: make([]time.Time, n), attempts: make([]string, n),
	}
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
		out.iteration[i], out.thought[i], out.action[i], out.input[i] = int32(it.Iteration), it.Thought, it.Action, input
		out.observation[i], out.e[i] = it.Observation, it.Error
		out.inputTokens[i], out.outputTokens[i], out.latency[i] = it.InputTokens, it.OutputTokens, it.LatencyMS
		out.at[i] = ts(at)
		if out.attempts[i], err = encodeJSON(it.ProviderAttempts, "[]"); err != nil {
			return nil, err
		}
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

// insertIterationsSQL inserts any number of steps in one statement: $1 the
// execution, $2 the attempt, then the columns as arrays.
const insertIterationsSQL = `INSERT INTO execution_iterations (` + iterationColumns + `)
	SELECT $1, $2, u.iteration, u.thought, u.action, u.action_input::json, u.observation, u.error,
		u.input_tokens, u.output_tokens, u.latency_ms, u.at, u.attempts::json
	FROM unnest($3::integer[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::bigint[], $10::bigint[], $11::bigint[], $12::timestamptz[], $13::text[])
		AS u (iteration, thought, action, action_input, observation, error, input_tokens, output_tokens, latency_ms, at, attempts)`

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
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE executions SET updated_at = $1 WHERE `+fence(2),
			ts(params.Now), params.ExecutionID, params.Attempt)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fenced(ctx, tx, params.ExecutionID, params.Attempt)
		}
		if len(steps.iteration) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, insertIterationsSQL, params.ExecutionID, params.Attempt, steps.iteration,
			steps.thought, steps.action, steps.input, steps.observation, steps.e,
			steps.inputTokens, steps.outputTokens, steps.latency, steps.at, steps.attempts)
		if isUnique(err) {
			return tessera.Errorf(tessera.ECONFLICT, "a step of attempt %d of execution %d is already recorded",
				params.Attempt, params.ExecutionID)
		}
		return err
	})
	return wrap("iteration append", err)
}

// IterationList returns the steps of the execution's latest attempt that
// recorded any, ordered by step. ENOTFOUND when the execution does not
// exist or is in another workspace (WorkspaceID zero skips the check).
//
// As EventListAfter, the check and the steps are one statement: the
// execution's row, joined to its steps, yields no row when the execution is
// not found and one row of NULLs when it has no step.
func (s *Store) IterationList(ctx context.Context, params *tessera.IterationListParams) ([]*tessera.Iteration, error) {
	rows, err := s.pool.Query(ctx, `SELECT i.execution_id, i.attempt, i.iteration, i.thought, i.action,
			i.action_input, i.observation, i.error, i.input_tokens, i.output_tokens, i.latency_ms, i.timestamp,
			i.provider_attempts
		FROM executions AS x
		LEFT JOIN execution_iterations AS i ON i.execution_id = x.id
			AND i.attempt = (SELECT MAX(attempt) FROM execution_iterations WHERE execution_id = x.id)
		WHERE x.id = $1 AND ($2::bigint = 0 OR x.workspace_id = $2)
		ORDER BY i.iteration`, params.ExecutionID, params.WorkspaceID)
	if err != nil {
		return nil, wrap("iteration list", err)
	}
	defer rows.Close()
	found := false
	list := []*tessera.Iteration{}
	for rows.Next() {
		found = true
		var execID *int64
		var attempt, iteration *int
		var thought, action, observation, e *string
		var input, attempts []byte
		var inTokens, outTokens, latency *int64
		var at *time.Time
		err := rows.Scan(&execID, &attempt, &iteration, &thought, &action, &input, &observation, &e,
			&inTokens, &outTokens, &latency, &at, &attempts)
		if err != nil {
			return nil, wrap("iteration list", err)
		}
		if execID == nil {
			continue // the execution exists; it has no step
		}
		it := &tessera.Iteration{ExecutionID: *execID, Attempt: *attempt, Iteration: *iteration,
			Thought: *thought, Action: *action, ActionInput: json.RawMessage(input), Observation: *observation,
			Error: *e, InputTokens: *inTokens, OutputTokens: *outTokens, LatencyMS: *latency, Timestamp: utc(*at)}
		if string(attempts) != "[]" {
			if err := decodeJSON(attempts, &it.ProviderAttempts); err != nil {
				return nil, wrap("iteration list", err)
			}
		}
		list = append(list, it)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("iteration list", err)
	}
	if !found {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "execution %d not found", params.ExecutionID)
	}
	return list, nil
}
