package main

import (
	"net/http"
	"strings"
	"testing"
)

func TestMissingOrBadTokenIs403InvalidAuthenticationOnTessRoutes(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.chatAgent(t, "Guarded")
	routes := []struct{ method, path string }{
		{"GET", "/agents"},
		{"GET", "/api/agents"},
		{"GET", "/templates"},
		{"GET", path("/agents/%d", id)},
		{"POST", path("/agents/%d/execute", id)},
		{"POST", path("/api/agents/%d/execute", id)},
		{"GET", "/agent-responses"},
		{"GET", "/agent-responses/1"},
		{"GET", "/template-responses/1"},
	}
	auths := map[string]string{
		"no header":      "",
		"unknown token":  "Bearer tsk_000000000000000000000000000000000000000000000000",
		"not bearer":     "Basic " + s.token,
		"empty bearer":   "Bearer ",
		"admin mistyped": "Bearer " + s.token + "x",
	}
	before := s.responsesTotal(t)
	for _, r := range routes {
		for name, auth := range auths {
			res := s.doRaw(t, r.method, r.path, map[string]any{"messages": "hi"}, hdr{"Authorization": auth})
			if res.Status != http.StatusForbidden {
				t.Errorf("%s %s with %s: HTTP %d, want 403", r.method, r.path, name, res.Status)
				continue
			}
			m := res.JSON(t)
			if len(m) != 1 || m["error"] != "Invalid authentication" {
				t.Errorf(`%s %s with %s: body %s, want exactly {"error":"Invalid authentication"}`, r.method, r.path, name, res.Body)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s %s: Content-Type %q", r.method, r.path, ct)
			}
		}
	}
	if after := s.responsesTotal(t); after != before {
		t.Errorf("unauthenticated executes created %d executions", after-before)
	}
}

func TestMissingOrBadTokenIs401ProblemOnNativeRoutes(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	for _, p := range []string{"/api/v1/agents", "/api/v1/workspaces", "/api/v1/api-keys"} {
		for _, auth := range []string{"", "Bearer nope"} {
			res := s.doRaw(t, "GET", p, nil, hdr{"Authorization": auth})
			if res.Status != http.StatusUnauthorized {
				t.Errorf("GET %s with %q: HTTP %d, want 401", p, auth, res.Status)
				continue
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("GET %s: Content-Type %q, want application/problem+json", p, ct)
			}
			m := res.JSON(t)
			if intOf(t, m["status"]) != 401 || m["title"] == "" || m["type"] == nil || m["detail"] == nil {
				t.Errorf("GET %s: problem %v", p, m)
			}
			if res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s: 401 without WWW-Authenticate", p)
			}
		}
	}
}

func TestOnlyTheAdminCreatesWorkspaces(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	m := s.must(t, http.StatusCreated, "POST", "/api/v1/workspaces", map[string]any{"name": "Acme"}, nil)
	wsID := intOf(t, m["id"])
	if m["name"] != "Acme" || wsID <= 1 {
		t.Errorf("created workspace %v", m)
	}
	_, tok := s.createKey(t, "normal", wsID)
	res := s.as(tok).doRaw(t, "POST", "/api/v1/workspaces", map[string]any{"name": "Mine"}, nil)
	if res.Status != http.StatusForbidden || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("a normal key creating a workspace: HTTP %d %s, want a 403 problem", res.Status, res.Body)
	}
	// The key sees its own workspace only.
	list := s.as(tok).must(t, http.StatusOK, "GET", "/api/v1/workspaces", nil, nil)
	if data, _ := list["data"].([]any); len(data) != 1 || intOf(t, data[0].(map[string]any)["id"]) != wsID {
		t.Errorf("the key's workspace list = %v, want only %d", list, wsID)
	}
	s.as(tok).must(t, http.StatusNotFound, "GET", "/api/v1/workspaces/1", nil, nil)
	s.must(t, http.StatusUnprocessableEntity, "POST", "/api/v1/workspaces", map[string]any{"name": " "}, nil)
}

