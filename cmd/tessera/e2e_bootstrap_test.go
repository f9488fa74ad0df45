package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestFreshDatabaseWithoutAdminTokenPrintsOneWorkingKey(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{NoAdmin: true})

	out := s.Stdout.String()
	keys := tokenRE.FindAllString(out, -1)
	if len(keys) != 1 {
		t.Fatalf("stdout holds %d keys, want exactly 1:\n%s", len(keys), out)
	}
	if strings.Contains(s.Stderr.String(), keys[0]) {
		t.Error("the bootstrap key was logged to stderr; it must only be printed to stdout")
	}
	c := s.as(keys[0])
	m := c.must(t, http.StatusOK, "GET", "/agents", nil, nil)
	if _, ok := m["data"].([]any); !ok {
		t.Errorf("GET /agents with the bootstrap key: %v", m)
	}
	ws := c.must(t, http.StatusOK, "GET", "/api/v1/workspaces/1", nil, nil)
	if intOf(t, ws["id"]) != 1 || ws["name"] != "default" {
		t.Errorf("workspace 1 = %v, want id 1 named default", ws)
	}
	// The key acts for workspace 1 by default: what it creates lands there.
	id := c.chatAgent(t, "Bootstrap agent")
	a := c.must(t, http.StatusOK, "GET", path("/agents/%d", id), nil, nil)
	if intOf(t, a["workspace_id"]) != 1 {
		t.Errorf("agent made with the bootstrap key is in workspace %v, want 1", a["workspace_id"])
	}

	s2 := s.restart(t, opts{NoAdmin: true})
	if out := s2.Stdout.String(); out != "" {
		t.Errorf("a restart on the same data dir printed %q, want nothing", out)
	}
	s2.as(keys[0]).must(t, http.StatusOK, "GET", "/agents", nil, nil)
}

func TestAdminTokenMeansNoBootstrapKey(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	if out := s.Stdout.String(); out != "" {
		t.Errorf("with TESSERA_ADMIN_TOKEN the server printed %q, want nothing", out)
	}
	s.must(t, http.StatusOK, "GET", "/agents", nil, nil)
	ws := s.must(t, http.StatusOK, "GET", "/api/v1/workspaces/1", nil, nil)
	if ws["name"] != "default" {
		t.Errorf("workspace 1 = %v, want it named default", ws)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	for _, p := range []string{"/healthz", "/readyz"} {
		// Probes carry no credentials.
		s.must(t, http.StatusOK, "GET", p, nil, hdr{"Authorization": ""})
	}
}

func TestRunReturnsNilWhenItsContextEnds(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	s.must(t, http.StatusOK, "GET", "/healthz", nil, nil)
	s.Stop(t) // fails the test unless Run returns nil in time
	if !strings.Contains(s.Stderr.String(), "stopped") {
		t.Errorf("stderr does not say the server stopped:\n%s", s.Stderr)
	}
}

func TestMigrateCommandMigratesAndIsIdempotent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := getenvFrom(map[string]string{"TESSERA_DATA_DIR": dir})
	for range 2 {
		var stdout, stderr bytes.Buffer
		if err := Run(context.Background(), []string{"migrate"}, env, &stdout, &stderr); err != nil {
			t.Fatalf("migrate: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(stdout.String(), "up to date") || !strings.Contains(stdout.String(), filepath.Join(dir, "tessera.db")) {
			t.Errorf("migrate printed %q", stdout.String())
		}
	}
	// The migrated database serves.
	s := setup(t, opts{DataDir: dir})
	s.must(t, http.StatusOK, "GET", "/agents", nil, nil)
}

func TestVersionCommandPrintsVersion(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), []string{"version"}, getenvFrom(nil), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^tessera \S+ \(go\S+\)\n$`).MatchString(stdout.String()) {
		t.Errorf("version printed %q", stdout.String())
	}
}

func TestUsageErrorsExitWithCodeTwo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"unknown flag", []string{"serve", "--no-such-flag"}, nil},
		{"unknown command", []string{"frobnicate"}, nil},
		{"extra argument", []string{"version", "extra"}, nil},
		{"bad duration", []string{"serve"}, map[string]string{"TESSERA_LEASE": "soon"}},
		{"bad integer", []string{"serve"}, map[string]string{"TESSERA_WORKERS": "many"}},
		{"lease too short", []string{"serve"}, map[string]string{"TESSERA_LEASE": "1ms"}},
		{"bad log level", []string{"serve", "--log-level", "loud"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"TESSERA_DATA_DIR": filepath.Join(dir, tc.name), "TESSERA_ADDR": "127.0.0.1:0"}
			for k, v := range tc.env {
				env[k] = v
			}
			var stdout, stderr bytes.Buffer
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a serve that wrongly starts stops at once
			err := Run(ctx, tc.args, getenvFrom(env), &stdout, &stderr)
			if err == nil {
				t.Fatalf("Run(%q) = nil, want a usage error", tc.args)
			}
			if code := exitCode(err); code != 2 {
				t.Errorf("Run(%q) = %v, exit code %d, want 2", tc.args, err, code)
			}
		})
	}
}
