package storetest

import (
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

func (f *fixture) createKey(name string, workspaceIDs ...int64) *tessera.APIKey {
	f.t.Helper()
	k, err := f.store.APIKeyCreate(f.ctx, f.keyParams(name, workspaceIDs...))
	ok(f.t, err)
	return k
}

func (f *fixture) keyParams(name string, workspaceIDs ...int64) *tessera.APIKeyCreateParams {
	token, hash := tessera.NewAPIToken()
	return &tessera.APIKeyCreateParams{
		Name: name, Hash: hash, Prefix: tessera.TokenPrefix(token), WorkspaceIDs: workspaceIDs, Now: f.now,
	}
}

func (f *fixture) keyCount() int {
	f.t.Helper()
	n, err := f.store.APIKeyCount(f.ctx)
	ok(f.t, err)
	return n
}

func testAPIKeys(t *testing.T, newStore NewStore) {
	t.Run("CreateAndGetByHash", func(t *testing.T) {
		f := setup(t, newStore)
		params := f.keyParams("ci", f.other.ID, f.ws.ID)
		k, err := f.store.APIKeyCreate(f.ctx, params)
		ok(t, err)
		if k.ID == 0 {
			t.Fatal("ID = 0")
		}
		equal(t, "Name", k.Name, "ci")
		equal(t, "Prefix", k.Prefix, params.Prefix)
		equal(t, "Hash", k.Hash, params.Hash)
		equal(t, "WorkspaceIDs (in grant order)", k.WorkspaceIDs, []int64{f.other.ID, f.ws.ID})
		equal(t, "DefaultWorkspaceID", k.DefaultWorkspaceID(), f.other.ID)
		sameTime(t, "CreatedAt", k.CreatedAt, f.now)
		if k.LastUsedAt != nil {
			t.Fatalf("LastUsedAt = %v, want nil", k.LastUsedAt)
		}

		got, err := f.store.APIKeyGetByHash(f.ctx, params.Hash)
		ok(t, err)
		sameJSON(t, "by hash", got, k)
		equal(t, "Hash", got.Hash, params.Hash)

		_, err = f.store.APIKeyGetByHash(f.ctx, tessera.HashAPIToken("tsk_unknown"))
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("HashConflict", func(t *testing.T) {
		f := setup(t, newStore)
		params := f.keyParams("a", f.ws.ID)
		_, err := f.store.APIKeyCreate(f.ctx, params)
		ok(t, err)
		_, err = f.store.APIKeyCreate(f.ctx, params)
		wantCode(t, err, tessera.ECONFLICT)
	})

	t.Run("GrantToMissingWorkspace", func(t *testing.T) {
		f := setup(t, newStore)
		_, err := f.store.APIKeyCreate(f.ctx, f.keyParams("bad", f.ws.ID, 999))
		wantCode(t, err, tessera.ENOTFOUND)
		equal(t, "count after a failed create", f.keyCount(), 0)
	})

	t.Run("GrantInvalid", func(t *testing.T) {
		f := setup(t, newStore)
		_, err := f.store.APIKeyCreate(f.ctx, f.keyParams("none"))
		wantCode(t, err, tessera.EINVALID)
		_, err = f.store.APIKeyCreate(f.ctx, f.keyParams("twice", f.ws.ID, f.ws.ID))
		wantCode(t, err, tessera.EINVALID)
		equal(t, "count", f.keyCount(), 0)
	})

	t.Run("List", func(t *testing.T) {
		f := setup(t, newStore)
		k1 := f.createKey("one", f.ws.ID)
		k2 := f.createKey("two", f.other.ID)
		k3 := f.createKey("three", f.other.ID, f.ws.ID)

		all, err := f.store.APIKeyList(f.ctx, &tessera.APIKeyListParams{})
		ok(t, err)
		sameJSON(t, "all", all, []*tessera.APIKey{k1, k2, k3})

		// A filtered key still lists all of its workspaces.
		other, err := f.store.APIKeyList(f.ctx, &tessera.APIKeyListParams{WorkspaceID: f.other.ID})
		ok(t, err)
		sameJSON(t, "granted other", other, []*tessera.APIKey{k2, k3})

		ok(t, f.store.APIKeyRevoke(f.ctx, &tessera.APIKeyRevokeParams{ID: k1.ID, Now: f.now}))
		all, err = f.store.APIKeyList(f.ctx, &tessera.APIKeyListParams{})
		ok(t, err)
		sameJSON(t, "after revoke", all, []*tessera.APIKey{k2, k3})
	})

	t.Run("Revoke", func(t *testing.T) {
		f := setup(t, newStore)
		params := f.keyParams("k", f.ws.ID)
		k, err := f.store.APIKeyCreate(f.ctx, params)
		ok(t, err)
		f.createKey("kept", f.ws.ID)
		equal(t, "count", f.keyCount(), 2)

		err = f.store.APIKeyRevoke(f.ctx, &tessera.APIKeyRevokeParams{ID: k.ID, WorkspaceID: f.other.ID, Now: f.now})
		wantCode(t, err, tessera.ENOTFOUND)
		equal(t, "count after revoke from a workspace not granted", f.keyCount(), 2)

		ok(t, f.store.APIKeyRevoke(f.ctx, &tessera.APIKeyRevokeParams{ID: k.ID, WorkspaceID: f.ws.ID, Now: f.now}))
		equal(t, "count after revoke", f.keyCount(), 1)
		_, err = f.store.APIKeyGetByHash(f.ctx, params.Hash)
		wantCode(t, err, tessera.ENOTFOUND)

		err = f.store.APIKeyRevoke(f.ctx, &tessera.APIKeyRevokeParams{ID: k.ID, Now: f.now})
		wantCode(t, err, tessera.ENOTFOUND)
		err = f.store.APIKeyRevoke(f.ctx, &tessera.APIKeyRevokeParams{ID: 999, Now: f.now})
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("Touch", func(t *testing.T) {
		f := setup(t, newStore)
		params := f.keyParams("k", f.ws.ID)
		k, err := f.store.APIKeyCreate(f.ctx, params)
		ok(t, err)

		used := f.at(time.Minute)
		ok(t, f.store.APIKeyTouch(f.ctx, k.ID, used))
		got, err := f.store.APIKeyGetByHash(f.ctx, params.Hash)
		ok(t, err)
		sameTimePtr(t, "LastUsedAt", got.LastUsedAt, used)

		wantCode(t, f.store.APIKeyTouch(f.ctx, 999, used), tessera.ENOTFOUND)
	})
}
