package main

import (
	"strings"
	"testing"
)

// Exit codes: 1 the server refused (or the execution failed, see
// TestCLIExecFailureExitsOne), 2 usage errors, 3 an unreachable server.
func TestCLIExitCodes(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	env := map[string]string{"TESSERA_URL": s.URL, "TESSERA_API_KEY": s.token}
	without := func(k string) map[string]string {
		e := map[string]string{}
		for key, v := range env {
			if key != k {
				e[key] = v
			}
		}
		return e
	}
	down := unreachableURL(t)
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{"no such agent", env, []string{"agents", "get", "999999"}, 1, "404"},
		{"no such slug", env, []string{"exec", "nobody", "-m", "hi"}, 1, "404"},
		{"bad token", map[string]string{"TESSERA_URL": s.URL, "TESSERA_API_KEY": "tsk_nope"}, []string{"keys", "list"}, 1, "401"},
		{"bad flag", env, []string{"agents", "list", "--bogus"}, 2, "unknown flag"},
		{"bad flag value", env, []string{"executions", "list", "--limit", "many"}, 2, "invalid argument"},
		{"unknown subcommand", env, []string{"agents", "frobnicate"}, 2, "unknown command"},
		{"missing subcommand", env, []string{"executions"}, 2, "needs a subcommand"},
		{"missing argument", env, []string{"agents", "get"}, 2, "accepts 1 arg"},
		{"no API key", without("TESSERA_API_KEY"), []string{"agents", "list"}, 2, "TESSERA_API_KEY"},
		{"bad URL", env, []string{"agents", "list", "--url", "ftp://example.com"}, 2, "not an http"},
		{"bad output", env, []string{"models", "list", "-o", "yaml"}, 2, "--output"},
		{"bad status", env, []string{"executions", "list", "--status", "done"}, 2, "--status"},
		{"stream and async", env, []string{"exec", "1", "--stream", "--async"}, 2, "cannot be used together"},
		{"bad input", env, []string{"exec", "1", "-i", "novalue"}, 2, "key=value"},
		{"unreachable list", map[string]string{"TESSERA_URL": down, "TESSERA_API_KEY": "k"}, []string{"agents", "list"}, 3, "cannot reach the server at " + down},
		{"unreachable exec", env, []string{"exec", "1", "-m", "hi", "--url", down}, 3, "cannot reach"},
		{"unreachable tail", env, []string{"executions", "tail", "1", "--url", down}, 3, "cannot reach"},
		{"flags override the environment", map[string]string{"TESSERA_URL": down}, []string{"models", "list", "--url", s.URL, "--api-key", s.token}, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := cliRunEnv(t, tc.env, tc.args...).exits(t, tc.code)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("stderr %q lacks %q", r.stderr, tc.msg)
			}
		})
	}
}

// The default URL is the local server's.
func TestCLIDefaultURL(t *testing.T) {
	t.Parallel()
	e := &cliEnv{getenv: func(k string) string { return map[string]string{"TESSERA_API_KEY": "k"}[k] }}
	cl, closeIdle, err := e.client()
	if err != nil {
		t.Fatal(err)
	}
	defer closeIdle()
	if cl.BaseURL() != cliDefaultURL {
		t.Errorf("default URL %q, want %q", cl.BaseURL(), cliDefaultURL)
	}
}
