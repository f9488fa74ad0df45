package main

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// The firing of schedules is proven with an injected clock in package
// engine; these tests drive the API and never wait for a slot.

// timeOf parses a JSON time that must be RFC 3339.
func timeOf(t *testing.T, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%#v is not an RFC 3339 time", v)
	}
	return ts
}

// nextRuns returns a schedule's next_runs.
func nextRuns(t *testing.T, sc map[string]any) []time.Time {
	t.Helper()
	list, ok := sc["next_runs"].([]any)
	if !ok {
		t.Fatalf("next_runs is not an array: %v", sc)
	}
	out := make([]time.Time, len(list))
	for i, v := range list {
		out[i] = timeOf(t, v)
	}
	return out
}

func TestScheduleCreateShowsItsNextRuns(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	agent := s.chatAgent(t, "Reporter")
	before := time.Now()
	sc := s.must(t, http.StatusCreated, "POST", "/api/v1/schedules", map[string]any{
		"agent_id": agent, "name": "every minute", "cron": "* * * * *", "input": map[string]any{"message": "Report."},
	}, nil)
	if intOf(t, sc["agent_id"]) != agent || sc["name"] != "every minute" || sc["timezone"] != "UTC" || sc["enabled"] != true ||
		sc["instance_id"] != nil || sc["last_run_at"] != nil || sc["last_execution_id"] != nil {
		t.Fatalf("created schedule = %v", sc)
	}
	if in, _ := sc["input"].(map[string]any); in["message"] != "Report." {
		t.Fatalf("input = %v", sc["input"])
	}
	next := timeOf(t, sc["next_run_at"])
	if next.Second() != 0 || next.Nanosecond() != 0 || !next.After(before) || next.After(time.Now().Add(time.Minute)) {
		t.Fatalf("next_run_at = %v, want the next whole minute after %v", next, before)
	}
	runs := nextRuns(t, sc)
	want := []time.Time{next, next.Add(time.Minute), next.Add(2 * time.Minute)}
	if !slices.EqualFunc(runs, want, time.Time.Equal) {
		t.Fatalf("next_runs = %v, want %v", runs, want)
	}

	// The expression is read in the schedule's zone: 9:30 in Kolkata
	// (UTC+5:30) is 4:00 UTC.
	kolkata := s.must(t, http.StatusCreated, "POST", "/api/v1/schedules", map[string]any{
		"agent_id": agent, "name": "morning", "cron": "30 9 * * *", "timezone": "Asia/Kolkata",
	}, nil)
	for _, run := range nextRuns(t, kolkata) {
		if u := run.UTC(); u.Hour() != 4 || u.Minute() != 0 {
			t.Fatalf("next_runs of 9:30 in Kolkata = %v", nextRuns(t, kolkata))
		}
	}
	if in, _ := kolkata["input"].(map[string]any); in == nil || len(in) != 0 {
		t.Fatalf("unset input = %v, want {}", kolkata["input"])
	}
	// Disabled at creation: no next run.
	off := s.must(t, http.StatusCreated, "POST", "/api/v1/schedules", map[string]any{
		"agent_id": agent, "name": "off", "cron": "@daily", "enabled": false,
	}, nil)
	if off["next_run_at"] != nil || len(nextRuns(t, off)) != 0 {
		t.Fatalf("disabled schedule = %v", off)
	}
}

