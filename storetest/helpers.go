package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

// fixture is what every test starts from: a fresh store with the default
// workspace (created with its explicit id) and a second one for isolation
// checks.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	store tessera.Store
	enq   *Enqueued
	// now has nanoseconds and a non-UTC zone, so that every stored time
	// checks the microsecond truncation and the UTC result.
	now   time.Time
	ws    *tessera.Workspace
	other *tessera.Workspace
}

// setup marks t parallel (every test has its own database) and builds the
// fixture.
func setup(t *testing.T, newStore NewStore) *fixture {
	t.Helper()
	t.Parallel()
	store, enq := newStore(t)
	f := &fixture{
		t: t, ctx: t.Context(), store: store, enq: enq,
		now: time.Date(2026, 3, 14, 15, 9, 26, 535_897_932, time.FixedZone("CET", 3600)),
	}
	f.ws = f.workspace(tessera.DefaultWorkspaceID, "Default")
	f.other = f.workspace(0, "Other")
	return f
}

// at returns f.now plus d.
func (f *fixture) at(d time.Duration) time.Time { return f.now.Add(d) }

func (f *fixture) workspace(id int64, name string) *tessera.Workspace {
	f.t.Helper()
	w, err := f.store.WorkspaceCreate(f.ctx, &tessera.WorkspaceCreateParams{ID: id, Name: name, Now: f.now})
	ok(f.t, err)
	return w
}

// newAgent returns a valid, unsaved agent of the default workspace.
func (f *fixture) newAgent(slug string) *tessera.Agent {
	return &tessera.Agent{
		WorkspaceID: f.ws.ID, Slug: slug, Title: "Agent " + slug, Type: tessera.AgentTypeChat,
		Questions: []tessera.Question{}, Tools: []string{}, MaxIterations: tessera.DefaultMaxIterations,
		MultitaskStrategy: tessera.MultitaskEnqueue, Visibility: "private", Source: "api",
	}
}

func (f *fixture) createAgent(a *tessera.Agent) *tessera.Agent {
	f.t.Helper()
	got, err := f.store.AgentCreate(f.ctx, &tessera.AgentCreateParams{Agent: a, Now: f.now})
	ok(f.t, err)
	return got
}

// newExec returns an unsaved execution of agentID in the default workspace.
func (f *fixture) newExec(agentID int64) *tessera.Execution {
	return &tessera.Execution{
		WorkspaceID: f.ws.ID, AgentID: agentID, TriggerType: tessera.TriggerAPI, Input: "hello",
		Inputs:   map[string]any{},
		Messages: []tessera.Message{{Role: tessera.RoleUser, Content: "hello"}},
		Model:    "echo",
	}
}

func (f *fixture) createExec(e *tessera.Execution) *tessera.Execution {
	f.t.Helper()
	got, created, err := f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: e, Now: f.now})
	ok(f.t, err)
	if !created {
		f.t.Fatalf("ExecutionCreate: created = false for a new execution")
	}
	return got
}

func (f *fixture) getExec(id int64) *tessera.Execution {
	f.t.Helper()
	got, err := f.store.ExecutionGetByID(f.ctx, &tessera.ExecutionGetParams{ID: id, WorkspaceID: f.ws.ID})
	ok(f.t, err)
	return got
}

// getExecAny gets execution id of any workspace, as a worker does.
func (f *fixture) getExecAny(id int64) *tessera.Execution {
	f.t.Helper()
	got, err := f.store.ExecutionGetByID(f.ctx, &tessera.ExecutionGetParams{ID: id})
	ok(f.t, err)
	return got
}

// claim claims execution id at now with a lease of d.
func (f *fixture) claim(id int64, now time.Time, d time.Duration) *tessera.Execution {
	f.t.Helper()
	got, err := f.store.ExecutionClaim(f.ctx, &tessera.ExecutionClaimParams{ID: id, Now: now, LeaseUntil: now.Add(d)})
	ok(f.t, err)
	return got
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantCode checks that err is of the given kind.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tessera.ErrorCode(err); got != code {
		t.Fatalf("error kind = %q, want %q (err: %v)", got, code, err)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// sameJSON compares values by their JSON form, which shows times with
// their zone and precision.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	ok(t, err)
	w, err := json.Marshal(want)
	ok(t, err)
	if string(g) != string(w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// stored is t as a store returns it: UTC, to the microsecond.
func stored(t time.Time) time.Time { return t.Truncate(time.Microsecond).UTC() }

// sameTime checks that got is want as stored: same instant to the
// microsecond, in UTC.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(stored(want)) || got.Location() != time.UTC {
		t.Fatalf("%s = %v, want %v (UTC, microseconds)", what, got, stored(want))
	}
}

func sameTimePtr(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s = nil, want %v", what, stored(want))
	}
	sameTime(t, what, *got, want)
}

func agentIDs(list []*tessera.Agent) []int64 {
	out := make([]int64, len(list))
	for i, a := range list {
		out[i] = a.ID
	}
	return out
}

func execIDs(list []*tessera.Execution) []int64 {
	out := make([]int64, len(list))
	for i, e := range list {
		out[i] = e.ID
	}
	return out
}
