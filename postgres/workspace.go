package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tessera-run/tessera"
)

const workspaceColumns = "id, name, created_at, updated_at"

// WorkspaceCreate inserts a workspace, with params.ID when non-zero.
// ECONFLICT when that id exists.
//
// An explicit id does not move an identity sequence, so the sequence is
// then set past it, as SQLite's AUTOINCREMENT moves: the next workspace
// gets a higher id. setval cannot be made atomic with other nextval calls,
// so workspace creates take a table lock that excludes each other (and
// nothing else: foreign-key checks and reads do not conflict with it).
func (s *Store) WorkspaceCreate(ctx context.Context, params *tessera.WorkspaceCreateParams) (*tessera.Workspace, error) {
	if params.Now.IsZero() {
		return nil, wrap("workspace create", errNoNow)
	}
	now := ts(params.Now)
	var w *tessera.Workspace
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE workspaces IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var err error
		if params.ID == 0 {
			w, err = scanWorkspace(tx.QueryRow(ctx, `INSERT INTO workspaces (name, created_at, updated_at)
				VALUES ($1, $2, $2) RETURNING `+workspaceColumns, params.Name, now))
			return err
		}
		w, err = scanWorkspace(tx.QueryRow(ctx, `INSERT INTO workspaces (id, name, created_at, updated_at)
			VALUES ($1, $2, $3, $3) RETURNING `+workspaceColumns, params.ID, params.Name, now))
		if isUnique(err) {
			return tessera.Errorf(tessera.ECONFLICT, "workspace %d already exists", params.ID)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('workspaces', 'id'), GREATEST($1::bigint,
			COALESCE(pg_sequence_last_value(pg_get_serial_sequence('workspaces', 'id')::regclass), 0)))`, params.ID)
		return err
	})
	if err != nil {
		return nil, wrap("workspace create", err)
	}
	return w, nil
}

// WorkspaceGetByID returns ENOTFOUND when the workspace does not exist.
func (s *Store) WorkspaceGetByID(ctx context.Context, id int64) (*tessera.Workspace, error) {
	w, err := scanWorkspace(s.pool.QueryRow(ctx, `SELECT `+workspaceColumns+` FROM workspaces WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "workspace %d not found", id)
	}
	return w, wrap("workspace get", err)
}

// WorkspaceList returns workspaces ordered by id, only those of params.IDs
// when it is non-nil (so an empty non-nil IDs lists none).
func (s *Store) WorkspaceList(ctx context.Context, params *tessera.WorkspaceListParams) ([]*tessera.Workspace, error) {
	var w where
	if params.IDs != nil {
		w.add("id = ANY(" + w.arg(params.IDs) + "::bigint[])")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+workspaceColumns+` FROM workspaces`+w.String()+` ORDER BY id`, w.args...)
	if err != nil {
		return nil, wrap("workspace list", err)
	}
	list, err := collect(rows, scanWorkspace)
	return list, wrap("workspace list", err)
}

func scanWorkspace(row pgx.Row) (*tessera.Workspace, error) {
	var w tessera.Workspace
	var created, updated time.Time
	if err := row.Scan(&w.ID, &w.Name, &created, &updated); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = utc(created), utc(updated)
	return &w, nil
}
