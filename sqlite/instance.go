package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tessera-run/tessera"
)

const instanceColumns = "id, workspace_id, agent_id, name, config, created_at, updated_at, trigger_secret"

// encodeInstanceConfig encodes an instance's config as JSON text. It is
// EINVALID when a value does not marshal (a NaN, a channel in InputDefaults).
func encodeInstanceConfig(c tessera.InstanceConfig) (string, error) {
	s, err := encodeJSON(c, "{}")
	if err != nil {
		return "", tessera.Errorf(tessera.EINVALID, "the instance config does not encode as JSON: %v", err)
	}
	return s, nil
}

// InstanceCreate inserts params.Instance, setting its ID and times.
// ENOTFOUND when its agent does not exist in its workspace.
func (s *Store) InstanceCreate(ctx context.Context, params *tessera.InstanceCreateParams) (*tessera.Instance, error) {
	if params.Now.IsZero() {
		return nil, wrap("instance create", errNoNow)
	}
	in := params.Instance
	config, err := encodeInstanceConfig(in.Config)
	if err != nil {
		return nil, err
	}
	now := micros(params.Now)
	// Selecting the agent in the instance's workspace checks both at once.
	inst, err := scanInstance(s.db.QueryRowContext(ctx, `INSERT INTO agent_instances
		(workspace_id, agent_id, name, config, created_at, updated_at)
		SELECT workspace_id, id, ?, ?, ?, ? FROM agents WHERE id = ? AND workspace_id = ?
		RETURNING `+instanceColumns, in.Name, config, now, now, in.AgentID, in.WorkspaceID))
	if errors.Is(err, sql.ErrNoRows) || isForeignKey(err) {
		err = tessera.Errorf(tessera.ENOTFOUND, "agent %d not found", in.AgentID)
	}
	return inst, wrap("instance create", err)
}

// InstanceGetByID returns ENOTFOUND when missing or in another workspace.
func (s *Store) InstanceGetByID(ctx context.Context, params *tessera.InstanceGetParams) (*tessera.Instance, error) {
	inst, err := scanInstance(s.db.QueryRowContext(ctx, `SELECT `+instanceColumns+` FROM agent_instances
		WHERE id = ? AND workspace_id = ?`, params.ID, params.WorkspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "instance %d not found", params.ID)
	}
	return inst, wrap("instance get", err)
}

// InstanceList returns one page of a workspace's instances ordered by id
// and the total matching count, only those of params.AgentID when it is
// non-zero. A Limit of zero or less returns them all.
func (s *Store) InstanceList(ctx context.Context, params *tessera.InstanceListParams) ([]*tessera.Instance, int, error) {
	if params.WorkspaceID == 0 {
		return nil, 0, wrap("instance list", errNoWorkspace)
	}
	var w where
	w.add("workspace_id = ?", params.WorkspaceID)
	if params.AgentID != 0 {
		w.add("agent_id = ?", params.AgentID)
	}
	list, total, err := listPage(ctx, s, listQuery{table: "agent_instances", columns: instanceColumns, where: w,
		limit: params.Limit, offset: params.Offset}, scanInstance)
	return list, total, wrap("instance list", err)
}

// InstanceUpdate replaces the Name and Config of the instance identified by
// params.Instance.ID and WorkspaceID and sets UpdatedAt; its agent stays.
// ENOTFOUND when missing or in another workspace.
func (s *Store) InstanceUpdate(ctx context.Context, params *tessera.InstanceUpdateParams) (*tessera.Instance, error) {
	if params.Now.IsZero() {
		return nil, wrap("instance update", errNoNow)
	}
	in := params.Instance
	config, err := encodeInstanceConfig(in.Config)
	if err != nil {
		return nil, err
	}
	inst, err := scanInstance(s.db.QueryRowContext(ctx, `UPDATE agent_instances SET name = ?, config = ?, updated_at = ?
		WHERE id = ? AND workspace_id = ? RETURNING `+instanceColumns,
		in.Name, config, micros(params.Now), in.ID, in.WorkspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "instance %d not found", in.ID)
	}
	return inst, wrap("instance update", err)
}

// InstanceDelete deletes an instance; its executions keep their
// InstanceID. ENOTFOUND when missing or in another workspace.
func (s *Store) InstanceDelete(ctx context.Context, params *tessera.InstanceGetParams) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM agent_instances WHERE id = ? AND workspace_id = ?`,
		params.ID, params.WorkspaceID)
	return wrap("instance delete", oneRow(res, err, "instance %d not found", params.ID))
}

func scanInstance(row scanner) (*tessera.Instance, error) {
	var inst tessera.Instance
	var config string
	var created, updated int64
	err := row.Scan(&inst.ID, &inst.WorkspaceID, &inst.AgentID, &inst.Name, &config, &created, &updated, &inst.TriggerSecret)
	if err != nil {
		return nil, err
	}
	if err := decodeJSON(config, &inst.Config); err != nil {
		return nil, err
	}
	inst.CreatedAt, inst.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &inst, nil
}
