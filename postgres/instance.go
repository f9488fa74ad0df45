package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

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
// ENOTFOUND when its agent does not exist in its workspace. The insert
// selects the agent, and its foreign key locks the agent's row against a
// concurrent delete: an agent deleted meanwhile is ENOTFOUND too.
func (s *Store) InstanceCreate(ctx context.Context, params *tessera.InstanceCreateParams) (*tessera.Instance, error) {
	if params.Now.IsZero() {
		return nil, wrap("instance create", errNoNow)
	}
	in := params.Instance
	config, err := encodeInstanceConfig(in.Config)
	if err != nil {
		return nil, err
	}
	inst, err := scanInstance(s.pool.QueryRow(ctx, `INSERT INTO agent_instances
		(workspace_id, agent_id, name, config, created_at, updated_at)
		SELECT workspace_id, id, $1, $2, $3, $3 FROM agents WHERE id = $4 AND workspace_id = $5
		RETURNING `+instanceColumns, in.Name, config, ts(params.Now), in.AgentID, in.WorkspaceID))
	if errors.Is(err, pgx.ErrNoRows) || isForeignKey(err) {
		err = tessera.Errorf(tessera.ENOTFOUND, "agent %d not found", in.AgentID)
	}
	if err != nil {
		return nil, wrap("instance create", err)
	}
	return inst, nil
}

// InstanceGetByID returns ENOTFOUND when missing or in another workspace.
func (s *Store) InstanceGetByID(ctx context.Context, params *tessera.InstanceGetParams) (*tessera.Instance, error) {
	inst, err := scanInstance(s.pool.QueryRow(ctx, `SELECT `+instanceColumns+` FROM agent_instances
		WHERE id = $1 AND workspace_id = $2`, params.ID, params.WorkspaceID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "instance %d not found", params.ID)
	}
	if err != nil {
		return nil, wrap("instance get", err)
	}
	return inst, nil
}

// InstanceList returns one page of a workspace's instances ordered by id
// and the total matching count, only those of params.AgentID when it is
// non-zero. A Limit of zero or less returns them all.
func (s *Store) InstanceList(ctx context.Context, params *tessera.InstanceListParams) ([]*tessera.Instance, int, error) {
	if params.WorkspaceID == 0 {
		return nil, 0, wrap("instance list", errNoWorkspace)
	}
	var w where
	w.add("workspace_id = " + w.arg(params.WorkspaceID))
	if params.AgentID != 0 {
		w.add("agent_id = " + w.arg(params.AgentID))
	}
	list, total, err := listPage(ctx, s, listQuery{table: "agent_instances", columns: instanceColumns, where: w,
		limit: params.Limit, offset: params.Offset}, scanInstance)
	if err != nil {
		return nil, 0, wrap("instance list", err)
	}
	return list, total, nil
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
	inst, err := scanInstance(s.pool.QueryRow(ctx, `UPDATE agent_instances SET name = $1, config = $2, updated_at = $3
		WHERE id = $4 AND workspace_id = $5 RETURNING `+instanceColumns,
		in.Name, config, ts(params.Now), in.ID, in.WorkspaceID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "instance %d not found", in.ID)
	}
	if err != nil {
		return nil, wrap("instance update", err)
	}
	return inst, nil
}

// InstanceDelete deletes an instance; its executions keep their
// InstanceID. ENOTFOUND when missing or in another workspace.
func (s *Store) InstanceDelete(ctx context.Context, params *tessera.InstanceGetParams) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM agent_instances WHERE id = $1 AND workspace_id = $2`,
		params.ID, params.WorkspaceID)
	return wrap("instance delete", oneRow(tag, err, "instance %d not found", params.ID))
}

func scanInstance(row pgx.Row) (*tessera.Instance, error) {
	var inst tessera.Instance
	var config []byte
	var created, updated time.Time
	err := row.Scan(&inst.ID, &inst.WorkspaceID, &inst.AgentID, &inst.Name, &config, &created, &updated, &inst.TriggerSecret)
	if err != nil {
		return nil, err
	}
	if err := decodeJSON(config, &inst.Config); err != nil {
		return nil, err
	}
	inst.CreatedAt, inst.UpdatedAt = utc(created), utc(updated)
	return &inst, nil
}
