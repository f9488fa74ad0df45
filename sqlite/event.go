package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/internal/eventenc"
)

// The event log. An execution's events are numbered from 1 without gaps:
// every write allocates its seqs by moving executions.last_event_seq forward
// by the number of events, with UPDATE … RETURNING last_event_seq in the
// transaction that inserts them. The row lock of that update serialises
// writers of one execution (here and on PostgreSQL), and the WHERE clause of
// the same update is the write's fence, so a write that is refused allocates
// nothing.

const eventColumns = "execution_id, seq, type, data, created_at"

// DefaultEventListLimit is the page size of EventListAfter when
// params.Limit is zero or less.
const DefaultEventListLimit = 1000

// DefaultEventDeleteLimit is how many executions EventDeleteBefore purges
// when params.Limit is zero or less.
const DefaultEventDeleteLimit = 1000

// eventInsertBatch bounds the rows of one INSERT, well below SQLite's limit
// on bound parameters (5 per row).
const eventInsertBatch = 200

// The event encoding is shared by both stores (internal/eventenc).
type encodedEvent = eventenc.Event

var (
	encodeWorkerEvents = eventenc.EncodeWorker
	statusEvent        = eventenc.Status
	doneEvent          = eventenc.Done
	doneOf             = eventenc.DoneOf
)

// insertEvents inserts events as the last len(events) seqs of execution id,
// whose last_event_seq is last: the caller has just moved it forward by
// len(events) in this transaction.
func insertEvents(ctx context.Context, q querier, id, last int64, events []encodedEvent, now int64) ([]*tessera.Event, error) {
	out := make([]*tessera.Event, 0, len(events))
	first := last - int64(len(events)) + 1
	for chunk := range slices.Chunk(events, eventInsertBatch) {
		args := make([]any, 0, 5*len(chunk))
		for _, ev := range chunk {
			seq := first + int64(len(out))
			args = append(args, id, seq, ev.Type, ev.Data, now)
			out = append(out, &tessera.Event{ExecutionID: id, Seq: seq, Type: ev.Type,
				Data: json.RawMessage(ev.Data), CreatedAt: fromMicros(now)})
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", len(chunk)), ", ")
		if _, err := q.ExecContext(ctx, `INSERT INTO execution_events (`+eventColumns+`) VALUES `+values, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EventAppend appends events to a running execution's log for the attempt
// holding it. ECONFLICT when the attempt no longer holds it (nothing is
// written and no seq is used), ENOTFOUND when it does not exist, EINVALID
// when an event has no type, data that does not marshal, or a type the store
// writes itself (status, done).
func (s *Store) EventAppend(ctx context.Context, params *tessera.EventAppendParams) ([]*tessera.Event, error) {
	if params.Now.IsZero() {
		return nil, wrap("event append", errNoNow)
	}
	events, err := encodeWorkerEvents(params.Events)
	if err != nil {
		return nil, err
	}
	var out []*tessera.Event
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var last int64
		err := tx.QueryRowContext(ctx, `UPDATE executions SET last_event_seq = last_event_seq + ?
			WHERE `+fence+` RETURNING last_event_seq`, len(events), params.ExecutionID, params.Attempt).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			return fenced(ctx, tx, params.ExecutionID, params.Attempt)
		}
		if err != nil {
			return err
		}
		out, err = insertEvents(ctx, tx, params.ExecutionID, last, events, micros(params.Now))
		return err
	})
	return out, wrap("event append", err)
}

// EventListAfter returns up to params.Limit (DefaultEventListLimit when zero
// or less) events of the execution with Seq > params.AfterSeq, in order.
// ENOTFOUND when the execution does not exist or is in another workspace
// (WorkspaceID zero skips the check).
func (s *Store) EventListAfter(ctx context.Context, params *tessera.EventListParams) ([]*tessera.Event, error) {
	limit := params.Limit
	if limit <= 0 {
		limit = DefaultEventListLimit
	}
	var list []*tessera.Event
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
		rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM execution_events
			WHERE execution_id = ? AND seq > ? ORDER BY seq LIMIT ?`, params.ExecutionID, params.AfterSeq, limit)
		if err != nil {
			return err
		}
		list, err = collect(rows, scanEvent)
		return err
	})
	return list, wrap("event list", err)
}

// deleteEventsBefore deletes the events of the first executions by id
// (argument 2) that are terminal with completed_at before argument 1 and
// still have events. The scan walks executions by id from the lowest one
// that still has events, so a pass costs about the retention window, not
// the whole history of purged executions; the + keeps SQLite from scanning
// the (status, lease_expires_at) index, which holds every terminal
// execution, instead.
const deleteEventsBefore = `DELETE FROM execution_events WHERE execution_id IN (
	SELECT e.id FROM executions AS e
	WHERE e.id >= (SELECT MIN(execution_id) FROM execution_events)
		AND +e.status IN ` + terminalStatuses + ` AND e.completed_at < ?
		AND EXISTS (SELECT 1 FROM execution_events AS v WHERE v.execution_id = e.id)
	ORDER BY e.id LIMIT ?)`

// EventDeleteBefore deletes the events of up to params.Limit executions
// (DefaultEventDeleteLimit when zero or less) that are terminal with
// completed_at before params.Before, and returns how many events it
// deleted. The executions keep their last_event_seq.
func (s *Store) EventDeleteBefore(ctx context.Context, params *tessera.EventDeleteParams) (int, error) {
	if params.Before.IsZero() {
		return 0, wrap("event delete", errors.New("params.Before is zero"))
	}
	limit := params.Limit
	if limit <= 0 {
		limit = DefaultEventDeleteLimit
	}
	res, err := s.db.ExecContext(ctx, deleteEventsBefore, micros(params.Before), limit)
	if err != nil {
		return 0, wrap("event delete", err)
	}
	n, err := res.RowsAffected()
	return int(n), wrap("event delete", err)
}

func scanEvent(row scanner) (*tessera.Event, error) {
	var ev tessera.Event
	var data string
	var created int64
	if err := row.Scan(&ev.ExecutionID, &ev.Seq, &ev.Type, &data, &created); err != nil {
		return nil, err
	}
	ev.Data, ev.CreatedAt = json.RawMessage(data), fromMicros(created)
	return &ev, nil
}
