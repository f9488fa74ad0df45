package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera/engine"
)

func TestAgentVersionsAndRollback(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.createAgent(t, map[string]any{"title": "Writer", "type": "chat", "instructions": "Be brief."}, nil)
	s.must(t, http.StatusOK, "PATCH", path("/api/v1/agents/%d", id), map[string]any{"instructions": "Be thorough."}, nil)
	s.must(t, http.StatusOK, "PATCH", path("/api/v1/agents/%d", id), map[string]any{"title": "Writer 2",
		"questions": []map[string]any{{"name": "topic", "type": "text", "required": true}}}, nil)

	list := s.must(t, http.StatusOK, "GET", path("/agents/%d/versions", id), nil, nil)
	if intOf(t, list["current_version_number"]) != 3 {
		t.Fatalf("versions = %v", list)
	}
	vs := list["versions"].([]any)
	if len(vs) != 3 {
		t.Fatalf("versions = %v", vs)
	}
	v3, v2, v1 := vs[0].(map[string]any), vs[1].(map[string]any), vs[2].(map[string]any)
	if intOf(t, v3["version_id"]) != 3 || v3["change_summary"] != "questions, title" || v3["rollback_from_version"] != nil ||
		!strings.HasPrefix(strOf(v3["published_by"]), "admin") || !strings.HasSuffix(strOf(v3["published_at"]), "+00:00") {
		t.Errorf("v3 = %v", v3)
	}
	diff := v2["diff"].(map[string]any)["instructions"].(map[string]any)
	if diff["previous_version"] != "Be brief." || diff["current_version"] != "Be thorough." {
		t.Errorf("v2 diff = %v", v2["diff"])
	}
	if d, ok := v1["diff"].([]any); !ok || len(d) != 0 {
		t.Errorf("v1 diff = %v, want []", v1["diff"])
	}
	if _, ok := v3["diff"].(map[string]any)["ask_user_questions"]; !ok {
		t.Errorf("v3 diff uses Tess's names: %v", v3["diff"])
	}
	page := s.must(t, http.StatusOK, "GET", path("/agents/%d/versions?per_page=1&page=2", id), nil, nil)
	if pv := page["versions"].([]any); len(pv) != 1 || intOf(t, pv[0].(map[string]any)["version_id"]) != 2 {
		t.Errorf("page 2 = %v", page)
	}

	one := s.must(t, http.StatusOK, "GET", path("/agents/%d/versions/1", id), nil, nil)["version"].(map[string]any)
	snap := one["snapshot"].(map[string]any)
	if snap["agent_name"] != "Writer" || snap["instructions"] != "Be brief." || snap["type"] != "chat" ||
		snap["advanced_settings"].(map[string]any)["model"] == nil {
		t.Errorf("version 1 = %v", one)
	}

	// An execution records the version it ran.
	ex := s.run(t, id, map[string]any{"messages": "hi", "topic": "x"})
	got := s.must(t, http.StatusOK, "GET", path("/api/v1/ai/agents/executions/%v", ex["id"]), nil, nil)
	if intOf(t, got["extra_metadata"].(map[string]any)["agent_version"]) != 3 {
		t.Errorf("execution metadata = %v, want agent_version 3", got["extra_metadata"])
	}

	rb := s.must(t, http.StatusOK, "POST", path("/agents/%d/versions/1/rollback", id), nil, nil)
	if rb["message"] != "Agent rolled back to version 1. New version 4 is now active." {
		t.Errorf("rollback = %v", rb)
	}
	nv := rb["version"].(map[string]any)
	if intOf(t, nv["version_id"]) != 4 || intOf(t, nv["rollback_from_version"]) != 1 {
		t.Errorf("new version = %v", nv)
	}
	a := s.must(t, http.StatusOK, "GET", path("/api/v1/agents/%d", id), nil, nil)
	if a["instructions"] != "Be brief." || a["title"] != "Writer" || intOf(t, a["version"]) != 4 || len(a["questions"].([]any)) != 0 {
		t.Errorf("agent after rollback = %v", a)
	}

	if m := s.must(t, http.StatusUnprocessableEntity, "POST", path("/agents/%d/versions/4/rollback", id), nil, nil); m["message"] != "Cannot roll back to the current active version." {
		t.Errorf("rollback to current = %v", m)
	}
	if m := s.must(t, http.StatusNotFound, "POST", path("/agents/%d/versions/99/rollback", id), nil, nil); m["message"] != "Version not found." {
		t.Errorf("rollback to missing = %v", m)
	}
	if m := s.must(t, http.StatusNotFound, "GET", path("/agents/%d/versions/99", id), nil, nil); m["message"] != "Version not found." {
		t.Errorf("missing version = %v", m)
	}
}

