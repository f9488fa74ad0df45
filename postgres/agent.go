package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera"
)

// agentDefColumns are the definition fields: what AgentUpdate replaces and
// AgentUpsertBySlug compares. They match the values of agentDef.
const agentDefColumns = `slug, title, description, type, instructions, prompt, questions, model,
	temperature, tools, max_iterations, timeout_seconds, multitask_strategy, visibility, source,
	http_tools, mcp_servers, output_schema, fallback_models`

const agentColumns = "id, workspace_id, " + agentDefColumns + ", version, created_at, updated_at"

// agentDefCount is the number of definition columns.
var agentDefCount = strings.Count(agentDefColumns, ",") + 1

// placeholders returns "$from, …, $(from+n-1)".
func placeholders(from, n int) string {
	p := make([]string, n)
	for i := range p {
		p[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(p, ", ")
}

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
		a.Temperature, tools, a.MaxIterations, a.TimeoutSeconds, a.MultitaskStrategy, a.Visibility,
		a.Source, httpTools, mcpServers, string(a.OutputSchema), fallbacks}, nil
}

// insertAgentSQL inserts a version-1 agent: $1 the workspace, then the
// definition, then the time.
var insertAgentSQL = `INSERT INTO agents (workspace_id, ` + agentDefColumns + `, version, created_at, updated_at)
	VALUES ($1, ` + placeholders(2, agentDefCount) + `, 1, $` + strconv.Itoa(agentDefCount+2) + `, $` + strconv.Itoa(agentDefCount+2) + `)`

// AgentCreate inserts params.Agent with Version 1. ECONFLICT when the slug
// is taken in the workspace, ENOTFOUND when the workspace does not exist.
func (s *Store) AgentCreate(ctx context.Context, params *tessera.AgentCreateParams) (*tessera.Agent, error) {
	var a *tessera.Agent
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		a, err = insertAgent(ctx, tx, params.Agent, params.Now, false)
		if err == nil {
			err = insertVersion(ctx, tx, nil, a, params.Actor, params.RollbackFrom, params.Now)
		}
		return err
	})
	if err != nil {
		return nil, wrap("agent create", err)
	}
	return a, nil
}

// insertAgent inserts a. With ifAbsent a taken slug inserts nothing and
// returns pgx.ErrNoRows instead of ECONFLICT.
func insertAgent(ctx context.Context, q querier, a *tessera.Agent, now time.Time, ifAbsent bool) (*tessera.Agent, error) {
	if now.IsZero() {
		return nil, errNoNow
	}
	def, err := agentDef(a)
	if err != nil {
		return nil, err
	}
	query := insertAgentSQL
	if ifAbsent {
		query += ` ON CONFLICT (workspace_id, slug) DO NOTHING`
	}
	args := slices.Concat([]any{a.WorkspaceID}, def, []any{ts(now)})
	created, err := scanAgent(q.QueryRow(ctx, query+` RETURNING `+agentColumns, args...))
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
	a, err := getAgent(ctx, s.pool, "id = $2", params.WorkspaceID, params.ID)
	if err != nil {
		return nil, wrap("agent get", err)
	}
	return a, nil
}

// AgentGetBySlug returns ENOTFOUND when missing or in another workspace.
func (s *Store) AgentGetBySlug(ctx context.Context, workspaceID int64, slug string) (*tessera.Agent, error) {
	a, err := getAgent(ctx, s.pool, "slug = $2", workspaceID, slug)
	if err != nil {
		return nil, wrap("agent get", err)
	}
	return a, nil
}

