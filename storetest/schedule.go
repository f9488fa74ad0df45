package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

// newSchedule returns an enabled, unsaved schedule of agentID in the
// default workspace, next due at next.
func (f *fixture) newSchedule(agentID int64, name string, next time.Time) *tessera.Schedule {
	return &tessera.Schedule{
		WorkspaceID: f.ws.ID, AgentID: agentID, Name: name, Cron: "*/5 * * * *", Timezone: "Europe/Paris",
		Input: json.RawMessage(`{"topic":"sales","n":3}`), Enabled: true, NextRunAt: &next,
	}
}

func (f *fixture) createSchedule(sc *tessera.Schedule) *tessera.Schedule {
	f.t.Helper()
	got, err := f.store.ScheduleCreate(f.ctx, &tessera.ScheduleCreateParams{Schedule: sc, Now: f.now})
	ok(f.t, err)
	return got
}

func (f *fixture) getSchedule(id int64) *tessera.Schedule {
	f.t.Helper()
	got, err := f.store.ScheduleGet(f.ctx, f.ws.ID, id)
	ok(f.t, err)
	return got
}

// listSchedules lists schedules of p.WorkspaceID (the default workspace
// when zero) and returns their ids and the total.
func (f *fixture) listSchedules(p tessera.ScheduleListParams) ([]int64, int) {
	f.t.Helper()
	if p.WorkspaceID == 0 {
		p.WorkspaceID = f.ws.ID
	}
	got, total, err := f.store.ScheduleList(f.ctx, &p)
	ok(f.t, err)
	return scheduleIDs(got), total
}

// due returns the ids of the schedules due at now.
func (f *fixture) due(now time.Time, limit int) []int64 {
	f.t.Helper()
	got, err := f.store.ScheduleDue(f.ctx, now, limit)
	ok(f.t, err)
	return scheduleIDs(got)
}

func (f *fixture) advance(p tessera.ScheduleAdvanceParams) bool {
	f.t.Helper()
	if p.Now.IsZero() {
		p.Now = f.at(time.Hour)
	}
	moved, err := f.store.ScheduleAdvance(f.ctx, &p)
	ok(f.t, err)
	return moved
}

func scheduleIDs(list []*tessera.Schedule) []int64 {
	out := make([]int64, len(list))
	for i, sc := range list {
		out[i] = sc.ID
	}
	return out
}