func TestAgentWebhooksAPI(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	id := s.createAgent(t, map[string]any{"title": "Hooked", "type": "chat"}, nil)
	bad := s.must(t, http.StatusBadRequest, "POST", path("/agents/%d/webhooks", id), map[string]any{"url": "http://plain.example.com/x", "method": "PUT"}, nil)
	msgs := bad["messages"].(map[string]any)
	if bad["error"] != "Validation failed" || msgs["url"].([]any)[0] != "The url field must be a valid HTTPS URL" ||
		msgs["method"].([]any)[0] != "The method must be one of: POST, GET" {
		t.Errorf("validation = %v", bad)
	}
	created := s.must(t, http.StatusCreated, "POST", path("/agents/%d/webhooks", id), map[string]any{"url": "https://hooks.example.com/in", "method": "POST"}, nil)
	for _, f := range []string{"template_id", "user_id", "url", "method", "status", "updated_at", "created_at", "id"} {
		if _, ok := created[f]; !ok {
			t.Errorf("created webhook lacks %q: %v", f, created)
		}
	}
	if intOf(t, created["template_id"]) != id || created["status"] != "active" || !strings.HasPrefix(strOf(created["secret"]), "whsec_") {
		t.Errorf("created = %v", created)
	}
	list := s.must(t, http.StatusOK, "GET", path("/agents/%d/webhooks", id), nil, nil)
	items := list["data"].([]any)
	if intOf(t, list["total"]) != 1 || len(items) != 1 || items[0].(map[string]any)["secret"] != nil ||
		intOf(t, items[0].(map[string]any)["success_count"]) != 0 || list["last_page"] == nil {
		t.Errorf("list = %v", list)
	}
	all := s.must(t, http.StatusOK, "GET", "/webhooks", nil, nil)
	if intOf(t, all["total"]) != 1 {
		t.Errorf("GET /webhooks = %v", all)
	}

	// A finished execution queues a delivery, visible in the log.
	s.run(t, id, map[string]any{"messages": "hi"})
	hook := intOf(t, created["id"])
	var log map[string]any
	eventually(t, 30*time.Second, func() bool {
		log = s.must(t, http.StatusOK, "GET", path("/webhooks/%d/deliveries", hook), nil, nil)
		return intOf(t, log["total"]) == 1
	})
	d := log["data"].([]any)[0].(map[string]any)
	if d["response_id"] == nil || d["status"] == nil {
		t.Errorf("delivery = %v", d)
	}

	s.must(t, http.StatusOK, "DELETE", path("/webhooks/%d", hook), nil, nil)
	s.must(t, http.StatusNotFound, "DELETE", path("/webhooks/%d", hook), nil, nil)
	if list := s.must(t, http.StatusOK, "GET", path("/agents/%d/webhooks", id), nil, nil); intOf(t, list["total"]) != 0 {
		t.Errorf("list after delete = %v", list)
	}
}