// getAgent reads the agent of workspaceID ($1) matching cond on arg ($2).
func getAgent(ctx context.Context, q querier, cond string, workspaceID int64, arg any) (*tessera.Agent, error) {
	row := q.QueryRow(ctx, `SELECT `+agentColumns+` FROM agents WHERE workspace_id = $1 AND `+cond, workspaceID, arg)
	a, err := scanAgent(row)
	if errors.Is(err, pgx.ErrNoRows) {
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
	w.add("workspace_id = " + w.arg(params.WorkspaceID))
	if params.Type != "" {
		w.add("type = " + w.arg(params.Type))
	}
	if params.Query != "" {
		p := w.arg(containsArg(params.Query))
		w.add("(" + ilike("title", p) + " OR " + ilike("description", p) + " OR " + ilike("slug", p) + ")")
	}
	list, total, err := listPage(ctx, s, listQuery{table: "agents", columns: agentColumns, where: w,
		limit: params.Limit, offset: params.Offset, desc: params.Desc}, scanAgent)
	if err != nil {
		return nil, 0, wrap("agent list", err)
	}
	return list, total, nil
}

// AgentUpdate replaces the definition fields of the agent, increments
// Version and sets UpdatedAt. ENOTFOUND when missing or in another
// workspace; ECONFLICT when the slug is taken.
func (s *Store) AgentUpdate(ctx context.Context, params *tessera.AgentUpdateParams) (*tessera.Agent, error) {
	var a *tessera.Agent
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// FOR UPDATE: the version's change summary compares with the row
		// this update replaces, not one another node replaced meanwhile.
		old, err := getAgent(ctx, tx, "id = $2 FOR UPDATE", params.Agent.WorkspaceID, params.Agent.ID)
		if err != nil {
			return err
		}
		a, err = updateAgent(ctx, tx, params.Agent, params.Now, false)
		if err == nil {
			err = insertVersion(ctx, tx, old, a, params.Actor, params.RollbackFrom, params.Now)
		}
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "agent %d not found", params.Agent.ID)
	}
	if err != nil {
		return nil, wrap("agent update", err)
	}
	return a, nil
}

// updateAgent writes a's definition over the row a.ID of a.WorkspaceID.
// With onlyChanged it writes nothing, and returns pgx.ErrNoRows, when no
// definition field differs.
func updateAgent(ctx context.Context, q querier, a *tessera.Agent, now time.Time, onlyChanged bool) (*tessera.Agent, error) {
	if now.IsZero() {
		return nil, errNoNow
	}
	def, err := agentDef(a)
	if err != nil {
		return nil, err
	}
	n := agentDefCount
	defPlaceholders := placeholders(1, n)
	query := `UPDATE agents SET (` + agentDefColumns + `) = (` + defPlaceholders + `),
		version = version + 1, updated_at = $` + strconv.Itoa(n+1) + `
		WHERE id = $` + strconv.Itoa(n+2) + ` AND workspace_id = $` + strconv.Itoa(n+3)
	if onlyChanged {
		// IS DISTINCT FROM compares NULLs as values (a temperature going
		// from nil to 0 is a change) and jsonb by meaning.
		query += ` AND (` + agentDefColumns + `) IS DISTINCT FROM (` + defPlaceholders + `)`
	}
	args := slices.Concat(def, []any{ts(now), a.ID, a.WorkspaceID})
	updated, err := scanAgent(q.QueryRow(ctx, query+` RETURNING `+agentColumns, args...))
	return updated, agentWriteError(err, a)
}

// AgentDelete deletes an agent; its executions are kept. ENOTFOUND when
// missing or in another workspace.
func (s *Store) AgentDelete(ctx context.Context, params *tessera.AgentGetParams) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM agents WHERE id = $1 AND workspace_id = $2`, params.ID, params.WorkspaceID)
	return wrap("agent delete", oneRow(tag, err, "agent %d not found", params.ID))
}

// upsertAttempts bounds how often AgentUpsertBySlug goes round when its
// slug is created or deleted concurrently between its statements.
const upsertAttempts = 3

// AgentUpsertBySlug creates the agent or replaces the definition of the
// workspace's agent with its slug, writing (and bumping Version) only when
// a field changed. It reports whether it wrote.
//
// Several nodes loading the same config at once must all succeed, as the
// single writer of SQLite made them: the existing row is locked while it is
// compared and updated, and an insert that finds the slug taken meanwhile
// (ON CONFLICT DO NOTHING waits for the other insert to commit) goes on to
// the update instead of failing.
func (s *Store) AgentUpsertBySlug(ctx context.Context, params *tessera.AgentCreateParams) (*tessera.Agent, bool, error) {
	var a *tessera.Agent
	var written bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		a, written = nil, false
		agent := *params.Agent
		for range upsertAttempts {
			err := tx.QueryRow(ctx, `SELECT id FROM agents WHERE workspace_id = $1 AND slug = $2 FOR UPDATE`,
				agent.WorkspaceID, agent.Slug).Scan(&agent.ID)
			if errors.Is(err, pgx.ErrNoRows) {
				a, err = insertAgent(ctx, tx, &agent, params.Now, true)
				if errors.Is(err, pgx.ErrNoRows) {
					continue // created meanwhile: update it
				}
				if err == nil {
					err = insertVersion(ctx, tx, nil, a, params.Actor, nil, params.Now)
				}
				written = err == nil
				return err
			}
			if err != nil {
				return err
			}
			old, err := getAgent(ctx, tx, "id = $2", agent.WorkspaceID, agent.ID)
			if err != nil {
				return err
			}
			a, err = updateAgent(ctx, tx, &agent, params.Now, true)
			if errors.Is(err, pgx.ErrNoRows) {
				a, err = getAgent(ctx, tx, "id = $2", agent.WorkspaceID, agent.ID)
				return err
			}
			if err == nil {
				err = insertVersion(ctx, tx, old, a, params.Actor, nil, params.Now)
			}
			written = err == nil
			return err
		}
		return fmt.Errorf("agent %q kept changing under the upsert", agent.Slug)
	})
	if err != nil {
		return nil, false, wrap("agent upsert", err)
	}
	return a, written, nil
}

// insertVersion records the version a write of an agent published: its
// snapshot and what changed from old (nil for a new agent).
func insertVersion(ctx context.Context, q querier, old, a *tessera.Agent, actor string, rollbackFrom *int, now time.Time) error {
	snapshot, summary, err := tessera.VersionRecord(old, a)
	if err != nil {
		return err
	}
	_, err = q.Exec(ctx, `INSERT INTO agent_versions
		(agent_id, version, workspace_id, snapshot, published_by, rollback_from, change_summary, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, a.ID, a.Version, a.WorkspaceID, string(snapshot), actor,
		rollbackFrom, summary, ts(now))
	return err
}

