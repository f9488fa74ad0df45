package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/tessera-run/tessera"
)

const workspaceColumns = "id, name, created_at, updated_at"

// WorkspaceCreate inserts a workspace, with params.ID when non-zero.
// ECONFLICT when that id exists.
func (s *Store) WorkspaceCreate(ctx context.Context, params *tessera.WorkspaceCreateParams) (*tessera.Workspace, error) {
	if params.Now.IsZero() {
		return nil, wrap("workspace create", errNoNow)
	}
	var id any // NULL lets AUTOINCREMENT choose
	if params.ID != 0 {
		id = params.ID
	}
	now := micros(params.Now)
	row := s.db.QueryRowContext(ctx, `INSERT INTO workspaces (id, name, created_at, updated_at)
		VALUES (?, ?, ?, ?) RETURNING `+workspaceColumns, id, params.Name, now, now)
	w, err := scanWorkspace(row)
	if isUnique(err) {
		return nil, tessera.Errorf(tessera.ECONFLICT, "workspace %d already exists", params.ID)
	}
	return w, wrap("workspace create", err)
}

// WorkspaceGetByID returns ENOTFOUND when the workspace does not exist.
func (s *Store) WorkspaceGetByID(ctx context.Context, id int64) (*tessera.Workspace, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = ?`, id)
	w, err := scanWorkspace(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "workspace %d not found", id)
	}
	return w, wrap("workspace get", err)
}

// WorkspaceList returns workspaces ordered by id, only those of params.IDs
// when it is non-nil (so an empty non-nil IDs lists none).
func (s *Store) WorkspaceList(ctx context.Context, params *tessera.WorkspaceListParams) ([]*tessera.Workspace, error) {
	var w where
	if params.IDs != nil {
		cond, args := in("id", params.IDs)
		w.add(cond, args...)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+workspaceColumns+` FROM workspaces`+w.String()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, wrap("workspace list", err)
	}
	list, err := collect(rows, scanWorkspace)
	return list, wrap("workspace list", err)
}

func scanWorkspace(row scanner) (*tessera.Workspace, error) {
	var w tessera.Workspace
	var created, updated int64
	if err := row.Scan(&w.ID, &w.Name, &created, &updated); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &w, nil
}
