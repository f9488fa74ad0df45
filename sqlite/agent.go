package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
)

// agentDefColumns are the definition fields: what AgentUpdate replaces and
// AgentUpsertBySlug compares. They match the values of agentDef.
const agentDefColumns = `slug, title, description, type, instructions, prompt, questions, model,
	temperature, tools, max_iterations, timeout_seconds, multitask_strategy, visibility, source,
	http_tools, mcp_servers, output_schema, fallback_models`

const agentColumns = "id, workspace_id, " + agentDefColumns + ", version, created_at, updated_at"

var agentDefPlaceholders = placeholders(strings.Count(agentDefColumns, ",") + 1)

func agentDef(a *tessera.Agent) ([]any, error) {
	questions, err := encodeJSON(a.Questions, "[]")
	if err != nil {
		return nil, err
	}
	tools, err := encodeJSON(a.Tools, "[]")
	if err != nil {
		return nil, err
	}
	httpTools, err := encodeJSON(a.HTTPTools, "[]")
	if err != nil {
		return nil, err
	}
	mcpServers, err := encodeJSON(a.MCPServers, "[]")
	if err != nil {
		return nil, err
	}
	fallbacks, err := encodeJSON(a.FallbackModels, "[]")
	if err != nil {
		return nil, err
	}
	return []any{a.Slug, a.Title, a.Description, a.Type, a.Instructions, a.Prompt, questions, a.Model,
		nullFloat(a.Temperature), tools, a.MaxIterations, a.TimeoutSeconds, a.MultitaskStrategy, a.Visibility,
		a.Source, httpTools, mcpServers, string(a.OutputSchema), fallbacks}, nil
}

// AgentCreate inserts params.Agent with Version 1. ECONFLICT when the slug
// is taken in the workspace, ENOTFOUND when the workspace does not exist.
func (s *Store) AgentCreate(ctx context.Context, params *tessera.AgentCreateParams) (*tessera.Agent, error) {
	var a *tessera.Agent
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		a, err = insertAgent(ctx, tx, params.Agent, params.Now)
		if err == nil {
			err = insertVersion(ctx, tx, nil, a, params.Actor, params.RollbackFrom, params.Now)
		}
		return err
	})
	return a, wrap("agent create", err)
}

func insertAgent(ctx context.Context, q querier, a *tessera.Agent, now time.Time) (*tessera.Agent, error) {
	if now.IsZero() {
		return nil, errNoNow
	}
	def, err := agentDef(a)
	if err != nil {
		return nil, err
	}
	args := slices.Concat([]any{a.WorkspaceID}, def, []any{micros(now), micros(now)})
	row := q.QueryRowContext(ctx, `INSERT INTO agents (workspace_id, `+agentDefColumns+`, version, created_at, updated_at)
		VALUES (?, `+agentDefPlaceholders+`, 1, ?, ?) RETURNING `+agentColumns, args...)
	created, err := scanAgent(row)
	return created, agentWriteError(err, a)
}

func agentWriteError(err error, a *tessera.Agent) error {
	if isUnique(err) {
		return tessera.Errorf(tessera.ECONFLICT, "an agent with slug %q already exists", a.Slug)
	}
	return noWorkspace(err, a.WorkspaceID)
}

// AgentGetByID returns ENOTFOUND when missing or in another workspace.
func (s *Store) AgentGetByID(ctx context.Context, params *tessera.AgentGetParams) (*tessera.Agent, error) {
	a, err := getAgent(ctx, s.db, "id = ?", params.WorkspaceID, params.ID)
	return a, wrap("agent get", err)
}

// AgentGetBySlug returns ENOTFOUND when missing or in another workspace.
func (s *Store) AgentGetBySlug(ctx context.Context, workspaceID int64, slug string) (*tessera.Agent, error) {
	a, err := getAgent(ctx, s.db, "slug = ?", workspaceID, slug)
	return a, wrap("agent get", err)
}

func getAgent(ctx context.Context, q querier, cond string, workspaceID int64, arg any) (*tessera.Agent, error) {
	row := q.QueryRowContext(ctx, `SELECT `+agentColumns+` FROM agents WHERE workspace_id = ? AND `+cond, workspaceID, arg)
	a, err := scanAgent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "agent not found")
	}
	return a, err
}

