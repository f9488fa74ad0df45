package httpx_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

const (
	fuzzAdmin = "admin-token"
	fuzzToken = "tsr_good-token"
)

// authStore knows one key, for workspaces 2 and 3, and workspaces 1 to 3.
type authStore struct{}

func (authStore) APIKeyGetByHash(_ context.Context, hash string) (*tessera.APIKey, error) {
	if hash != tessera.HashAPIToken(fuzzToken) {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "no key")
	}
	return &tessera.APIKey{ID: 9, Hash: hash, WorkspaceIDs: []int64{2, 3}}, nil
}

func (authStore) WorkspaceGetByID(_ context.Context, id int64) (*tessera.Workspace, error) {
	if id < 1 || id > 3 {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "no workspace")
	}
	return &tessera.Workspace{ID: id}, nil
}

func (authStore) APIKeyTouch(context.Context, int64, time.Time) error { return nil }

// FuzzAuthenticate feeds arbitrary Authorization, x-workspace-id and
// x-tenant-id headers to the authenticator and checks its answer against
// the rules written out: a bearer token (scheme in any case, spaces
// trimmed), the workspace header a positive integer (x-workspace-id before
// x-tenant-id), which the key must allow or the admin find. Every refusal
// is a typed error: EUNAUTHORIZED, EINVALID naming x-workspace-id, or
// EFORBIDDEN. The seed corpus is in testdata/fuzz/FuzzAuthenticate.
func FuzzAuthenticate(f *testing.F) {
	f.Add("Bearer "+fuzzToken, "3", "")
	f.Add("bearer  "+fuzzToken+" ", "", " 2 ")
	f.Add("Bearer "+fuzzAdmin, "+1", "")
	f.Add("Bearer "+fuzzAdmin, "4", "")
	f.Add("Basic "+fuzzToken, "", "")
	f.Add("Bearer "+fuzzToken, "1", "")
	f.Add("Bearer "+fuzzToken, "0x2", "")
	f.Add("Bearer "+fuzzToken, "99999999999999999999", "")
	a := httpx.NewAuthenticator(authStore{}, fuzzAdmin, nil)
	f.Fuzz(func(t *testing.T, authz, wsHeader, tenantHeader string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header = map[string][]string{"Authorization": {authz}, "X-Workspace-Id": {wsHeader}, "X-Tenant-Id": {tenantHeader}}
		p, err := a.Authenticate(r)
		want, wantCode := expectPrincipal(authz, wsHeader, tenantHeader)
		if got := tessera.ErrorCode(err); got != wantCode {
			t.Fatalf("Authenticate(%q, %q, %q) = %v, want kind %q", authz, wsHeader, tenantHeader, err, wantCode)
		}
		if err != nil {
			e, _ := tessera.AsError(err)
			if e.Code == tessera.EINVALID && len(e.Fields["x-workspace-id"]) == 0 {
				t.Fatalf("EINVALID without the x-workspace-id field: %+v", e)
			}
			return
		}
		if p.WorkspaceID != want.WorkspaceID || p.Admin != want.Admin {
			t.Fatalf("Authenticate(%q, %q, %q) = %+v, want %+v", authz, wsHeader, tenantHeader, p, want)
		}
	})
}

// expectPrincipal is the authentication rule, written independently.
func expectPrincipal(authz, wsHeader, tenantHeader string) (tessera.Principal, string) {
	i := strings.IndexByte(authz, ' ')
	if i < 0 || !strings.EqualFold(authz[:i], "bearer") {
		return tessera.Principal{}, tessera.EUNAUTHORIZED
	}
	var p tessera.Principal
	switch strings.TrimSpace(authz[i+1:]) {
	case fuzzAdmin:
		p = tessera.Principal{Admin: true, WorkspaceID: tessera.DefaultWorkspaceID}
	case fuzzToken:
		p = tessera.Principal{WorkspaceID: 2}
	default:
		return p, tessera.EUNAUTHORIZED
	}
	raw := strings.TrimSpace(wsHeader)
	if raw == "" {
		raw = strings.TrimSpace(tenantHeader)
	}
	if raw == "" {
		return p, ""
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	switch {
	case err != nil || id <= 0:
		return p, tessera.EINVALID
	case p.Admin && id > 3, !p.Admin && id != 2 && id != 3:
		return p, tessera.EFORBIDDEN
	}
	p.WorkspaceID = id
	return p, ""
}