func testSchedules(t *testing.T, newStore NewStore) {
	t.Run("CreateAndGet", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("reports"))
		inst := f.createInstance(f.ws.ID, a.ID, "acme", tessera.InstanceConfig{})
		// The store decides the id and the times; a new schedule has not run.
		in := f.newSchedule(a.ID, "daily report", f.at(5*time.Minute))
		in.ID, in.InstanceID, in.CreatedAt = 77, &inst.ID, f.at(-time.Hour)
		in.LastRunAt, in.LastExecutionID = ptr(f.at(-time.Minute)), ptr(int64(9))
		got, err := f.store.ScheduleCreate(f.ctx, &tessera.ScheduleCreateParams{Schedule: in, Now: f.now})
		ok(t, err)
		if got.ID == 0 || got.ID == 77 {
			t.Fatalf("ID = %d, want one the store chose", got.ID)
		}
		equal(t, "WorkspaceID", got.WorkspaceID, f.ws.ID)
		equal(t, "AgentID", got.AgentID, a.ID)
		equal(t, "InstanceID", got.InstanceID, &inst.ID)
		equal(t, "Name, Cron, Timezone", []string{got.Name, got.Cron, got.Timezone},
			[]string{"daily report", "*/5 * * * *", "Europe/Paris"})
		equal(t, "Input", string(got.Input), `{"topic":"sales","n":3}`)
		equal(t, "Enabled", got.Enabled, true)
		sameTimePtr(t, "NextRunAt", got.NextRunAt, f.at(5*time.Minute))
		if got.LastRunAt != nil || got.LastExecutionID != nil {
			t.Fatalf("LastRunAt, LastExecutionID = %v, %v; want nil for a new schedule", got.LastRunAt, got.LastExecutionID)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, f.now)
		sameTime(t, "UpdatedAt", got.UpdatedAt, f.now)
		sameJSON(t, "read back", f.getSchedule(got.ID), got)

		// A disabled schedule has no next run; an unset input reads back {}.
		off := f.newSchedule(a.ID, "off", f.now)
		off.Enabled, off.NextRunAt, off.Input = false, nil, nil
		bare := f.createSchedule(off)
		reread := f.getSchedule(bare.ID)
		equal(t, "Enabled", reread.Enabled, false)
		equal(t, "InstanceID", reread.InstanceID, (*int64)(nil))
		equal(t, "NextRunAt", reread.NextRunAt, (*time.Time)(nil))
		equal(t, "empty Input", string(reread.Input), `{}`)
		if bare.ID <= got.ID {
			t.Fatalf("second ID = %d, want above %d", bare.ID, got.ID)
		}
	})

	t.Run("OwnerMustBeInTheWorkspace", func(t *testing.T) {
		f := setup(t, newStore)
		mine, sibling := f.createAgent(f.newAgent("mine")), f.createAgent(f.newAgent("sibling"))
		theirs := f.newAgent("theirs")
		theirs.WorkspaceID = f.other.ID
		foreign := f.createAgent(theirs)
		foreignInst := f.createInstance(f.other.ID, foreign.ID, "theirs", tessera.InstanceConfig{})
		siblingInst := f.createInstance(f.ws.ID, sibling.ID, "sibling's", tessera.InstanceConfig{})
		missing := int64(999)
		for name, mod := range map[string]func(sc *tessera.Schedule){
			"a missing agent":               func(sc *tessera.Schedule) { sc.AgentID = 999 },
			"another workspace's agent":     func(sc *tessera.Schedule) { sc.AgentID = foreign.ID },
			"an agent put in another space": func(sc *tessera.Schedule) { sc.WorkspaceID = f.other.ID },
			"a missing workspace":           func(sc *tessera.Schedule) { sc.WorkspaceID = 999 },
			"a missing instance":            func(sc *tessera.Schedule) { sc.InstanceID = &missing },
			"another agent's instance":      func(sc *tessera.Schedule) { sc.InstanceID = &siblingInst.ID },
			"another workspace's instance":  func(sc *tessera.Schedule) { sc.InstanceID = &foreignInst.ID },
		} {
			sc := f.newSchedule(mine.ID, "x", f.now)
			mod(sc)
			_, err := f.store.ScheduleCreate(f.ctx, &tessera.ScheduleCreateParams{Schedule: sc, Now: f.now})
			if code := tessera.ErrorCode(err); code != tessera.ENOTFOUND {
				t.Fatalf("schedule of %s: error kind %q (err %v), want %q", name, code, err, tessera.ENOTFOUND)
			}
		}
		for _, ws := range []int64{f.ws.ID, f.other.ID} {
			_, total := f.listSchedules(tessera.ScheduleListParams{WorkspaceID: ws})
			equal(t, "schedules created", total, 0)
		}
		equal(t, "due", f.due(f.at(time.Hour), 0), []int64{})
	})

	t.Run("OtherWorkspaceIsNotFound", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("mine"))
		sc := f.createSchedule(f.newSchedule(a.ID, "mine", f.now))

		_, err := f.store.ScheduleGet(f.ctx, f.other.ID, sc.ID)
		wantCode(t, err, tessera.ENOTFOUND)
		moved := *sc
		moved.WorkspaceID, moved.Name = f.other.ID, "hijacked"
		_, err = f.store.ScheduleUpdate(f.ctx, &tessera.ScheduleUpdateParams{Schedule: &moved, Now: f.at(time.Hour)})
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.ScheduleDelete(f.ctx, f.other.ID, sc.ID), tessera.ENOTFOUND)
		ids, total := f.listSchedules(tessera.ScheduleListParams{WorkspaceID: f.other.ID})
		equal(t, "other workspace's list", ids, []int64{})
		equal(t, "other workspace's total", total, 0)
		sameJSON(t, "untouched", f.getSchedule(sc.ID), sc)
	})

	t.Run("List", func(t *testing.T) {
		f := setup(t, newStore)
		a, b := f.createAgent(f.newAgent("a")), f.createAgent(f.newAgent("b"))
		theirs := f.newAgent("c")
		theirs.WorkspaceID = f.other.ID
		c := f.createAgent(theirs)
		s := []*tessera.Schedule{
			f.createSchedule(f.newSchedule(a.ID, "a1", f.now)),
			f.createSchedule(f.newSchedule(b.ID, "b1", f.now)),
			f.createSchedule(f.newSchedule(a.ID, "a2", f.now)),
			f.createSchedule(f.newSchedule(a.ID, "a3", f.now)),
		}
		other := f.newSchedule(c.ID, "c1", f.now)
		other.WorkspaceID = f.other.ID
		foreign := f.createSchedule(other)

		for _, tc := range []struct {
			name  string
			p     tessera.ScheduleListParams
			want  []int64
			total int
		}{
			{"all", tessera.ScheduleListParams{}, []int64{s[0].ID, s[1].ID, s[2].ID, s[3].ID}, 4},
			{"agent a", tessera.ScheduleListParams{AgentID: a.ID}, []int64{s[0].ID, s[2].ID, s[3].ID}, 3},
			{"another workspace's agent", tessera.ScheduleListParams{AgentID: c.ID}, []int64{}, 0},
			{"page", tessera.ScheduleListParams{Limit: 2, Offset: 1}, []int64{s[1].ID, s[2].ID}, 4},
			{"filtered page", tessera.ScheduleListParams{AgentID: a.ID, Limit: 1, Offset: 1}, []int64{s[2].ID}, 3},
			{"past the end", tessera.ScheduleListParams{Limit: 2, Offset: 9}, []int64{}, 4},
			{"other workspace", tessera.ScheduleListParams{WorkspaceID: f.other.ID}, []int64{foreign.ID}, 1},
		} {
			ids, total := f.listSchedules(tc.p)
			equal(t, tc.name+": ids", ids, tc.want)
			equal(t, tc.name+": total", total, tc.total)
		}
		all, _, err := f.store.ScheduleList(f.ctx, &tessera.ScheduleListParams{WorkspaceID: f.ws.ID})
		ok(t, err)
		sameJSON(t, "rows", all, s)
	})

	t.Run("Update", func(t *testing.T) {
		f := setup(t, newStore)
		a, b := f.createAgent(f.newAgent("a")), f.createAgent(f.newAgent("b"))
		inst := f.createInstance(f.ws.ID, a.ID, "acme", tessera.InstanceConfig{})
		in := f.newSchedule(a.ID, "before", f.at(5*time.Minute))
		in.InstanceID = &inst.ID
		sc := f.createSchedule(in)
		ex := f.createExec(f.newExec(a.ID))
		if !f.advance(tessera.ScheduleAdvanceParams{ID: sc.ID, From: *sc.NextRunAt, Next: f.at(10 * time.Minute), ExecutionID: ex.ID}) {
			t.Fatal("ScheduleAdvance of a due schedule = false")
		}
		sc = f.getSchedule(sc.ID)

		// Name, Cron, Timezone, Input, Enabled and NextRunAt are replaced;
		// the agent, the instance, the last run and the creation time stay.
		changed := *sc
		changed.Name, changed.Cron, changed.Timezone = "after", "@daily", "UTC"
		changed.Input, changed.Enabled, changed.NextRunAt = json.RawMessage(`{"k":"v"}`), false, nil
		changed.AgentID, changed.InstanceID, changed.CreatedAt = b.ID, nil, f.at(time.Minute)
		changed.LastRunAt, changed.LastExecutionID = nil, nil
		later := f.at(2 * time.Hour)
		got, err := f.store.ScheduleUpdate(f.ctx, &tessera.ScheduleUpdateParams{Schedule: &changed, Now: later})
		ok(t, err)
		want := *sc
		want.Name, want.Cron, want.Timezone, want.Input = "after", "@daily", "UTC", json.RawMessage(`{"k":"v"}`)
		want.Enabled, want.NextRunAt, want.UpdatedAt = false, nil, stored(later)
		sameJSON(t, "updated", got, &want)
		sameJSON(t, "reread", f.getSchedule(sc.ID), &want)

		// Enabled again with a next run.
		changed.Enabled, changed.NextRunAt = true, ptr(f.at(3*time.Hour))
		got, err = f.store.ScheduleUpdate(f.ctx, &tessera.ScheduleUpdateParams{Schedule: &changed, Now: later})
		ok(t, err)
		sameTimePtr(t, "NextRunAt", got.NextRunAt, f.at(3*time.Hour))
		equal(t, "Enabled", got.Enabled, true)

		ghost := changed
		ghost.ID = 999
		_, err = f.store.ScheduleUpdate(f.ctx, &tessera.ScheduleUpdateParams{Schedule: &ghost, Now: later})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.ScheduleUpdate(f.ctx, &tessera.ScheduleUpdateParams{Schedule: &changed})
		wantCode(t, err, tessera.EINTERNAL) // Now is required
	})

	t.Run("Delete", func(t *testing.T) {
		f := setup(t, newStore)
		a, b := f.createAgent(f.newAgent("a")), f.createAgent(f.newAgent("b"))
		inst := f.createInstance(f.ws.ID, b.ID, "acme", tessera.InstanceConfig{})
		doomed := f.createSchedule(f.newSchedule(a.ID, "doomed", f.now))
		ofAgent := f.createSchedule(f.newSchedule(a.ID, "of the agent", f.now))
		withInst := f.newSchedule(b.ID, "of the instance", f.now)
		withInst.InstanceID = &inst.ID
		ofInstance := f.createSchedule(withInst)
		kept := f.createSchedule(f.newSchedule(b.ID, "kept", f.now))

		ok(t, f.store.ScheduleDelete(f.ctx, f.ws.ID, doomed.ID))
		_, err := f.store.ScheduleGet(f.ctx, f.ws.ID, doomed.ID)
		wantCode(t, err, tessera.ENOTFOUND)
		wantCode(t, f.store.ScheduleDelete(f.ctx, f.ws.ID, doomed.ID), tessera.ENOTFOUND)

		// Deleting an agent or an instance takes its schedules.
		ok(t, f.store.InstanceDelete(f.ctx, &tessera.InstanceGetParams{ID: inst.ID, WorkspaceID: f.ws.ID}))
		ok(t, f.store.AgentDelete(f.ctx, &tessera.AgentGetParams{ID: a.ID, WorkspaceID: f.ws.ID}))
		for _, id := range []int64{ofAgent.ID, ofInstance.ID} {
			_, err := f.store.ScheduleGet(f.ctx, f.ws.ID, id)
			wantCode(t, err, tessera.ENOTFOUND)
		}
		ids, _ := f.listSchedules(tessera.ScheduleListParams{})
		equal(t, "schedules left", ids, []int64{kept.ID})
		equal(t, "due", f.due(f.at(time.Hour), 0), []int64{kept.ID})
	})

	t.Run("Due", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		theirs := f.newAgent("c")
		theirs.WorkspaceID = f.other.ID
		c := f.createAgent(theirs)
		late := f.createSchedule(f.newSchedule(a.ID, "late", f.at(-time.Minute)))
		now := f.createSchedule(f.newSchedule(a.ID, "exactly now", f.now))
		other := f.newSchedule(c.ID, "earliest, elsewhere", f.at(-time.Hour))
		other.WorkspaceID = f.other.ID
		earliest := f.createSchedule(other)
		tie := f.createSchedule(f.newSchedule(a.ID, "late too", f.at(-time.Minute)))
		f.createSchedule(f.newSchedule(a.ID, "future", f.at(time.Microsecond)))
		off := f.newSchedule(a.ID, "disabled", f.at(-2*time.Hour))
		off.Enabled = false // with a next run still set: never due
		f.createSchedule(off)
		never := f.newSchedule(a.ID, "no next run", f.now)
		never.NextRunAt = nil
		f.createSchedule(never)

		equal(t, "due now", f.due(f.now, 0), []int64{earliest.ID, late.ID, tie.ID, now.ID})
		equal(t, "negative limit", f.due(f.now, -1), []int64{earliest.ID, late.ID, tie.ID, now.ID})
		equal(t, "limited", f.due(f.now, 2), []int64{earliest.ID, late.ID})
		equal(t, "a minute ago", f.due(f.at(-time.Minute), 0), []int64{earliest.ID, late.ID, tie.ID})
		equal(t, "long ago", f.due(f.at(-24*time.Hour), 0), []int64{})
		got, err := f.store.ScheduleDue(f.ctx, f.now, 1)
		ok(t, err)
		sameJSON(t, "due row", got[0], earliest)
		_, err = f.store.ScheduleDue(f.ctx, time.Time{}, 1)
		wantCode(t, err, tessera.EINTERNAL) // now is required
	})

	t.Run("AdvanceIsCompareAndSet", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		sc := f.createSchedule(f.newSchedule(a.ID, "s", f.now))
		slot, next := *sc.NextRunAt, f.at(5*time.Minute)
		ex := f.createExec(f.newExec(a.ID))
		later := f.at(time.Second)

		if !f.advance(tessera.ScheduleAdvanceParams{ID: sc.ID, From: slot, Next: next, ExecutionID: ex.ID, Now: later}) {
			t.Fatal("first ScheduleAdvance from the slot = false, want true")
		}
		want := *sc
		want.NextRunAt, want.LastRunAt, want.LastExecutionID, want.UpdatedAt = ptr(stored(next)), ptr(stored(slot)), &ex.ID, stored(later)
		sameJSON(t, "advanced", f.getSchedule(sc.ID), &want)
		equal(t, "due after the advance", f.due(f.now, 0), []int64{})

		// A second node advancing from the same slot changes nothing.
		if f.advance(tessera.ScheduleAdvanceParams{ID: sc.ID, From: slot, Next: f.at(time.Hour), ExecutionID: 4242}) {
			t.Fatal("second ScheduleAdvance from the same slot = true, want false")
		}
		sameJSON(t, "after the lost race", f.getSchedule(sc.ID), &want)

		// Without an execution (its run was refused) the last one stays.
		if !f.advance(tessera.ScheduleAdvanceParams{ID: sc.ID, From: next, Next: f.at(10 * time.Minute), Now: later}) {
			t.Fatal("ScheduleAdvance from the new slot = false, want true")
		}
		got := f.getSchedule(sc.ID)
		equal(t, "LastExecutionID", got.LastExecutionID, &ex.ID)
		sameTimePtr(t, "LastRunAt", got.LastRunAt, next)
		sameTimePtr(t, "NextRunAt", got.NextRunAt, f.at(10*time.Minute))

		// A disabled or missing schedule does not advance.
		off := *got
		off.Enabled = false
		_, err := f.store.ScheduleUpdate(f.ctx, &tessera.ScheduleUpdateParams{Schedule: &off, Now: later})
		ok(t, err)
		if f.advance(tessera.ScheduleAdvanceParams{ID: sc.ID, From: f.at(10 * time.Minute), Next: f.at(time.Hour)}) {
			t.Fatal("ScheduleAdvance of a disabled schedule = true, want false")
		}
		if f.advance(tessera.ScheduleAdvanceParams{ID: 999, From: f.now, Next: f.at(time.Hour)}) {
			t.Fatal("ScheduleAdvance of a missing schedule = true, want false")
		}
		_, err = f.store.ScheduleAdvance(f.ctx, &tessera.ScheduleAdvanceParams{ID: sc.ID, From: slot, Next: next})
		wantCode(t, err, tessera.EINTERNAL) // Now is required
	})

	t.Run("NowIsRequired", func(t *testing.T) {
		f := setup(t, newStore)
		a := f.createAgent(f.newAgent("a"))
		_, err := f.store.ScheduleCreate(f.ctx, &tessera.ScheduleCreateParams{Schedule: f.newSchedule(a.ID, "x", f.now)})
		wantCode(t, err, tessera.EINTERNAL)
		_, total := f.listSchedules(tessera.ScheduleListParams{})
		equal(t, "schedules created", total, 0)
	})
}