func TestSignedEventsBecomeExecutions(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	agentID := s.createAgent(t, map[string]any{"title": "Events", "type": "chat"}, nil)
	in := s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances", map[string]any{"agent_id": agentID, "name": "ev"}, nil)
	inst := intOf(t, in["id"])
	trig := s.must(t, http.StatusCreated, "POST", path("/api/v1/ai/agents/instances/%d/trigger", inst), nil, nil)
	secret, hookURL := strOf(trig["secret"]), strOf(trig["url"])
	hookPath := hookURL[strings.Index(hookURL, "/api/"):]
	if !strings.HasPrefix(secret, "trsec_") || !strings.HasSuffix(hookPath, "/1/"+strconv.FormatInt(inst, 10)) {
		t.Fatalf("trigger = %v", trig)
	}
	if g := s.must(t, http.StatusOK, "GET", path("/api/v1/ai/agents/instances/%d", inst), nil, nil); strings.Contains(strOf(g), secret) {
		t.Errorf("the instance shows its trigger secret")
	}
	anon := s.as("")
	body := `{"message": "order 17 shipped", "order": 17}`
	sig := engine.Sign(secret, time.Now(), []byte(body))

	got := anon.must(t, http.StatusAccepted, "POST", hookPath, body, hdr{"Tessera-Signature": sig})
	exID := got["execution_id"]
	var ex map[string]any
	eventually(t, 30*time.Second, func() bool {
		_, ex = s.do(t, "GET", path("/api/v1/ai/agents/executions/%v", exID), nil, nil)
		return ex["status"] == "completed"
	})
	if ex["trigger_type"] != "event" || ex["input_data"].(map[string]any)["order"] != 17.0 {
		t.Errorf("execution = %v", ex)
	}

	// The same request again is a replay.
	if m := anon.must(t, http.StatusConflict, "POST", hookPath, body, hdr{"Tessera-Signature": sig}); !strings.Contains(strOf(m["detail"]), "already received") {
		t.Errorf("replay = %v", m)
	}
	for name, h := range map[string]string{
		"no signature":    "",
		"wrong secret":    engine.Sign("trsec_wrong", time.Now(), []byte(body)),
		"other body":      engine.Sign(secret, time.Now(), []byte(`{"message": "tampered"}`)),
		"too old":         engine.Sign(secret, time.Now().Add(-10*time.Minute), []byte(body)),
		"from the future": engine.Sign(secret, time.Now().Add(10*time.Minute), []byte(body)),
	} {
		if st, m := anon.do(t, "POST", hookPath, body, hdr{"Tessera-Signature": h}); st != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d %v, want 401", name, st, m)
		}
	}
	// An unknown instance looks like a bad signature.
	if st, _ := anon.do(t, "POST", path("/api/v1/ai/agents/hooks/1/%d", inst+100), body, hdr{"Tessera-Signature": sig}); st != http.StatusUnauthorized {
		t.Errorf("unknown instance: HTTP %d, want 401", st)
	}
}

func TestManualTriggerHeader(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	agentID := s.createAgent(t, map[string]any{"title": "Manual", "type": "chat"}, nil)
	in := s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances", map[string]any{"agent_id": agentID, "name": "m"}, nil)
	got := s.must(t, http.StatusOK, "POST", path("/api/v1/ai/agents/instances/%d/execute", intOf(t, in["id"])),
		map[string]any{"message": "hi"}, hdr{"Tessera-Trigger": "manual"})
	if got["trigger_type"] != "manual" {
		t.Errorf("trigger_type = %v, want manual", got["trigger_type"])
	}
	tess := s.must(t, http.StatusOK, "POST", path("/agents/%d/execute", agentID), map[string]any{"messages": "hi", "waitExecution": true}, hdr{"Tessera-Trigger": "manual"})
	id := first(t, tess)["id"]
	if ex := s.must(t, http.StatusOK, "GET", path("/api/v1/ai/agents/executions/%v", id), nil, nil); ex["trigger_type"] != "manual" {
		t.Errorf("Tess execute with the header: trigger_type = %v", ex["trigger_type"])
	}
	s.must(t, http.StatusUnprocessableEntity, "POST", path("/agents/%d/execute", agentID), map[string]any{"messages": "hi"}, hdr{"Tessera-Trigger": "scheduled"})
}