func TestAPIKeyTokenIsShownOnlyAtCreation(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	ws := s.createWorkspace(t, "Keys")
	m := s.must(t, http.StatusCreated, "POST", "/api/v1/api-keys", map[string]any{"name": "ci", "workspace_ids": []int64{ws}}, nil)
	tok, _ := m["token"].(string)
	if !tokenRE.MatchString(tok) || m["id"] == nil {
		t.Fatalf("created key %v: want an id and a tsk_ token", m)
	}
	if ids, _ := m["workspace_ids"].([]any); len(ids) != 1 || intOf(t, ids[0]) != ws {
		t.Errorf("created key workspace_ids = %v, want [%d]", m["workspace_ids"], ws)
	}
	for _, c := range []*api{s.api, s.as(tok)} {
		res := c.doRaw(t, "GET", "/api/v1/api-keys", nil, nil)
		if res.Status != http.StatusOK {
			t.Fatalf("list keys: HTTP %d %s", res.Status, res.Body)
		}
		if strings.Contains(string(res.Body), tok) || strings.Contains(string(res.Body), `"token"`) {
			t.Errorf("the key list shows the token: %s", res.Body)
		}
		if !strings.Contains(string(res.Body), `"ci"`) {
			t.Errorf("the key list does not show the key: %s", res.Body)
		}
	}
	// The token works and acts for its workspace.
	a := s.as(tok).chatAgent(t, "Made with a new key")
	got := s.as(tok).must(t, http.StatusOK, "GET", path("/agents/%d", a), nil, nil)
	if intOf(t, got["workspace_id"]) != ws {
		t.Errorf("agent workspace = %v, want %d", got["workspace_id"], ws)
	}
	for name, body := range map[string]any{
		"no name":               map[string]any{"workspace_ids": []int64{ws}},
		"unknown workspace":     map[string]any{"name": "x", "workspace_ids": []int64{999}},
		"duplicated workspaces": map[string]any{"name": "x", "workspace_ids": []int64{ws, ws}},
	} {
		if status, m := s.do(t, "POST", "/api/v1/api-keys", body, nil); status != http.StatusUnprocessableEntity {
			t.Errorf("create key with %s: HTTP %d %v, want 422", name, status, m)
		}
	}
	// A key cannot hand out a workspace it lacks.
	other := s.createWorkspace(t, "Other")
	s.as(tok).must(t, http.StatusForbidden, "POST", "/api/v1/api-keys", map[string]any{"name": "escalate", "workspace_ids": []int64{other}}, nil)
}