// AgentList returns one page of a workspace's agents ordered by id and the
// total matching count. A Limit of zero or less returns every agent.
func (s *Store) AgentList(ctx context.Context, params *tessera.AgentListParams) ([]*tessera.Agent, int, error) {
	if params.WorkspaceID == 0 {
		return nil, 0, wrap("agent list", errNoWorkspace)
	}
	var w where
	w.add("workspace_id = ?", params.WorkspaceID)
	if params.Type != "" {
		w.add("type = ?", params.Type)
	}
	if params.Query != "" {
		title, arg := contains("title", params.Query)
		desc, _ := contains("description", params.Query)
		slug, _ := contains("slug", params.Query)
		w.add("("+title+" OR "+desc+" OR "+slug+")", arg, arg, arg)
	}
	list, total, err := listPage(ctx, s, listQuery{table: "agents", columns: agentColumns, where: w,
		limit: params.Limit, offset: params.Offset, desc: params.Desc}, scanAgent)
	return list, total, wrap("agent list", err)
}

// AgentUpdate replaces the definition fields of the agent, increments
// Version and sets UpdatedAt. ENOTFOUND when missing or in another
// workspace; ECONFLICT when the slug is taken.
func (s *Store) AgentUpdate(ctx context.Context, params *tessera.AgentUpdateParams) (*tessera.Agent, error) {
	var a *tessera.Agent
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := getAgent(ctx, tx, "id = ?", params.Agent.WorkspaceID, params.Agent.ID)
		if err != nil {
			return err
		}
		a, err = updateAgent(ctx, tx, params.Agent, params.Now, false)
		if err == nil {
			err = insertVersion(ctx, tx, old, a, params.Actor, params.RollbackFrom, params.Now)
		}
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "agent %d not found", params.Agent.ID)
	}
	return a, wrap("agent update", err)
}

// insertVersion records the version a write of an agent published: its
// snapshot and what changed from old (nil for a new agent).
func insertVersion(ctx context.Context, q querier, old, a *tessera.Agent, actor string, rollbackFrom *int, now time.Time) error {
	snapshot, summary, err := tessera.VersionRecord(old, a)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `INSERT INTO agent_versions
		(agent_id, version, workspace_id, snapshot, published_by, rollback_from, change_summary, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Version, a.WorkspaceID, string(snapshot), actor,
		nullIntOf(rollbackFrom), summary, micros(now))
	return err
}

func nullIntOf(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// AgentVersionList returns one page of an agent's versions, newest first.
func (s *Store) AgentVersionList(ctx context.Context, params *tessera.AgentVersionListParams) ([]*tessera.AgentVersion, int, error) {
	var list []*tessera.AgentVersion
	var total int
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		if _, err := getAgent(ctx, tx, "id = ?", params.WorkspaceID, params.AgentID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM agent_versions WHERE agent_id = ?`, params.AgentID).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+versionColumns+` FROM agent_versions WHERE agent_id = ?
			ORDER BY version DESC LIMIT ? OFFSET ?`, params.AgentID, max(params.Limit, 1), max(params.Offset, 0))
		if err != nil {
			return err
		}
		list, err = collect(rows, scanVersion)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "agent %d not found", params.AgentID)
	}
	return list, total, wrap("agent version list", err)
}

