package storetest

import (
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

// fullConfig sets every field of an instance's config, with JSON values
// that survive a round trip (numbers as float64).
func fullConfig() tessera.InstanceConfig {
	return tessera.InstanceConfig{
		Model: "openai/gpt-5-mini", Temperature: ptr(0.0), Tools: []string{"http", "web_search"}, MaxIterations: 4,
		InputDefaults: map[string]any{
			"tone": "dry", "n": 3.5, "ok": true, "none": nil,
			"list": []any{"a", 1.0}, "obj": map[string]any{"k": "v"},
		},
		// The store keeps secrets as they are; hiding them is the API's job.
		Credentials: map[string]string{"http.Authorization": "Bearer s3cr3t", "mcp.token": "tok ✓"},
	}
}

func (f *fixture) createInstance(workspaceID, agentID int64, name string, config tessera.InstanceConfig) *tessera.Instance {
	f.t.Helper()
	got, err := f.store.InstanceCreate(f.ctx, &tessera.InstanceCreateParams{Now: f.now,
		Instance: &tessera.Instance{WorkspaceID: workspaceID, AgentID: agentID, Name: name, Config: config}})
	ok(f.t, err)
	return got
}

func (f *fixture) getInstance(id, workspaceID int64) (*tessera.Instance, error) {
	return f.store.InstanceGetByID(f.ctx, &tessera.InstanceGetParams{ID: id, WorkspaceID: workspaceID})
}

// listInstances lists instances of p.WorkspaceID (the default workspace
// when zero) and returns their ids and the total.
func (f *fixture) listInstances(p tessera.InstanceListParams) ([]int64, int) {
	f.t.Helper()
	if p.WorkspaceID == 0 {
		p.WorkspaceID = f.ws.ID
	}
	got, total, err := f.store.InstanceList(f.ctx, &p)
	ok(f.t, err)
	return instanceIDs(got), total
}

func instanceIDs(list []*tessera.Instance) []int64 {
	out := make([]int64, len(list))
	for i, inst := range list {
		out[i] = inst.ID
	}
	return out
}

func testInstances(t *testing.T, newStore NewStore) {
	t.Run("CreateAndGet", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("support"))
		// The store decides the id and the times.
		in := &tessera.Instance{ID: 77, WorkspaceID: f.ws.ID, AgentID: a.ID, Name: "Acme support", Config: fullConfig(),
			CreatedAt: f.at(-time.Hour), UpdatedAt: f.at(time.Hour)}
		got, err := f.store.InstanceCreate(f.ctx, &tessera.InstanceCreateParams{Instance: in, Now: f.now})
		ok(t, err)
		if got.ID == 0 || got.ID == 77 {
			t.Fatalf("ID = %d, want one the store chose", got.ID)
		}
		equal(t, "WorkspaceID", got.WorkspaceID, f.ws.ID)
		equal(t, "AgentID", got.AgentID, a.ID)
		equal(t, "Name", got.Name, "Acme support")
		equal(t, "Config", got.Config, fullConfig())
		sameTime(t, "CreatedAt", got.CreatedAt, f.now)
		sameTime(t, "UpdatedAt", got.UpdatedAt, f.now)

		byID, err := f.getInstance(got.ID, f.ws.ID)
		ok(t, err)
		equal(t, "Config read back", byID.Config, fullConfig())
		sameJSON(t, "read back", byID, got)

		// An empty config reads back empty.
		bare := f.createInstance(f.ws.ID, a.ID, "bare", tessera.InstanceConfig{})
		byID, err = f.getInstance(bare.ID, f.ws.ID)
		ok(t, err)
		equal(t, "empty Config", byID.Config, tessera.InstanceConfig{})
		if bare.ID <= got.ID {
			t.Fatalf("second ID = %d, want above %d", bare.ID, got.ID)
		}
	})

	t.Run("AgentMustBeInTheWorkspace", func(t *testing.T) {
		f := setup(t, newStore)
		mine := f.createAgent(f.newAgent("mine"))
		theirs := f.newAgent("theirs")
		theirs.WorkspaceID = f.other.ID
		foreign := f.createAgent(theirs)
		for name, in := range map[string]*tessera.Instance{
			"a missing agent":               {WorkspaceID: f.ws.ID, AgentID: 999, Name: "x"},
			"another workspace's agent":     {WorkspaceID: f.ws.ID, AgentID: foreign.ID, Name: "x"},
			"an agent put in another space": {WorkspaceID: f.other.ID, AgentID: mine.ID, Name: "x"},
			"a missing workspace":           {WorkspaceID: 999, AgentID: mine.ID, Name: "x"},
		} {
			_, err := f.store.InstanceCreate(f.ctx, &tessera.InstanceCreateParams{Instance: in, Now: f.now})
			if code := tessera.ErrorCode(err); code != tessera.ENOTFOUND {
				t.Fatalf("instance of %s: error kind %q (err %v), want %q", name, code, err, tessera.ENOTFOUND)
			}
		}
		for _, ws := range []int64{f.ws.ID, f.other.ID} {
			_, total := f.listInstances(tessera.InstanceListParams{WorkspaceID: ws})
			equal(t, "instances created", total, 0)
		}
	})

	t.Run("OtherWorkspaceIsNotFound", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("mine"))
		inst := f.createInstance(f.ws.ID, a.ID, "mine", fullConfig())

		_, err := f.getInstance(inst.ID, f.other.ID)
		wantCode(t, err, tessera.ENOTFOUND)
		moved := *inst
		moved.WorkspaceID, moved.Name = f.other.ID, "hijacked"
		_, err = f.store.InstanceUpdate(f.ctx, &tessera.InstanceUpdateParams{Instance: &moved, Now: f.at(time.Hour)})
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.InstanceDelete(f.ctx, &tessera.InstanceGetParams{ID: inst.ID, WorkspaceID: f.other.ID}),
			tessera.ENOTFOUND)
		ids, total := f.listInstances(tessera.InstanceListParams{WorkspaceID: f.other.ID})
		equal(t, "other workspace's list", ids, []int64{})
		equal(t, "other workspace's total", total, 0)

		got, err := f.getInstance(inst.ID, f.ws.ID)
		ok(t, err)
		sameJSON(t, "untouched", got, inst)
	})

	t.Run("List", func(t *testing.T) {
		f := setup(t, newStore)
		a, b := f.createAgent(f.newAgent("a")), f.createAgent(f.newAgent("b"))
		theirs := f.newAgent("c")
		theirs.WorkspaceID = f.other.ID
		c := f.createAgent(theirs)
		i := []*tessera.Instance{
			f.createInstance(f.ws.ID, a.ID, "a1", fullConfig()),
			f.createInstance(f.ws.ID, b.ID, "b1", tessera.InstanceConfig{Model: "m"}),
			f.createInstance(f.ws.ID, a.ID, "a2", tessera.InstanceConfig{}),
			f.createInstance(f.ws.ID, a.ID, "a3", tessera.InstanceConfig{MaxIterations: 2}),
		}
		foreign := f.createInstance(f.other.ID, c.ID, "c1", tessera.InstanceConfig{})

		for _, tc := range []struct {
			name  string
			p     tessera.InstanceListParams
			want  []int64
			total int
		}{
			{"all", tessera.InstanceListParams{}, []int64{i[0].ID, i[1].ID, i[2].ID, i[3].ID}, 4},
			{"negative limit", tessera.InstanceListParams{Limit: -1}, []int64{i[0].ID, i[1].ID, i[2].ID, i[3].ID}, 4},
			{"agent a", tessera.InstanceListParams{AgentID: a.ID}, []int64{i[0].ID, i[2].ID, i[3].ID}, 3},
			{"agent b", tessera.InstanceListParams{AgentID: b.ID}, []int64{i[1].ID}, 1},
			{"another workspace's agent", tessera.InstanceListParams{AgentID: c.ID}, []int64{}, 0},
			{"page", tessera.InstanceListParams{Limit: 2, Offset: 1}, []int64{i[1].ID, i[2].ID}, 4},
			{"filtered page", tessera.InstanceListParams{AgentID: a.ID, Limit: 1, Offset: 1}, []int64{i[2].ID}, 3},
			{"past the end", tessera.InstanceListParams{Limit: 2, Offset: 9}, []int64{}, 4},
			{"other workspace", tessera.InstanceListParams{WorkspaceID: f.other.ID}, []int64{foreign.ID}, 1},
		} {
			ids, total := f.listInstances(tc.p)
			equal(t, tc.name+": ids", ids, tc.want)
			equal(t, tc.name+": total", total, tc.total)
		}
		all, _, err := f.store.InstanceList(f.ctx, &tessera.InstanceListParams{WorkspaceID: f.ws.ID})
		ok(t, err)
		sameJSON(t, "rows", all, i)
		equal(t, "Config of a listed row", all[0].Config, fullConfig())
	})

	t.Run("Update", func(t *testing.T) {
		f := setup(t, newStore)
		a, b := f.createAgent(f.newAgent("a")), f.createAgent(f.newAgent("b"))
		inst := f.createInstance(f.ws.ID, a.ID, "before", fullConfig())

		// Name and Config are replaced (not merged); the agent and the
		// creation time stay.
		changed := *inst
		changed.Name, changed.Config = "after", tessera.InstanceConfig{Model: "other/model", Tools: []string{"http"}}
		changed.AgentID, changed.CreatedAt = b.ID, f.at(time.Minute)
		later := f.at(time.Hour)
		got, err := f.store.InstanceUpdate(f.ctx, &tessera.InstanceUpdateParams{Instance: &changed, Now: later})
		ok(t, err)
		want := *inst
		want.Name, want.Config, want.UpdatedAt = "after", changed.Config, stored(later)
		sameJSON(t, "updated", got, &want)
		equal(t, "Config", got.Config, changed.Config)
		reread, err := f.getInstance(inst.ID, f.ws.ID)
		ok(t, err)
		sameJSON(t, "reread", reread, &want)

		ghost := changed
		ghost.ID = 999
		_, err = f.store.InstanceUpdate(f.ctx, &tessera.InstanceUpdateParams{Instance: &ghost, Now: later})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.InstanceUpdate(f.ctx, &tessera.InstanceUpdateParams{Instance: &changed})
		wantCode(t, err, tessera.EINTERNAL) // Now is required
		reread, err = f.getInstance(inst.ID, f.ws.ID)
		ok(t, err)
		sameJSON(t, "after refused updates", reread, &want)
	})

	t.Run("DeleteKeepsExecutions", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		inst := f.createInstance(f.ws.ID, a.ID, "doomed", tessera.InstanceConfig{})
		in := f.newExec(a.ID)
		in.InstanceID = &inst.ID
		e := f.createExec(in)

		params := &tessera.InstanceGetParams{ID: inst.ID, WorkspaceID: f.ws.ID}
		ok(t, f.store.InstanceDelete(f.ctx, params))
		_, err := f.getInstance(inst.ID, f.ws.ID)
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.InstanceDelete(f.ctx, params), tessera.ENOTFOUND)
		_, total := f.listInstances(tessera.InstanceListParams{})
		equal(t, "instances left", total, 0)

		sameJSON(t, "its execution", f.getExec(e.ID), e)
		list, _, err := f.store.ExecutionList(f.ctx, &tessera.ExecutionListParams{WorkspaceID: f.ws.ID, InstanceID: inst.ID})
		ok(t, err)
		equal(t, "executions of the deleted instance", execIDs(list), []int64{e.ID})

		// Ids are never reused.
		again := f.createInstance(f.ws.ID, a.ID, "doomed", tessera.InstanceConfig{})
		if again.ID <= inst.ID {
			t.Fatalf("ID after delete = %d, want above %d", again.ID, inst.ID)
		}
	})

	t.Run("AgentDeleteTakesItsInstances", func(t *testing.T) {
		f := setup(t, newStore)
		a, b := f.createAgent(f.newAgent("a")), f.createAgent(f.newAgent("b"))
		gone := f.createInstance(f.ws.ID, a.ID, "gone", tessera.InstanceConfig{})
		kept := f.createInstance(f.ws.ID, b.ID, "kept", tessera.InstanceConfig{})
		in := f.newExec(a.ID)
		in.InstanceID = &gone.ID
		e := f.createExec(in)

		ok(t, f.store.AgentDelete(f.ctx, &tessera.AgentGetParams{ID: a.ID, WorkspaceID: f.ws.ID}))
		_, err := f.getInstance(gone.ID, f.ws.ID)
		wantCode(t, err, tessera.ENOTFOUND)
		ids, _ := f.listInstances(tessera.InstanceListParams{})
		equal(t, "instances left", ids, []int64{kept.ID})
		sameJSON(t, "the execution of its instance", f.getExec(e.ID), e)
	})

	t.Run("NowIsRequired", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		_, err := f.store.InstanceCreate(f.ctx, &tessera.InstanceCreateParams{
			Instance: &tessera.Instance{WorkspaceID: f.ws.ID, AgentID: a.ID, Name: "x"}})
		wantCode(t, err, tessera.EINTERNAL)
		_, total := f.listInstances(tessera.InstanceListParams{})
		equal(t, "instances created", total, 0)
	})
}
