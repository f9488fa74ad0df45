package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/tessera-run/tessera"
)

const scheduleColumns = `id, workspace_id, agent_id, instance_id, name, cron, timezone, input, enabled,
	next_run_at, last_run_at, last_execution_id, created_at, updated_at`

// scheduleInput is the input of a schedule as stored: {} when unset.
func scheduleInput(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// scheduleMicros is a nullable time column's argument.
func scheduleMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

// ScheduleCreate inserts params.Schedule, setting its ID and times; its
// LastRunAt and LastExecutionID start empty. ENOTFOUND when its agent does
// not exist in its workspace, or its instance is not one of that agent's.
func (s *Store) ScheduleCreate(ctx context.Context, params *tessera.ScheduleCreateParams) (*tessera.Schedule, error) {
	if params.Now.IsZero() {
		return nil, wrap("schedule create", errNoNow)
	}
	in := params.Schedule
	now := micros(params.Now)
	// Selecting the agent (and the instance of that agent) in the
	// schedule's workspace checks them all at once.
	sched, err := scanSchedule(s.db.QueryRowContext(ctx, `INSERT INTO schedules
		(workspace_id, agent_id, instance_id, name, cron, timezone, input, enabled, next_run_at, created_at, updated_at)
		SELECT a.workspace_id, a.id, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8 FROM agents a
		WHERE a.id = ?9 AND a.workspace_id = ?10 AND (?1 IS NULL OR EXISTS (SELECT 1 FROM agent_instances i
			WHERE i.id = ?1 AND i.agent_id = a.id AND i.workspace_id = a.workspace_id))
		RETURNING `+scheduleColumns,
		nullInt(in.InstanceID), in.Name, in.Cron, in.Timezone, scheduleInput(in.Input), in.Enabled, scheduleMicros(in.NextRunAt), now,
		in.AgentID, in.WorkspaceID))
	if errors.Is(err, sql.ErrNoRows) || isForeignKey(err) {
		err = scheduleOwnerNotFound(in)
	}
	return sched, wrap("schedule create", err)
}

// scheduleOwnerNotFound is the ENOTFOUND of a schedule whose agent or
// instance is missing.
func scheduleOwnerNotFound(in *tessera.Schedule) error {
	if in.InstanceID != nil {
		return tessera.Errorf(tessera.ENOTFOUND, "agent %d or its instance %d not found", in.AgentID, *in.InstanceID)
	}
	return tessera.Errorf(tessera.ENOTFOUND, "agent %d not found", in.AgentID)
}

// ScheduleGet returns ENOTFOUND when missing or in another workspace.
func (s *Store) ScheduleGet(ctx context.Context, workspaceID, id int64) (*tessera.Schedule, error) {
	sched, err := scanSchedule(s.db.QueryRowContext(ctx, `SELECT `+scheduleColumns+` FROM schedules
		WHERE id = ? AND workspace_id = ?`, id, workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "schedule %d not found", id)
	}
	return sched, wrap("schedule get", err)
}

// ScheduleList returns one page of a workspace's schedules ordered by id
// and the total matching count, only those of params.AgentID when it is
// non-zero. A Limit of zero or less returns them all.
func (s *Store) ScheduleList(ctx context.Context, params *tessera.ScheduleListParams) ([]*tessera.Schedule, int, error) {
	if params.WorkspaceID == 0 {
		return nil, 0, wrap("schedule list", errNoWorkspace)
	}
	var w where
	w.add("workspace_id = ?", params.WorkspaceID)
	if params.AgentID != 0 {
		w.add("agent_id = ?", params.AgentID)
	}
	list, total, err := listPage(ctx, s, listQuery{table: "schedules", columns: scheduleColumns, where: w,
		limit: params.Limit, offset: params.Offset}, scanSchedule)
	return list, total, wrap("schedule list", err)
}

// ScheduleUpdate replaces the Name, Cron, Timezone, Input, Enabled and
// NextRunAt of the schedule identified by params.Schedule.ID and
// WorkspaceID and sets UpdatedAt; its agent, instance and last run stay.
// ENOTFOUND when missing or in another workspace.
func (s *Store) ScheduleUpdate(ctx context.Context, params *tessera.ScheduleUpdateParams) (*tessera.Schedule, error) {
	if params.Now.IsZero() {
		return nil, wrap("schedule update", errNoNow)
	}
	in := params.Schedule
	sched, err := scanSchedule(s.db.QueryRowContext(ctx, `UPDATE schedules SET name = ?, cron = ?, timezone = ?,
		input = ?, enabled = ?, next_run_at = ?, updated_at = ? WHERE id = ? AND workspace_id = ? RETURNING `+scheduleColumns,
		in.Name, in.Cron, in.Timezone, scheduleInput(in.Input), in.Enabled, scheduleMicros(in.NextRunAt), micros(params.Now),
		in.ID, in.WorkspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "schedule %d not found", in.ID)
	}
	return sched, wrap("schedule update", err)
}

// ScheduleDelete deletes a schedule; the executions it started stay.
// ENOTFOUND when missing or in another workspace.
func (s *Store) ScheduleDelete(ctx context.Context, workspaceID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM schedules WHERE id = ? AND workspace_id = ?`, id, workspaceID)
	return wrap("schedule delete", oneRow(res, err, "schedule %d not found", id))
}

// ScheduleDue returns up to limit enabled schedules of every workspace
// whose NextRunAt is at or before now, the earliest first (ties by id).
func (s *Store) ScheduleDue(ctx context.Context, now time.Time, limit int) ([]*tessera.Schedule, error) {
	if now.IsZero() {
		return nil, wrap("schedule due", errNoNow)
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+scheduleColumns+` FROM schedules
		WHERE enabled = 1 AND next_run_at <= ? ORDER BY next_run_at, id LIMIT ?`, micros(now), limit)
	if err != nil {
		return nil, wrap("schedule due", err)
	}
	list, err := collect(rows, scanSchedule)
	return list, wrap("schedule due", err)
}

// ScheduleAdvance moves an enabled schedule whose NextRunAt is still
// params.From to params.Next, with LastRunAt From and LastExecutionID
// params.ExecutionID (kept when zero). It reports false, changing nothing,
// when the schedule moved on, was disabled or is gone: the compare-and-set
// that lets one node only advance a slot.
func (s *Store) ScheduleAdvance(ctx context.Context, params *tessera.ScheduleAdvanceParams) (bool, error) {
	if params.Now.IsZero() {
		return false, wrap("schedule advance", errNoNow)
	}
	var execID any
	if params.ExecutionID != 0 {
		execID = params.ExecutionID
	}
	res, err := s.db.ExecContext(ctx, `UPDATE schedules SET next_run_at = ?, last_run_at = ?,
		last_execution_id = COALESCE(?, last_execution_id), updated_at = ?
		WHERE id = ? AND next_run_at = ? AND enabled = 1`,
		micros(params.Next), micros(params.From), execID, micros(params.Now), params.ID, micros(params.From))
	if err != nil {
		return false, wrap("schedule advance", err)
	}
	n, err := res.RowsAffected()
	return n == 1, wrap("schedule advance", err)
}

func scanSchedule(row scanner) (*tessera.Schedule, error) {
	var sc tessera.Schedule
	var instanceID, next, last, lastExec sql.NullInt64
	var input string
	var created, updated int64
	err := row.Scan(&sc.ID, &sc.WorkspaceID, &sc.AgentID, &instanceID, &sc.Name, &sc.Cron, &sc.Timezone, &input,
		&sc.Enabled, &next, &last, &lastExec, &created, &updated)
	if err != nil {
		return nil, err
	}
	sc.InstanceID, sc.LastExecutionID = intPtr(instanceID), intPtr(lastExec)
	sc.Input = json.RawMessage(input)
	sc.NextRunAt, sc.LastRunAt = timePtr(next), timePtr(last)
	sc.CreatedAt, sc.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &sc, nil
}
