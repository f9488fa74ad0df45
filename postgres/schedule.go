package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

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

// scheduleTime is a nullable time column's argument.
func scheduleTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := ts(*t)
	return &v
}

// ScheduleCreate inserts params.Schedule, setting its ID and times; its
// LastRunAt and LastExecutionID start empty. ENOTFOUND when its agent does
// not exist in its workspace, or its instance is not one of that agent's.
// The foreign keys lock the agent's and the instance's rows against a
// concurrent delete: one deleted meanwhile is ENOTFOUND too.
func (s *Store) ScheduleCreate(ctx context.Context, params *tessera.ScheduleCreateParams) (*tessera.Schedule, error) {
	if params.Now.IsZero() {
		return nil, wrap("schedule create", errNoNow)
	}
	in := params.Schedule
	sched, err := scanSchedule(s.pool.QueryRow(ctx, `INSERT INTO schedules
		(workspace_id, agent_id, instance_id, name, cron, timezone, input, enabled, next_run_at, created_at, updated_at)
		SELECT a.workspace_id, a.id, $1::bigint, $2, $3, $4, $5, $6, $7, $8, $8 FROM agents a
		WHERE a.id = $9 AND a.workspace_id = $10 AND ($1::bigint IS NULL OR EXISTS (SELECT 1 FROM agent_instances i
			WHERE i.id = $1::bigint AND i.agent_id = a.id AND i.workspace_id = a.workspace_id))
		RETURNING `+scheduleColumns,
		in.InstanceID, in.Name, in.Cron, in.Timezone, scheduleInput(in.Input), in.Enabled, scheduleTime(in.NextRunAt),
		ts(params.Now), in.AgentID, in.WorkspaceID))
	if errors.Is(err, pgx.ErrNoRows) || isForeignKey(err) {
		err = scheduleOwnerNotFound(in)
	}
	if err != nil {
		return nil, wrap("schedule create", err)
	}
	return sched, nil
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
	sched, err := scanSchedule(s.pool.QueryRow(ctx, `SELECT `+scheduleColumns+` FROM schedules
		WHERE id = $1 AND workspace_id = $2`, id, workspaceID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "schedule %d not found", id)
	}
	if err != nil {
		return nil, wrap("schedule get", err)
	}
	return sched, nil
}

// ScheduleList returns one page of a workspace's schedules ordered by id
// and the total matching count, only those of params.AgentID when it is
// non-zero. A Limit of zero or less returns them all.
func (s *Store) ScheduleList(ctx context.Context, params *tessera.ScheduleListParams) ([]*tessera.Schedule, int, error) {
	if params.WorkspaceID == 0 {
		return nil, 0, wrap("schedule list", errNoWorkspace)
	}
	var w where
	w.add("workspace_id = " + w.arg(params.WorkspaceID))
	if params.AgentID != 0 {
		w.add("agent_id = " + w.arg(params.AgentID))
	}
	list, total, err := listPage(ctx, s, listQuery{table: "schedules", columns: scheduleColumns, where: w,
		limit: params.Limit, offset: params.Offset}, scanSchedule)
	if err != nil {
		return nil, 0, wrap("schedule list", err)
	}
	return list, total, nil
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
	sched, err := scanSchedule(s.pool.QueryRow(ctx, `UPDATE schedules SET name = $1, cron = $2, timezone = $3,
		input = $4, enabled = $5, next_run_at = $6, updated_at = $7 WHERE id = $8 AND workspace_id = $9
		RETURNING `+scheduleColumns,
		in.Name, in.Cron, in.Timezone, scheduleInput(in.Input), in.Enabled, scheduleTime(in.NextRunAt), ts(params.Now),
		in.ID, in.WorkspaceID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "schedule %d not found", in.ID)
	}
	if err != nil {
		return nil, wrap("schedule update", err)
	}
	return sched, nil
}

// ScheduleDelete deletes a schedule; the executions it started stay.
// ENOTFOUND when missing or in another workspace.
func (s *Store) ScheduleDelete(ctx context.Context, workspaceID, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM schedules WHERE id = $1 AND workspace_id = $2`, id, workspaceID)
	return wrap("schedule delete", oneRow(tag, err, "schedule %d not found", id))
}

// ScheduleDue returns up to limit enabled schedules of every workspace
// whose NextRunAt is at or before now, the earliest first (ties by id).
func (s *Store) ScheduleDue(ctx context.Context, now time.Time, limit int) ([]*tessera.Schedule, error) {
	if now.IsZero() {
		return nil, wrap("schedule due", errNoNow)
	}
	var lim any // NULL: no limit
	if limit > 0 {
		lim = limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+scheduleColumns+` FROM schedules
		WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at, id LIMIT $2`, ts(now), lim)
	if err != nil {
		return nil, wrap("schedule due", err)
	}
	list, err := collect(rows, scanSchedule)
	if err != nil {
		return nil, wrap("schedule due", err)
	}
	return list, nil
}

// ScheduleAdvance moves an enabled schedule whose NextRunAt is still
// params.From to params.Next, with LastRunAt From and LastExecutionID
// params.ExecutionID (kept when zero). It reports false, changing nothing,
// when the schedule moved on, was disabled or is gone: the compare-and-set
// that lets one node only advance a slot (a concurrent update waits for
// the row lock, then sees the new NextRunAt and matches nothing).
func (s *Store) ScheduleAdvance(ctx context.Context, params *tessera.ScheduleAdvanceParams) (bool, error) {
	if params.Now.IsZero() {
		return false, wrap("schedule advance", errNoNow)
	}
	var execID *int64
	if params.ExecutionID != 0 {
		execID = &params.ExecutionID
	}
	tag, err := s.pool.Exec(ctx, `UPDATE schedules SET next_run_at = $1, last_run_at = $2,
		last_execution_id = COALESCE($3, last_execution_id), updated_at = $4
		WHERE id = $5 AND next_run_at = $2 AND enabled`,
		ts(params.Next), ts(params.From), execID, ts(params.Now), params.ID)
	if err != nil {
		return false, wrap("schedule advance", err)
	}
	return tag.RowsAffected() == 1, nil
}

func scanSchedule(row pgx.Row) (*tessera.Schedule, error) {
	var sc tessera.Schedule
	var input string
	var created, updated time.Time
	err := row.Scan(&sc.ID, &sc.WorkspaceID, &sc.AgentID, &sc.InstanceID, &sc.Name, &sc.Cron, &sc.Timezone, &input,
		&sc.Enabled, &sc.NextRunAt, &sc.LastRunAt, &sc.LastExecutionID, &created, &updated)
	if err != nil {
		return nil, err
	}
	sc.Input = json.RawMessage(input)
	sc.NextRunAt, sc.LastRunAt = utcPtr(sc.NextRunAt), utcPtr(sc.LastRunAt)
	sc.CreatedAt, sc.UpdatedAt = utc(created), utc(updated)
	return &sc, nil
}