func TestScheduleValidation(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	agent, other := s.chatAgent(t, "Mine"), s.chatAgent(t, "Other")
	inst := intOf(t, s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances",
		map[string]any{"agent_id": other, "name": "other's"}, nil)["id"])
	valid := func(changes map[string]any) map[string]any {
		b := map[string]any{"agent_id": agent, "name": "n", "cron": "*/5 * * * *"}
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	for _, tc := range []struct {
		name   string
		body   map[string]any
		fields []string
	}{
		{"bad cron", valid(map[string]any{"cron": "every day"}), []string{"body.cron"}},
		{"six fields", valid(map[string]any{"cron": "0 0 9 * * *"}), []string{"body.cron"}},
		{"never fires", valid(map[string]any{"cron": "0 0 30 2 *"}), []string{"body.cron"}},
		{"no cron", valid(map[string]any{"cron": nil}), []string{"body.cron"}},
		{"bad timezone", valid(map[string]any{"timezone": "Europe/Atlantis"}), []string{"body.timezone"}},
		{"input not an object", valid(map[string]any{"input": []any{1, 2}}), []string{"body.input"}},
		{"string input", valid(map[string]any{"input": "hello"}), []string{"body.input"}},
		{"missing agent", valid(map[string]any{"agent_id": 999999}), []string{"body.agent_id"}},
		{"no agent", valid(map[string]any{"agent_id": nil}), []string{"body.agent_id"}},
		{"another agent's instance", valid(map[string]any{"instance_id": inst}), []string{"body.instance_id"}},
		{"missing instance", valid(map[string]any{"instance_id": 999999}), []string{"body.instance_id"}},
		{"no name", valid(map[string]any{"name": " "}), []string{"body.name"}},
		{"everything", map[string]any{"cron": "x", "timezone": "y", "input": 3, "name": ""},
			[]string{"body.agent_id", "body.cron", "body.input", "body.name", "body.timezone"}},
	} {
		r := s.doRaw(t, "POST", "/api/v1/schedules", tc.body, nil)
		if r.Status != http.StatusUnprocessableEntity || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: HTTP %d (%s), want 422 problem+json: %s", tc.name, r.Status, r.Header.Get("Content-Type"), r.Body)
			continue
		}
		got := problemFields(t, r.JSON(t))
		slices.Sort(got)
		if !slices.Equal(slices.Compact(got), tc.fields) {
			t.Errorf("%s: error locations %v, want %v", tc.name, got, tc.fields)
		}
	}
	if r := s.doRaw(t, "POST", "/api/v1/schedules", `{"agent_id": "one"}`, nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("agent_id as a string: HTTP %d: %s", r.Status, r.Body)
	}
	if r := s.doRaw(t, "POST", "/api/v1/schedules", valid(map[string]any{"every": "day"}), nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("unknown field: HTTP %d: %s", r.Status, r.Body)
	}
	if total := intOf(t, s.must(t, http.StatusOK, "GET", "/api/v1/schedules", nil, nil)["total"]); total != 0 {
		t.Fatalf("%d schedules created by refused requests", total)
	}
}

