package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/tessera-run/tessera"
)

const keyColumns = "id, name, prefix, hash, created_at, last_used_at"

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// APIKeyCreate inserts a key and its workspace grants in order. ENOTFOUND
// when a workspace does not exist, ECONFLICT when the hash is taken,
// EINVALID when no workspace, or one twice, is granted.
func (s *Store) APIKeyCreate(ctx context.Context, params *tessera.APIKeyCreateParams) (*tessera.APIKey, error) {
	if params.Now.IsZero() {
		return nil, wrap("api key create", errNoNow)
	}
	if len(params.WorkspaceIDs) == 0 {
		return nil, tessera.Errorf(tessera.EINVALID, "an API key needs at least one workspace")
	}
	var key *tessera.APIKey
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO api_keys (name, hash, prefix, created_at)
			VALUES (?, ?, ?, ?) RETURNING id`, params.Name, params.Hash, params.Prefix, micros(params.Now)).Scan(&id)
		if isUnique(err) {
			return tessera.Errorf(tessera.ECONFLICT, "an API key with this token already exists")
		}
		if err != nil {
			return err
		}
		if err := grant(ctx, tx, id, params.WorkspaceIDs); err != nil {
			return err
		}
		key, err = getKey(ctx, tx, "id = ?", id)
		return err
	})
	return key, wrap("api key create", err)
}

func grant(ctx context.Context, tx *sql.Tx, keyID int64, workspaceIDs []int64) error {
	for i, ws := range workspaceIDs {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_key_workspaces (key_id, workspace_id, position)
			VALUES (?, ?, ?)`, keyID, ws, i)
		if isUnique(err) {
			return tessera.Errorf(tessera.EINVALID, "workspace %d is granted twice", ws)
		}
		if err != nil {
			return noWorkspace(err, ws)
		}
	}
	return nil
}

// APIKeyGetByHash returns the non-revoked key with this hash, or ENOTFOUND.
func (s *Store) APIKeyGetByHash(ctx context.Context, hash string) (*tessera.APIKey, error) {
	key, err := getKey(ctx, s.db, "hash = ? AND revoked_at IS NULL", hash)
	return key, wrap("api key get", err)
}

func getKey(ctx context.Context, q querier, cond string, arg any) (*tessera.APIKey, error) {
	key, err := scanKey(q.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE `+cond, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "API key not found")
	}
	if err != nil {
		return nil, err
	}
	return key, loadGrants(ctx, q, []*tessera.APIKey{key})
}

// APIKeyList returns non-revoked keys ordered by id, only those granted
// params.WorkspaceID when it is non-zero.
func (s *Store) APIKeyList(ctx context.Context, params *tessera.APIKeyListParams) ([]*tessera.APIKey, error) {
	w := where{}
	w.add("revoked_at IS NULL")
	if params.WorkspaceID != 0 {
		w.add("id IN (SELECT key_id FROM api_key_workspaces WHERE workspace_id = ?)", params.WorkspaceID)
	}
	var keys []*tessera.APIKey
	err := s.inReadTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys`+w.String()+` ORDER BY id`, w.args...)
		if err != nil {
			return err
		}
		if keys, err = collect(rows, scanKey); err != nil {
			return err
		}
		return loadGrants(ctx, tx, keys)
	})
	return keys, wrap("api key list", err)
}

// loadGrants fills the WorkspaceIDs of keys, in grant order.
func loadGrants(ctx context.Context, q querier, keys []*tessera.APIKey) error {
	byID := make(map[int64]*tessera.APIKey, len(keys))
	ids := make([]int64, len(keys))
	for i, k := range keys {
		byID[k.ID], ids[i] = k, k.ID
		k.WorkspaceIDs = []int64{}
	}
	cond, args := in("key_id", ids)
	rows, err := q.QueryContext(ctx, `SELECT key_id, workspace_id FROM api_key_workspaces
		WHERE `+cond+` ORDER BY key_id, position`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var keyID, ws int64
		if err := rows.Scan(&keyID, &ws); err != nil {
			return err
		}
		byID[keyID].WorkspaceIDs = append(byID[keyID].WorkspaceIDs, ws)
	}
	return rows.Err()
}

// APIKeyRevoke revokes a key. ENOTFOUND when it does not exist, is already
// revoked, or (WorkspaceID non-zero) is not granted that workspace.
func (s *Store) APIKeyRevoke(ctx context.Context, params *tessera.APIKeyRevokeParams) error {
	if params.Now.IsZero() {
		return wrap("api key revoke", errNoNow)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ?
		WHERE id = ? AND revoked_at IS NULL
		AND (? = 0 OR id IN (SELECT key_id FROM api_key_workspaces WHERE workspace_id = ?))`,
		micros(params.Now), params.ID, params.WorkspaceID, params.WorkspaceID)
	return wrap("api key revoke", oneRow(res, err, "API key %d not found", params.ID))
}

// APIKeyCount counts non-revoked keys.
func (s *Store) APIKeyCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL`).Scan(&n)
	return n, wrap("api key count", err)
}

// APIKeyTouch records that a key was used at now. ENOTFOUND when the key
// does not exist.
func (s *Store) APIKeyTouch(ctx context.Context, id int64, now time.Time) error {
	if now.IsZero() {
		return wrap("api key touch", errNoNow)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, micros(now), id)
	return wrap("api key touch", oneRow(res, err, "API key %d not found", id))
}

// oneRow turns an update that matched no row into ENOTFOUND.
func oneRow(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return tessera.Errorf(tessera.ENOTFOUND, format, args...)
	}
	return nil
}

func scanKey(row scanner) (*tessera.APIKey, error) {
	var k tessera.APIKey
	var created int64
	var lastUsed sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &created, &lastUsed); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt = fromMicros(created), timePtr(lastUsed)
	return &k, nil
}
