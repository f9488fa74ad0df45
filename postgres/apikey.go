package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tessera-run/tessera"
)

// keyColumns read a key with its grants, in grant order, in one statement
// (authentication reads a key on every request).
const keyColumns = `k.id, k.name, k.prefix, k.hash, k.created_at, k.last_used_at,
	ARRAY(SELECT g.workspace_id FROM api_key_workspaces AS g WHERE g.key_id = k.id ORDER BY g.position)`

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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO api_keys (name, hash, prefix, created_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, params.Name, params.Hash, params.Prefix, ts(params.Now)).Scan(&id)
		if isUnique(err) {
			return tessera.Errorf(tessera.ECONFLICT, "an API key with this token already exists")
		}
		if err != nil {
			return err
		}
		if err := grant(ctx, tx, id, params.WorkspaceIDs); err != nil {
			return err
		}
		key, err = getKey(ctx, tx, "k.id = $1", id)
		return err
	})
	if err != nil {
		return nil, wrap("api key create", err)
	}
	return key, nil
}

// grant inserts the grants one by one, so that the first bad one decides
// the error, as in the SQLite store.
func grant(ctx context.Context, tx pgx.Tx, keyID int64, workspaceIDs []int64) error {
	for i, ws := range workspaceIDs {
		_, err := tx.Exec(ctx, `INSERT INTO api_key_workspaces (key_id, workspace_id, position)
			VALUES ($1, $2, $3)`, keyID, ws, i)
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
	key, err := getKey(ctx, s.pool, "k.hash = $1 AND k.revoked_at IS NULL", hash)
	if err != nil {
		return nil, wrap("api key get", err)
	}
	return key, nil
}

func getKey(ctx context.Context, q querier, cond string, arg any) (*tessera.APIKey, error) {
	key, err := scanKey(q.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys AS k WHERE `+cond, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "API key not found")
	}
	return key, err
}

// APIKeyList returns non-revoked keys ordered by id, only those granted
// params.WorkspaceID when it is non-zero.
func (s *Store) APIKeyList(ctx context.Context, params *tessera.APIKeyListParams) ([]*tessera.APIKey, error) {
	var w where
	w.add("k.revoked_at IS NULL")
	if params.WorkspaceID != 0 {
		w.add("k.id IN (SELECT key_id FROM api_key_workspaces WHERE workspace_id = " + w.arg(params.WorkspaceID) + ")")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys AS k`+w.String()+` ORDER BY k.id`, w.args...)
	if err != nil {
		return nil, wrap("api key list", err)
	}
	keys, err := collect(rows, scanKey)
	if err != nil {
		return nil, wrap("api key list", err)
	}
	return keys, nil
}

// APIKeyRevoke revokes a key. ENOTFOUND when it does not exist, is already
// revoked, or (WorkspaceID non-zero) is not granted that workspace.
func (s *Store) APIKeyRevoke(ctx context.Context, params *tessera.APIKeyRevokeParams) error {
	if params.Now.IsZero() {
		return wrap("api key revoke", errNoNow)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = $1
		WHERE id = $2 AND revoked_at IS NULL
		AND ($3::bigint = 0 OR id IN (SELECT key_id FROM api_key_workspaces WHERE workspace_id = $3))`,
		ts(params.Now), params.ID, params.WorkspaceID)
	return wrap("api key revoke", oneRow(tag, err, "API key %d not found", params.ID))
}

// APIKeyCount counts non-revoked keys.
func (s *Store) APIKeyCount(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL`).Scan(&n)
	if err != nil {
		return 0, wrap("api key count", err)
	}
	return n, nil
}

// APIKeyTouch records that a key was used at now. ENOTFOUND when the key
// does not exist.
func (s *Store) APIKeyTouch(ctx context.Context, id int64, now time.Time) error {
	if now.IsZero() {
		return wrap("api key touch", errNoNow)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, ts(now), id)
	return wrap("api key touch", oneRow(tag, err, "API key %d not found", id))
}

// oneRow turns a write that matched no row into ENOTFOUND.
func oneRow(tag pgconn.CommandTag, err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return tessera.Errorf(tessera.ENOTFOUND, format, args...)
	}
	return nil
}

func scanKey(row pgx.Row) (*tessera.APIKey, error) {
	var k tessera.APIKey
	var created time.Time
	var lastUsed *time.Time
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &k.Hash, &created, &lastUsed, &k.WorkspaceIDs); err != nil {
		return nil, err
	}
	if k.WorkspaceIDs == nil {
		k.WorkspaceIDs = []int64{}
	}
	k.CreatedAt, k.LastUsedAt = utc(created), utcPtr(lastUsed)
	return &k, nil
}