func TestScheduleCRUD(t *testing.T) {
	t.Parallel()
	s := setup(t, opts{})
	a, b := s.chatAgent(t, "A"), s.chatAgent(t, "B")
	inst := intOf(t, s.must(t, http.StatusCreated, "POST", "/api/v1/ai/agents/instances",
		map[string]any{"agent_id": b, "name": "b's"}, nil)["id"])
	var ids []int64
	for _, body := range []map[string]any{
		{"agent_id": a, "name": "a1", "cron": "@hourly"},
		{"agent_id": b, "instance_id": inst, "name": "b1", "cron": "0 8 * * 1", "timezone": "Europe/Paris", "input": map[string]any{"lang": "fr"}},
		{"agent_id": a, "name": "a2", "cron": "*/10 * * * *"},
	} {
		ids = append(ids, intOf(t, s.must(t, http.StatusCreated, "POST", "/api/v1/schedules", body, nil)["id"]))
	}

	listed := func(query string) ([]int64, int64) {
		m := s.must(t, http.StatusOK, "GET", "/api/v1/schedules"+query, nil, nil)
		var got []int64
		for _, v := range m["data"].([]any) {
			sc := v.(map[string]any)
			if len(nextRuns(t, sc)) != 3 {
				t.Fatalf("listed schedule without its next runs: %v", sc)
			}
			got = append(got, intOf(t, sc["id"]))
		}
		return got, intOf(t, m["total"])
	}
	if got, total := listed(""); !slices.Equal(got, ids) || total != 3 {
		t.Fatalf("list = %v (total %d), want %v", got, total, ids)
	}
	if got, total := listed("?agent_id=" + itoa(a)); !slices.Equal(got, []int64{ids[0], ids[2]}) || total != 2 {
		t.Fatalf("agent a's = %v (total %d)", got, total)
	}
	if got, total := listed("?limit=1&offset=1"); !slices.Equal(got, []int64{ids[1]}) || total != 3 {
		t.Fatalf("page = %v (total %d)", got, total)
	}
	for _, q := range []string{"?limit=0", "?limit=x", "?offset=-1", "?agent_id=x"} {
		if r := s.doRaw(t, "GET", "/api/v1/schedules"+q, nil, nil); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("GET %s: HTTP %d, want 422", q, r.Status)
		}
	}

	one := path("/api/v1/schedules/%d", ids[1])
	got := s.must(t, http.StatusOK, "GET", one, nil, nil)
	if intOf(t, got["instance_id"]) != inst || got["timezone"] != "Europe/Paris" || got["cron"] != "0 8 * * 1" {
		t.Fatalf("GET = %v", got)
	}
	next := got["next_run_at"]

	// PATCH merges: a rename keeps the next run; disabling clears it.
	got = s.must(t, http.StatusOK, "PATCH", one, map[string]any{"name": "renamed"}, nil)
	if got["name"] != "renamed" || got["next_run_at"] != next || got["input"].(map[string]any)["lang"] != "fr" {
		t.Fatalf("after a rename = %v", got)
	}
	got = s.must(t, http.StatusOK, "PATCH", one, map[string]any{"enabled": false}, nil)
	if got["enabled"] != false || got["next_run_at"] != nil || len(nextRuns(t, got)) != 0 {
		t.Fatalf("disabled = %v", got)
	}
	got = s.must(t, http.StatusOK, "PATCH", one, map[string]any{"enabled": true, "timezone": "Asia/Tokyo"}, nil)
	if run := timeOf(t, got["next_run_at"]).UTC(); got["enabled"] != true || run.Hour() != 23 || run.Weekday() != time.Sunday {
		t.Fatalf("re-enabled at 8:00 Monday in Tokyo = %v (%v UTC)", got, run)
	}

	// PUT replaces: what is not sent goes back to its default.
	got = s.must(t, http.StatusOK, "PUT", one, map[string]any{"name": "replaced", "cron": "@daily"}, nil)
	if got["name"] != "replaced" || got["timezone"] != "UTC" || len(got["input"].(map[string]any)) != 0 ||
		got["enabled"] != true || intOf(t, got["instance_id"]) != inst {
		t.Fatalf("after PUT = %v", got)
	}
	if run := timeOf(t, got["next_run_at"]).UTC(); run.Hour() != 0 || run.Minute() != 0 {
		t.Fatalf("@daily next run = %v", run)
	}
	for name, body := range map[string]map[string]any{
		"a PUT without cron":   {"name": "x"},
		"a new agent":          {"agent_id": a},
		"a new instance":       {"instance_id": inst + 1000},
		"a bad cron":           {"cron": "@every 1m"},
		"a non-object input":   {"input": []any{}},
		"a zone of the server": {"timezone": "Local"},
	} {
		method := "PATCH"
		if name == "a PUT without cron" {
			method = "PUT"
		}
		if r := s.doRaw(t, method, one, body, nil); r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s: HTTP %d, want 422: %s", name, r.Status, r.Body)
		}
	}
	if after := s.must(t, http.StatusOK, "GET", one, nil, nil); after["name"] != "replaced" || after["cron"] != "@daily" {
		t.Fatalf("refused updates changed it: %v", after)
	}

	// Another workspace sees none of them.
	ws := s.createWorkspace(t, "elsewhere")
	_, tok := s.createKey(t, "elsewhere", ws)
	them := s.as(tok)
	for _, m := range []string{"GET", "PATCH", "PUT", "DELETE"} {
		if r := them.doRaw(t, m, one, map[string]any{"name": "x", "cron": "@daily"}, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s from another workspace: HTTP %d, want 404", m, r.Status)
		}
	}
	if total := intOf(t, them.must(t, http.StatusOK, "GET", "/api/v1/schedules", nil, nil)["total"]); total != 0 {
		t.Errorf("another workspace lists %d schedules", total)
	}
	if r := them.doRaw(t, "POST", "/api/v1/schedules", map[string]any{"agent_id": a, "name": "x", "cron": "@daily"}, nil); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("a schedule of another workspace's agent: HTTP %d, want 422", r.Status)
	}

	s.must(t, http.StatusNoContent, "DELETE", one, nil, nil)
	for _, m := range []string{"GET", "DELETE"} {
		if r := s.doRaw(t, m, one, nil, nil); r.Status != http.StatusNotFound {
			t.Errorf("%s after delete: HTTP %d, want 404", m, r.Status)
		}
	}
	// Deleting the agent takes its schedules.
	s.must(t, http.StatusNoContent, "DELETE", path("/api/v1/agents/%d", a), nil, nil)
	if got, total := listed(""); len(got) != 0 || total != 0 {
		t.Fatalf("after deleting the agents' schedules: %v", got)
	}
}