const versionColumns = "agent_id, version, snapshot, published_by, rollback_from, change_summary, created_at"

// AgentVersionList returns one page of an agent's versions, newest first.
func (s *Store) AgentVersionList(ctx context.Context, params *tessera.AgentVersionListParams) ([]*tessera.AgentVersion, int, error) {
	var list []*tessera.AgentVersion
	var total int
	err := s.tx(ctx, readTx, func(tx pgx.Tx) error {
		if _, err := getAgent(ctx, tx, "id = $2", params.WorkspaceID, params.AgentID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM agent_versions WHERE agent_id = $1`, params.AgentID).Scan(&total); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+versionColumns+` FROM agent_versions WHERE agent_id = $1
			ORDER BY version DESC LIMIT $2 OFFSET $3`, params.AgentID, max(params.Limit, 1), max(params.Offset, 0))
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*tessera.AgentVersion, error) { return scanVersion(r) })
		return err
	})
	if err != nil {
		return nil, 0, wrap("agent version list", err)
	}
	return list, total, nil
}

// AgentVersionGet returns one version of an agent.
func (s *Store) AgentVersionGet(ctx context.Context, params *tessera.AgentVersionGetParams) (*tessera.AgentVersion, error) {
	v, err := scanVersion(s.pool.QueryRow(ctx, `SELECT `+versionColumns+` FROM agent_versions
		WHERE agent_id = $1 AND version = $2 AND workspace_id = $3`, params.AgentID, params.Version, params.WorkspaceID))
	if errors.Is(err, pgx.ErrNoRows) {
		err = tessera.Errorf(tessera.ENOTFOUND, "version %d of agent %d not found", params.Version, params.AgentID)
	}
	if err != nil {
		return nil, wrap("agent version get", err)
	}
	return v, nil
}

func scanVersion(row pgx.Row) (*tessera.AgentVersion, error) {
	var v tessera.AgentVersion
	var snapshot []byte
	var created time.Time
	if err := row.Scan(&v.AgentID, &v.Version, &snapshot, &v.PublishedBy, &v.RollbackFrom, &v.ChangeSummary, &created); err != nil {
		return nil, err
	}
	if err := decodeJSON(snapshot, &v.Snapshot); err != nil {
		return nil, err
	}
	v.CreatedAt = utc(created)
	return &v, nil
}

func scanAgent(row pgx.Row) (*tessera.Agent, error) {
	var a tessera.Agent
	var questions, tools, httpTools, mcpServers, fallbacks []byte
	var outputSchema string
	var created, updated time.Time
	err := row.Scan(&a.ID, &a.WorkspaceID, &a.Slug, &a.Title, &a.Description, &a.Type, &a.Instructions, &a.Prompt,
		&questions, &a.Model, &a.Temperature, &tools, &a.MaxIterations, &a.TimeoutSeconds, &a.MultitaskStrategy,
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
	a.CreatedAt, a.UpdatedAt = utc(created), utc(updated)
	return &a, nil
}