// AgentVersionGet returns one version of an agent.
func (s *Store) AgentVersionGet(ctx context.Context, params *tessera.AgentVersionGetParams) (*tessera.AgentVersion, error) {
	v, err := scanVersion(s.db.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM agent_versions
		WHERE agent_id = ? AND version = ? AND workspace_id = ?`, params.AgentID, params.Version, params.WorkspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "version %d of agent %d not found", params.Version, params.AgentID)
	}
	return v, wrap("agent version get", err)
}

const versionColumns = "agent_id, version, snapshot, published_by, rollback_from, change_summary, created_at"

func scanVersion(row scanner) (*tessera.AgentVersion, error) {
	var v tessera.AgentVersion
	var snapshot string
	var rollback sql.NullInt64
	var created int64
	if err := row.Scan(&v.AgentID, &v.Version, &snapshot, &v.PublishedBy, &rollback, &v.ChangeSummary, &created); err != nil {
		return nil, err
	}
	if err := decodeJSON(snapshot, &v.Snapshot); err != nil {
		return nil, err
	}
	if rollback.Valid {
		n := int(rollback.Int64)
		v.RollbackFrom = &n
	}
	v.CreatedAt = fromMicros(created)
	return &v, nil
}

// updateAgent writes a's definition over the row a.ID of a.WorkspaceID.
// With onlyChanged it writes nothing, and returns sql.ErrNoRows, when no
// definition field differs.
func updateAgent(ctx context.Context, q querier, a *tessera.Agent, now time.Time, onlyChanged bool) (*tessera.Agent, error) {
	if now.IsZero() {
		return nil, errNoNow
	}
	def, err := agentDef(a)
	if err != nil {
		return nil, err
	}
	query := `UPDATE agents SET (` + agentDefColumns + `) = (` + agentDefPlaceholders + `),
		version = version + 1, updated_at = ? WHERE id = ? AND workspace_id = ?`
	args := slices.Concat(def, []any{micros(now), a.ID, a.WorkspaceID})
	if onlyChanged {
		// IS NOT compares NULLs as values: a temperature going from nil to
		// 0 is a change.
		query += ` AND (` + agentDefColumns + `) IS NOT (` + agentDefPlaceholders + `)`
		args = slices.Concat(args, def)
	}
	updated, err := scanAgent(q.QueryRowContext(ctx, query+` RETURNING `+agentColumns, args...))
	return updated, agentWriteError(err, a)
}

// AgentDelete deletes an agent; its executions are kept. ENOTFOUND when
// missing or in another workspace.
func (s *Store) AgentDelete(ctx context.Context, params *tessera.AgentGetParams) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM agents WHERE id = ? AND workspace_id = ?`, params.ID, params.WorkspaceID)
	return wrap("agent delete", oneRow(res, err, "agent %d not found", params.ID))
}

// AgentUpsertBySlug creates the agent or replaces the definition of the
// workspace's agent with its slug, writing (and bumping Version) only when
// a field changed. It reports whether it wrote.
func (s *Store) AgentUpsertBySlug(ctx context.Context, params *tessera.AgentCreateParams) (*tessera.Agent, bool, error) {
	var a *tessera.Agent
	var written bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		agent := *params.Agent
		err := tx.QueryRowContext(ctx, `SELECT id FROM agents WHERE workspace_id = ? AND slug = ?`,
			agent.WorkspaceID, agent.Slug).Scan(&agent.ID)
		if errors.Is(err, sql.ErrNoRows) {
			a, err = insertAgent(ctx, tx, &agent, params.Now)
			if err == nil {
				err = insertVersion(ctx, tx, nil, a, params.Actor, nil, params.Now)
			}
			written = err == nil
			return err
		}
		if err != nil {
			return err
		}
		old, err := getAgent(ctx, tx, "id = ?", agent.WorkspaceID, agent.ID)
		if err != nil {
			return err
		}
		a, err = updateAgent(ctx, tx, &agent, params.Now, true)
		if errors.Is(err, sql.ErrNoRows) {
			a, err = getAgent(ctx, tx, "id = ?", agent.WorkspaceID, agent.ID)
			return err
		}
		if err == nil {
			err = insertVersion(ctx, tx, old, a, params.Actor, nil, params.Now)
		}
		written = err == nil
		return err
	})
	return a, written, wrap("agent upsert", err)
}

func scanAgent(row scanner) (*tessera.Agent, error) {
	var a tessera.Agent
	var questions, tools, httpTools, mcpServers, outputSchema, fallbacks string
	var temperature sql.NullFloat64
	var created, updated int64
	err := row.Scan(&a.ID, &a.WorkspaceID, &a.Slug, &a.Title, &a.Description, &a.Type, &a.Instructions, &a.Prompt,
		&questions, &a.Model, &temperature, &tools, &a.MaxIterations, &a.TimeoutSeconds, &a.MultitaskStrategy,
		&a.Visibility, &a.Source, &httpTools, &mcpServers, &outputSchema, &fallbacks,
		&a.Version, &created, &updated)
	if err != nil {
		return nil, err
	}
	if err := decodeJSON(questions, &a.Questions); err != nil {
		return nil, err
	}
	if err := decodeJSON(tools, &a.Tools); err != nil {
		return nil, err
	}
	if err := decodeJSON(httpTools, &a.HTTPTools); err != nil {
		return nil, err
	}
	if err := decodeJSON(mcpServers, &a.MCPServers); err != nil {
		return nil, err
	}
	if err := decodeJSON(fallbacks, &a.FallbackModels); err != nil {
		return nil, err
	}
	if outputSchema != "" {
		a.OutputSchema = json.RawMessage(outputSchema)
	}
	a.Temperature = floatPtr(temperature)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &a, nil
}
