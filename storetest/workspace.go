package storetest

import (
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

func testWorkspaces(t *testing.T, newStore NewStore) {
	t.Run("CreateWithExplicitID", func(t *testing.T) {
		f := setup(t, newStore)
		equal(t, "ID", f.ws.ID, tessera.DefaultWorkspaceID)
		equal(t, "Name", f.ws.Name, "Default")
		sameTime(t, "CreatedAt", f.ws.CreatedAt, f.now)
		sameTime(t, "UpdatedAt", f.ws.UpdatedAt, f.now)

		_, err := f.store.WorkspaceCreate(f.ctx, &tessera.WorkspaceCreateParams{ID: f.ws.ID, Name: "again", Now: f.now})
		wantCode(t, err, tessera.ECONFLICT)

		w := f.workspace(42, "Forty-two")
		equal(t, "explicit ID", w.ID, 42)
		if next := f.workspace(0, "next"); next.ID <= 42 {
			t.Fatalf("ID after an explicit 42 = %d, want above 42", next.ID)
		}
	})

	t.Run("TimesAreUTCMicroseconds", func(t *testing.T) {
		f := setup(t, newStore)
		got, err := f.store.WorkspaceGetByID(f.ctx, f.ws.ID)
		ok(t, err)
		want := time.Date(2026, 3, 14, 14, 9, 26, 535_897_000, time.UTC)
		if got.CreatedAt != want {
			t.Fatalf("CreatedAt = %#v, want exactly %#v", got.CreatedAt, want)
		}
	})

	t.Run("Get", func(t *testing.T) {
		f := setup(t, newStore)
		got, err := f.store.WorkspaceGetByID(f.ctx, f.other.ID)
		ok(t, err)
		sameJSON(t, "workspace", got, f.other)

		_, err = f.store.WorkspaceGetByID(f.ctx, 999)
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("List", func(t *testing.T) {
		f := setup(t, newStore)
		third := f.workspace(0, "Third")

		all, err := f.store.WorkspaceList(f.ctx, &tessera.WorkspaceListParams{})
		ok(t, err)
		sameJSON(t, "all", all, []*tessera.Workspace{f.ws, f.other, third})

		some, err := f.store.WorkspaceList(f.ctx, &tessera.WorkspaceListParams{IDs: []int64{third.ID, f.ws.ID, 999}})
		ok(t, err)
		sameJSON(t, "filtered", some, []*tessera.Workspace{f.ws, third})

		none, err := f.store.WorkspaceList(f.ctx, &tessera.WorkspaceListParams{IDs: []int64{}})
		ok(t, err)
		equal(t, "len(IDs: empty)", len(none), 0)
	})

	t.Run("NowIsRequired", func(t *testing.T) {
		f := setup(t, newStore)
		_, err := f.store.WorkspaceCreate(f.ctx, &tessera.WorkspaceCreateParams{Name: "no clock"})
		wantCode(t, err, tessera.EINTERNAL)
	})
}
