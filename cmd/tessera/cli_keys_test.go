package main

import (
	"strings"
	"testing"

	"github.com/tessera-run/tessera/client"
)

func TestCLIKeysCreateListRevoke(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})

	r := cliRun(t, s, "keys", "create", "--name", "ci").ok(t)
	token := strings.TrimSpace(r.stdout)
	if !tokenRE.MatchString(token) || !strings.Contains(r.stderr, "shown only now") {
		t.Fatalf("keys create printed %q, stderr %q", r.stdout, r.stderr)
	}
	var key client.NewKey
	cliRun(t, s, "keys", "create", "--name", "deploy", "-o", "json").ok(t).decode(t, &key)
	if key.ID == 0 || key.Name != "deploy" || !tokenRE.MatchString(key.Token) || !strings.HasPrefix(key.Token, key.Prefix) {
		t.Fatalf("keys create -o json = %+v", key)
	}

	var keys []client.Key
	cliRun(t, s, "keys", "list", "-o", "json").ok(t).decode(t, &keys)
	names := map[string]int64{}
	for _, k := range keys {
		names[k.Name] = k.ID
	}
	if _, ok := names["ci"]; !ok || names["deploy"] != key.ID {
		t.Errorf("keys list = %+v", keys)
	}
	r = cliRun(t, s, "keys", "list").ok(t)
	if !strings.Contains(r.stdout, "PREFIX") || !strings.Contains(r.stdout, key.Prefix+"…") {
		t.Errorf("keys list printed:\n%s", r.stdout)
	}

	// The new key works, until it is revoked.
	asKey := map[string]string{"TESSERA_URL": s.URL, "TESSERA_API_KEY": key.Token}
	cliRunEnv(t, asKey, "agents", "list").ok(t)
	r = cliRun(t, s, "keys", "revoke", itoa(key.ID)).ok(t)
	if r.stdout != "key "+itoa(key.ID)+" revoked\n" {
		t.Errorf("revoke printed %q", r.stdout)
	}
	r = cliRunEnv(t, asKey, "agents", "list").exits(t, 1)
	if !strings.Contains(r.stderr, "401") {
		t.Errorf("a revoked key: %q", r.stderr)
	}
	cliRun(t, s, "keys", "list", "-o", "json").ok(t).decode(t, &keys)
	for _, k := range keys {
		if k.ID == key.ID {
			t.Errorf("the revoked key is still listed: %+v", k)
		}
	}
	cliRun(t, s, "keys", "revoke", itoa(key.ID)).exits(t, 1)
	cliRun(t, s, "keys", "create").exits(t, 2)
}

func TestCLIModelsList(t *testing.T) {
	t.Parallel()
	s := cliSetup(t, opts{})
	var models client.ModelList
	cliRun(t, s, "models", "list", "-o", "json").ok(t).decode(t, &models)
	if models.DefaultModel != defaultModel || len(models.Data) == 0 || models.Aliases["tess-5"] == "" {
		t.Fatalf("models list -o json = %+v", models)
	}
	r := cliRun(t, s, "models", "list").ok(t)
	if !strings.Contains(r.stdout, defaultModel+"*") || !strings.Contains(r.stdout, "default: "+defaultModel) ||
		!strings.Contains(r.stdout, "tess-5 → ") {
		t.Errorf("models list printed:\n%s", r.stdout)
	}
}