func TestWorkspaceHeader(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	a := s.createWorkspace(t, "A")
	b := s.createWorkspace(t, "B")
	_, tokA := s.createKey(t, "a", a)
	_, tokBA := s.createKey(t, "b then a", b, a)
	ca, cba := s.as(tokA), s.as(tokBA)

	t.Run("not an integer is a 422 that mentions the workspace", func(t *testing.T) {
		t.Parallel()
		for _, v := range []string{"abc", "1.5", "-2", "0", "99999999999999999999"} {
			res := ca.doRaw(t, "GET", "/agents", nil, hdr{"x-workspace-id": v})
			if res.Status != http.StatusUnprocessableEntity {
				t.Errorf("x-workspace-id %q: HTTP %d, want 422", v, res.Status)
				continue
			}
			m := res.JSON(t)
			msg, _ := m["error"].(string)
			if !strings.Contains(strings.ToLower(msg), "workspace") {
				t.Errorf("x-workspace-id %q: error %q does not mention the workspace", v, msg)
			}
		}
	})
	t.Run("a workspace the key lacks is 403", func(t *testing.T) {
		t.Parallel()
		status, m := ca.do(t, "GET", "/agents", nil, hdr{"x-workspace-id": itoa(b)})
		if status != http.StatusForbidden || m["error"] == nil {
			t.Errorf("HTTP %d %v, want 403 with an error", status, m)
		}
		status, _ = ca.do(t, "GET", "/agents", nil, hdr{"x-workspace-id": "1"})
		if status != http.StatusForbidden {
			t.Errorf("the default workspace for a key of A: HTTP %d, want 403", status)
		}
		// The administrator may name any existing workspace, not a missing one.
		if status, _ := s.do(t, "GET", "/agents", nil, hdr{"x-workspace-id": "4242"}); status != http.StatusForbidden {
			t.Errorf("admin naming a missing workspace: HTTP %d, want 403", status)
		}
	})
	t.Run("absent means the key's default workspace", func(t *testing.T) {
		t.Parallel()
		id := cba.chatAgent(t, "Default of BA")
		got := cba.must(t, http.StatusOK, "GET", path("/agents/%d", id), nil, nil)
		if intOf(t, got["workspace_id"]) != b {
			t.Errorf("agent created without header is in workspace %v, want the key's first, %d", got["workspace_id"], b)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	a := s.createWorkspace(t, "A")
	b := s.createWorkspace(t, "B")
	_, tokA := s.createKey(t, "a", a)
	_, tokB := s.createKey(t, "b", b)
	_, tokAB := s.createKey(t, "ab", a, b)
	ca, cb, cab := s.as(tokA), s.as(tokB), s.as(tokAB)

	agentA := ca.chatAgent(t, "Secret of A")
	exA := intOf(t, ca.run(t, agentA, map[string]any{"messages": "hello from A"})["id"])

	notFound := func(t *testing.T, c *api, method, p string, body any, h hdr) {
		t.Helper()
		res := c.doRaw(t, method, p, body, h)
		if res.Status != http.StatusNotFound {
			t.Errorf("%s %s (%v): HTTP %d %s, want 404", method, p, h, res.Status, res.Body)
			return
		}
		res.JSON(t) // a JSON object
	}
	for _, tc := range []struct {
		name string
		c    *api
		h    hdr
	}{
		{"key of B", cb, nil},
		{"key of A and B switched to B", cab, hdr{"x-workspace-id": itoa(b)}},
		{"admin in workspace B", s.api, hdr{"x-workspace-id": itoa(b)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notFound(t, tc.c, "GET", path("/agents/%d", agentA), nil, tc.h)
			notFound(t, tc.c, "GET", path("/api/agents/%d", agentA), nil, tc.h)
			notFound(t, tc.c, "POST", path("/agents/%d/execute", agentA), map[string]any{"messages": "steal"}, tc.h)
			notFound(t, tc.c, "GET", path("/agent-responses/%d", exA), nil, tc.h)
			notFound(t, tc.c, "GET", path("/template-responses/%d", exA), nil, tc.h)
			notFound(t, tc.c, "POST", path("/agent-responses/%d/cancel", exA), nil, tc.h)
			notFound(t, tc.c, "GET", path("/api/v1/agents/%d", agentA), nil, tc.h)
			notFound(t, tc.c, "PATCH", path("/api/v1/agents/%d", agentA), map[string]any{"title": "mine"}, tc.h)
			notFound(t, tc.c, "DELETE", path("/api/v1/agents/%d", agentA), nil, tc.h)
			for p, foreign := range map[string]int64{"/agents?per_page=100": agentA, "/api/v1/agents": agentA, "/agent-responses?per_page=100": exA} {
				m := tc.c.must(t, http.StatusOK, "GET", p, nil, tc.h)
				for _, it := range m["data"].([]any) {
					if id := intOf(t, it.(map[string]any)["id"]); id == foreign {
						t.Errorf("GET %s in workspace B lists %d of workspace A", p, id)
					}
				}
			}
			// root_id of another workspace does not continue its thread.
			agentB := tc.c.createAgent(t, map[string]any{"title": "Agent of B " + tc.name, "type": "chat"}, tc.h)
			status, body := tc.c.execute(t, agentB, map[string]any{"messages": "continue A", "root_id": exA}, tc.h)
			if status < 400 || status >= 500 {
				t.Errorf("root_id of workspace A from B: HTTP %d %v, want a 4xx", status, body)
			}
		})
	}
	// A key granted both workspaces uses both.
	agentB := cab.createAgent(t, map[string]any{"title": "Of B", "type": "chat"}, hdr{"x-workspace-id": itoa(b)})
	cab.must(t, http.StatusOK, "GET", path("/agents/%d", agentA), nil, hdr{"x-workspace-id": itoa(a)})
	cab.must(t, http.StatusOK, "GET", path("/agents/%d", agentA), nil, nil) // A is its default
	cab.run(t, agentA, map[string]any{"messages": "as AB in A"})
	got := cab.must(t, http.StatusOK, "GET", path("/agents/%d", agentB), nil, hdr{"x-workspace-id": itoa(b)})
	if intOf(t, got["workspace_id"]) != b {
		t.Errorf("agent of B = %v", got)
	}
}

func TestRevokedKeyStopsWorking(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id, tok := s.createKey(t, "short-lived", 1)
	c := s.as(tok)
	c.must(t, http.StatusOK, "GET", "/agents", nil, nil) // cached by the authenticator now
	s.must(t, http.StatusNoContent, "DELETE", path("/api/v1/api-keys/%d", id), nil, nil)
	res := c.doRaw(t, "GET", "/agents", nil, nil)
	if res.Status != http.StatusForbidden || !strings.Contains(string(res.Body), "Invalid authentication") {
		t.Errorf("revoked key: HTTP %d %s, want 403 Invalid authentication", res.Status, res.Body)
	}
	if status, _ := c.do(t, "GET", "/api/v1/agents", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("revoked key on native: HTTP %d, want 401", status)
	}
	s.must(t, http.StatusNotFound, "DELETE", path("/api/v1/api-keys/%d", id), nil, nil)

	// A key may revoke itself.
	id2, tok2 := s.createKey(t, "self", 1)
	s.as(tok2).must(t, http.StatusNoContent, "DELETE", path("/api/v1/api-keys/%d", id2), nil, nil)
	if status, _ := s.as(tok2).do(t, "GET", "/agents", nil, nil); status != http.StatusForbidden {
		t.Errorf("self-revoked key: HTTP %d, want 403", status)
	}
}
