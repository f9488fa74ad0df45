package server_test

import (
	"net/http"
	"testing"
)

// surface is one API surface: a route that reads only the headers, and
// the shape of its errors.
type surface struct {
	path  string
	shape func(int, http.Header, []byte) string
}

// FuzzHeaders sends arbitrary Authorization, x-workspace-id, x-tenant-id
// and X-Request-Id headers (with the API key, the admin token or the
// fuzzed Authorization) to a header-only route of every surface. The
// server never answers 5xx; a refusal is in the surface's own shape
// (authentication is shared, its errors are not); the response's
// X-Request-Id is the caller's when short and printable, else one of its
// own, never empty. The seed corpus is in testdata/fuzz/FuzzHeaders.
func FuzzHeaders(f *testing.F) {
	s := newStack(f)
	surfaces := []surface{
		{"/agents", tessShape}, {"/api/templates", tessShape}, {"/api/v1/agents", problemShape},
		{"/api/v1/ai/agents/instances", fastAPIShape}, {"/v1/models", openAIShape},
	}
	for _, seed := range []struct {
		sel                        byte
		authz, ws, tenant, request string
	}{
		{0, "", "1", "", "req-1"}, {1, "", "", "1", ""}, {2, "Bearer nope", "", "", "a b"},
		{3, "", "2", "", ""}, {4, "", "x", "", ""}, {5, "", "", "-1", "\x00"},
		{6, "bearer", "", "", ""}, {7, "", "99999999999999999999", "", ""}, {8, "", "  3 ", "", ""},
		{9, "Basic dXNlcjpwYXNz", "1", "", ""}, {14, "", "1", "2", ""},
	} {
		f.Add(seed.sel, seed.authz, seed.ws, seed.tenant, seed.request)
	}
	f.Fuzz(func(t *testing.T, sel byte, authz, ws, tenant, requestID string) {
		sf := surfaces[int(sel)%len(surfaces)]
		switch sel / 5 % 3 {
		case 0:
			authz = "Bearer " + s.token
		case 1:
			authz = "Bearer " + adminToken
		}
		header := map[string]string{"Authorization": authz, "X-Workspace-Id": ws, "X-Tenant-Id": tenant, "X-Request-Id": requestID}
		rep := s.do(t, http.MethodGet, sf.path, "", header, nil)
		s.check(t, "GET "+sf.path, rep, sf.shape)
		got := rep.header.Get("X-Request-Id")
		if got == "" || printable(requestID) && got != requestID {
			t.Fatalf("X-Request-Id %q answered with %q", requestID, got)
		}
	})
}

func printable(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}
