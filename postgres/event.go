package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/internal/eventenc"
)

// The event log. An execution's events are numbered from 1 without gaps:
// every write allocates its seqs by moving executions.last_event_seq forward
// by the number of events, with UPDATE … RETURNING last_event_seq in the
// transaction that inserts them. The row lock of that update serialises
// the writers of one execution, on every node, and the WHERE clause of the
// same update is the write's fence, so a write that is refused allocates
// nothing.

const eventColumns = "execution_id, seq, type, data, created_at"

// DefaultEventListLimit is the page size of EventListAfter when
// params.Limit is zero or less.
const DefaultEventListLimit = 1000

// DefaultEventDeleteLimit is how many executions EventDeleteBefore purges
// when params.Limit is zero or less.
const DefaultEventDeleteLimit = 1000

// The event encoding is shared by both stores (internal/eventenc).
type encodedEvent = eventenc.Event

var (
	encodeWorkerEvents = eventenc.EncodeWorker
	statusEvent        = eventenc.Status
	doneEvent          = eventenc.Done
	doneOf             = eventenc.DoneOf
)

// insertEventsSQL inserts any number of events in one statement: $1 the
// execution, $2 the seq before the first, $3 and $4 the types and data in
// order, $5 the time.
const insertEventsSQL = `INSERT INTO execution_events (` + eventColumns + `)
	SELECT $1, $2 + u.ord, u.type, u.data::json, $5
	FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS u (type, data, ord)`

// insertEvents inserts events as the last len(events) seqs of execution id,
// whose last_event_seq is last: the caller has just moved it forward by
// len(events) in this transaction.
func insertEvents(ctx context.Context, q querier, id, last int64, events []encodedEvent, now time.Time) ([]*tessera.Event, error) {
	out := make([]*tessera.Event, len(events))
	if len(events) == 0 {
		return out, nil
	}
	at := ts(now)
	before := last - int64(len(events))
	types, data := make([]string, len(events)), make([]string, len(events))
	for i, ev := range events {
		types[i], data[i] = ev.Type, ev.Data
		out[i] = &tessera.Event{ExecutionID: id, Seq: before + int64(i) + 1, Type: ev.Type,
			Data: json.RawMessage(ev.Data), CreatedAt: utc(at)}
	}
	if _, err := q.Exec(ctx, insertEventsSQL, id, before, types, data, at); err != nil {
		return nil, err
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
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var last int64
		err := tx.QueryRow(ctx, `UPDATE executions SET last_event_seq = last_event_seq + $1
			WHERE `+fence(2)+` RETURNING last_event_seq`, len(events), params.ExecutionID, params.Attempt).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return fenced(ctx, tx, params.ExecutionID, params.Attempt)
		}
		if err != nil {
			return err
		}
		out, err = insertEvents(ctx, tx, params.ExecutionID, last, events, params.Now)
		return err
	})
	if err != nil {
		return nil, wrap("event append", err)
	}
	return out, nil
}

// EventListAfter returns up to params.Limit (DefaultEventListLimit when zero
// or less) events of the execution with Seq > params.AfterSeq, in order.
// ENOTFOUND when the execution does not exist or is in another workspace
// (WorkspaceID zero skips the check).
//
// Streams poll it, so the check and the page are one statement (one
// snapshot, one round trip): the execution's row, joined to its page of
// events, yields no row when the execution is not found and one row of
// NULLs when the page is empty.
func (s *Store) EventListAfter(ctx context.Context, params *tessera.EventListParams) ([]*tessera.Event, error) {
	limit := params.Limit
	if limit <= 0 {
		limit = DefaultEventListLimit
	}
	rows, err := s.pool.Query(ctx, `SELECT v.execution_id, v.seq, v.type, v.data, v.created_at
		FROM executions AS x
		LEFT JOIN LATERAL (SELECT `+eventColumns+` FROM execution_events
			WHERE execution_id = x.id AND seq > $2 ORDER BY seq LIMIT $3) AS v ON true
		WHERE x.id = $1 AND ($4::bigint = 0 OR x.workspace_id = $4)
		ORDER BY v.seq`, params.ExecutionID, params.AfterSeq, limit, params.WorkspaceID)
	if err != nil {
		return nil, wrap("event list", err)
	}
	defer rows.Close()
	found := false
	events := []*tessera.Event{}
	for rows.Next() {
		found = true
		var execID, seq *int64
		var typ *string
		var data []byte
		var created *time.Time
		if err := rows.Scan(&execID, &seq, &typ, &data, &created); err != nil {
			return nil, wrap("event list", err)
		}
		if seq == nil {
			continue // the execution exists; its page is empty
		}
		events = append(events, &tessera.Event{ExecutionID: *execID, Seq: *seq, Type: *typ,
			Data: json.RawMessage(data), CreatedAt: utc(*created)})
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("event list", err)
	}
	if !found {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "execution %d not found", params.ExecutionID)
	}
	return events, nil
}

// deleteEventsBefore deletes the events of the first executions by id
// ($2 of them) that are terminal with completed_at before $1 and still
// have events. The scan walks executions by id from the lowest one that
// still has events (the minimum is read from the primary key of the log),
// so a pass costs about the retention window, not the whole history of
// purged executions.
const deleteEventsBefore = `DELETE FROM execution_events WHERE execution_id IN (
	SELECT e.id FROM executions AS e
	WHERE e.id >= (SELECT MIN(execution_id) FROM execution_events)
		AND e.status IN ` + terminalStatuses + ` AND e.completed_at < $1
		AND EXISTS (SELECT 1 FROM execution_events AS v WHERE v.execution_id = e.id)
	ORDER BY e.id LIMIT $2)`

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
	tag, err := s.pool.Exec(ctx, deleteEventsBefore, ts(params.Before), limit)
	if err != nil {
		return 0, wrap("event delete", err)
	}
	return int(tag.RowsAffected()), nil
}
