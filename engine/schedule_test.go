package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
)

// schedule creates an enabled schedule of the bundle's agent, due at its
// first slot after the clock's now.
func (b *bundle) schedule(t *testing.T, cron, tz, input string, mod func(*tessera.Schedule)) *tessera.Schedule {
	t.Helper()
	next, err := engine.NextRun(cron, tz, b.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	sc := &tessera.Schedule{WorkspaceID: 1, AgentID: b.agent.ID, Name: "s", Cron: cron, Timezone: tz,
		Input: json.RawMessage(input), Enabled: true, NextRunAt: &next}
	if mod != nil {
		mod(sc)
	}
	sc, err = b.store.ScheduleCreate(context.Background(), &tessera.ScheduleCreateParams{Schedule: sc, Now: b.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func (b *bundle) getSchedule(t *testing.T, id int64) *tessera.Schedule {
	t.Helper()
	sc, err := b.store.ScheduleGet(context.Background(), 1, id)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// scheduled returns the executions schedules started, oldest first.
func (b *bundle) scheduled(t *testing.T) []*tessera.Execution {
	t.Helper()
	list, _, err := b.store.ExecutionList(context.Background(), &tessera.ExecutionListParams{WorkspaceID: 1, TriggerType: tessera.TriggerScheduled})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// fire runs one scan and checks how many schedules it fired.
func fire(t *testing.T, e *engine.Engine, want int) {
	t.Helper()
	n, err := e.FireDueSchedules(context.Background())
	if err != nil {
		t.Fatalf("FireDueSchedules: %v", err)
	}
	if n != want {
		t.Fatalf("FireDueSchedules fired %d, want %d", n, want)
	}
}

// at sets the clock to the given UTC time of the bundle's day.
func (b *bundle) at(hour, minute, second int) {
	b.clock.mu.Lock()
	defer b.clock.mu.Unlock()
	b.clock.now = time.Date(2026, 1, 2, hour, minute, second, 0, time.UTC)
}

func slotOf(t *testing.T, ex *tessera.Execution) string {
	t.Helper()
	var meta struct {
		ScheduledFor string `json:"scheduled_for"`
	}
	if err := json.Unmarshal(ex.Metadata, &meta); err != nil {
		t.Fatalf("metadata %s: %v", ex.Metadata, err)
	}
	return meta.ScheduledFor
}

func TestScheduleFiresOncePerSlot(t *testing.T) {
	b := setup(t) // the clock is 03:04:05 UTC
	e := b.engine(t, nil)
	sc := b.schedule(t, "*/5 * * * *", "UTC", `{"message":"Write the digest.","lang":"French","unused":1}`, nil)
	if want := time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC); !sc.NextRunAt.Equal(want) {
		t.Fatalf("NextRunAt = %v, want %v", sc.NextRunAt, want)
	}

	fire(t, e, 0) // not due yet
	b.at(3, 5, 0)
	fire(t, e, 1)
	fire(t, e, 0)
	b.at(3, 9, 59)
	fire(t, e, 0)
	b.at(3, 10, 2)
	fire(t, e, 1)
	fire(t, e, 0)

	runs := b.scheduled(t)
	if len(runs) != 2 {
		t.Fatalf("%d scheduled executions, want 2", len(runs))
	}
	for i, slot := range []string{"2026-01-02T03:05:00Z", "2026-01-02T03:10:00Z"} {
		ex := runs[i]
		if got := slotOf(t, ex); got != slot {
			t.Errorf("run %d is for %s, want %s", i, got, slot)
		}
		if ex.TriggerType != tessera.TriggerScheduled || ex.Status != tessera.StatusQueued || ex.APIKeyID != nil {
			t.Errorf("run %d: trigger %q, status %q, key %v", i, ex.TriggerType, ex.Status, ex.APIKeyID)
		}
		if want := map[string]any{"lang": "French"}; !reflect.DeepEqual(ex.Inputs, want) {
			t.Errorf("run %d: inputs %v, want %v", i, ex.Inputs, want)
		}
		if ex.Input != "Write the digest." || len(ex.Messages) != 1 || ex.Messages[0].Content != "Write the digest." {
			t.Errorf("run %d: input %q, messages %v", i, ex.Input, ex.Messages)
		}
		key := fmt.Sprintf("schedule:%d:%d", sc.ID, time.Date(2026, 1, 2, 3, 5*(i+1), 0, 0, time.UTC).Unix())
		if ex.IdempotencyKey != key {
			t.Errorf("run %d: idempotency key %q, want %q", i, ex.IdempotencyKey, key)
		}
	}
	got := b.getSchedule(t, sc.ID)
	if !got.NextRunAt.Equal(time.Date(2026, 1, 2, 3, 15, 0, 0, time.UTC)) || !got.LastRunAt.Equal(time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)) ||
		got.LastExecutionID == nil || *got.LastExecutionID != runs[1].ID {
		t.Fatalf("after two runs: next %v, last %v, last execution %v", got.NextRunAt, got.LastRunAt, got.LastExecutionID)
	}
}

func TestScheduleTwoEnginesFireASlotOnce(t *testing.T) {
	b := setup(t)
	engines := []*engine.Engine{b.engine(t, nil), b.engine(t, nil)}
	var ids []int64
	for range 5 {
		ids = append(ids, b.schedule(t, "* * * * *", "UTC", `{"message":"tick"}`, nil).ID)
	}
	b.at(3, 5, 0)

	var wg sync.WaitGroup
	var mu sync.Mutex
	fired := 0
	for _, e := range engines {
		for range 4 {
			wg.Go(func() {
				n, err := e.FireDueSchedules(context.Background())
				if err != nil {
					t.Errorf("FireDueSchedules: %v", err)
				}
				mu.Lock()
				fired += n
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if fired != len(ids) {
		t.Errorf("the engines advanced %d schedules, want %d", fired, len(ids))
	}
	if runs := b.scheduled(t); len(runs) != len(ids) {
		t.Fatalf("%d executions for %d schedules due once", len(runs), len(ids))
	}

	// A node that died after submitting and before advancing left its
	// schedule due for the same slot: the next scan finds the execution
	// already there and only advances.
	sc := b.getSchedule(t, ids[0])
	slot := time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)
	sc.NextRunAt = &slot
	if _, err := b.store.ScheduleUpdate(context.Background(), &tessera.ScheduleUpdateParams{Schedule: sc, Now: b.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	fire(t, engines[1], 1)
	if runs := b.scheduled(t); len(runs) != len(ids) {
		t.Fatalf("%d executions after a replayed slot, want %d", len(runs), len(ids))
	}
	if got := b.getSchedule(t, ids[0]); !got.NextRunAt.Equal(slot.Add(time.Minute)) {
		t.Fatalf("NextRunAt = %v, want %v", got.NextRunAt, slot.Add(time.Minute))
	}
}

func TestScheduleMissedRunsCoalesceIntoOne(t *testing.T) {
	b := setup(t) // 03:04:05
	e := b.engine(t, nil)
	fiveMin := b.schedule(t, "*/5 * * * *", "UTC", `{"message":"five"}`, nil)
	everyMin := b.schedule(t, "* * * * *", "UTC", `{"message":"one"}`, nil)

	// The server was down for a year and two hours.
	b.clock.Add(365*24*time.Hour + 2*time.Hour)
	now := b.clock.Now() // 2027-01-02 05:04:05
	fire(t, e, 2)
	fire(t, e, 0)
	runs := b.scheduled(t)
	if len(runs) != 2 {
		t.Fatalf("%d runs after the outage, want one per schedule", len(runs))
	}
	for _, tc := range []struct {
		sc         *tessera.Schedule
		slot, next time.Time
	}{
		{fiveMin, time.Date(2027, 1, 2, 5, 0, 0, 0, time.UTC), time.Date(2027, 1, 2, 5, 5, 0, 0, time.UTC)},
		{everyMin, time.Date(2027, 1, 2, 5, 4, 0, 0, time.UTC), time.Date(2027, 1, 2, 5, 5, 0, 0, time.UTC)},
	} {
		got := b.getSchedule(t, tc.sc.ID)
		if got.LastExecutionID == nil || !got.NextRunAt.Equal(tc.next) {
			t.Fatalf("schedule %d: next %v, last execution %v; want next %v", tc.sc.ID, got.NextRunAt, got.LastExecutionID, tc.next)
		}
		if ex := b.get(t, *got.LastExecutionID); slotOf(t, ex) != tc.slot.Format(time.RFC3339) || !ex.CreatedAt.Equal(now) {
			t.Errorf("schedule %d ran for %s at %v, want the latest missed slot %v, now", tc.sc.ID, slotOf(t, ex), ex.CreatedAt, tc.slot)
		}
	}
	b.clock.Add(time.Minute) // 05:05:05: both due again, on their own slots
	fire(t, e, 2)
}

func TestScheduleDisabledNeverFires(t *testing.T) {
	b := setup(t)
	e := b.engine(t, nil)
	b.schedule(t, "* * * * *", "UTC", `{"message":"x"}`, func(sc *tessera.Schedule) { sc.Enabled, sc.NextRunAt = false, nil })
	// Disabled with a next run left set: still never due.
	b.schedule(t, "* * * * *", "UTC", `{"message":"y"}`, func(sc *tessera.Schedule) { sc.Enabled = false })
	for range 3 {
		b.clock.Add(time.Hour)
		fire(t, e, 0)
	}
	if runs := b.scheduled(t); len(runs) != 0 {
		t.Fatalf("%d runs of disabled schedules", len(runs))
	}
}

func TestScheduleRefusedRunSkipsTheSlot(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	b.agent.Questions = []tessera.Question{{Name: "lang", Type: tessera.QuestionText, Required: true}}
	if _, err := b.store.AgentUpdate(ctx, &tessera.AgentUpdateParams{Agent: b.agent, Now: b.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e := b.engine(t, nil)
	sc := b.schedule(t, "*/5 * * * *", "UTC", `{"message":"no lang"}`, nil)
	b.at(3, 5, 1)
	fire(t, e, 0)
	got := b.getSchedule(t, sc.ID)
	if !got.NextRunAt.Equal(time.Date(2026, 1, 2, 3, 10, 0, 0, time.UTC)) || got.LastExecutionID != nil {
		t.Fatalf("after a refused run: next %v, last execution %v; want 03:10 and none", got.NextRunAt, got.LastExecutionID)
	}
	fire(t, e, 0) // not due again: no retry loop
	if runs := b.scheduled(t); len(runs) != 0 {
		t.Fatalf("%d runs of a refused schedule", len(runs))
	}
}

func TestScheduleOfAnInstanceUsesItsConfig(t *testing.T) {
	b := setup(t)
	inst, err := b.store.InstanceCreate(context.Background(), &tessera.InstanceCreateParams{Now: b.clock.Now(), Instance: &tessera.Instance{
		WorkspaceID: 1, AgentID: b.agent.ID, Name: "acme",
		Config: tessera.InstanceConfig{MaxIterations: 4, InputDefaults: map[string]any{"lang": "German"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := b.engine(t, nil)
	b.schedule(t, "@hourly", "Asia/Kolkata", `{"message":"hello"}`, func(sc *tessera.Schedule) { sc.InstanceID = &inst.ID })
	b.at(4, 30, 0) // Kolkata is UTC+5:30: its hours begin at half past in UTC
	fire(t, e, 1)
	runs := b.scheduled(t)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	ex := runs[0]
	if ex.InstanceID == nil || *ex.InstanceID != inst.ID || ex.MaxIterations != 4 || ex.Inputs["lang"] != "German" || ex.Input != "hello" {
		t.Fatalf("instance run: instance %v, max iterations %d, inputs %v, input %q", ex.InstanceID, ex.MaxIterations, ex.Inputs, ex.Input)
	}
}

func TestRunSchedulesScansUntilStopped(t *testing.T) {
	b := setup(t)
	e := b.engine(t, nil)
	b.schedule(t, "* * * * *", "UTC", `{"message":"loop"}`, nil)
	b.at(3, 5, 0)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.RunSchedules(ctx, 10*time.Millisecond)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(b.scheduled(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("RunSchedules did not fire the due schedule")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if runs := b.scheduled(t); len(runs) != 1 {
		t.Fatalf("%d runs of one slot", len(runs))
	}
}

func TestNextRun(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		cron, tz string
		after    string
		want     string
	}{
		{"* * * * *", "", "2026-03-14T10:00:00Z", "2026-03-14T10:01:00Z"},
		{"*/15 * * * *", "UTC", "2026-03-14T10:00:30Z", "2026-03-14T10:15:00Z"},
		// 9:00 in Paris is 8:00 UTC in winter, 7:00 after the clocks go
		// forward (29 March 2026).
		{"0 9 * * *", "Europe/Paris", "2026-03-14T09:00:00Z", "2026-03-15T08:00:00Z"},
		{"0 9 * * *", "Europe/Paris", "2026-03-29T00:00:00Z", "2026-03-29T07:00:00Z"},
		{"0 9 * * 1-5", "America/New_York", "2026-03-14T00:00:00Z", "2026-03-16T13:00:00Z"}, // a Saturday
		{"@daily", "Asia/Tokyo", "2026-03-14T00:00:00Z", "2026-03-14T15:00:00Z"},
		{"@monthly", "UTC", "2026-03-14T00:00:00Z", "2026-04-01T00:00:00Z"},
	} {
		got, err := engine.NextRun(tc.cron, tc.tz, utc(tc.after))
		if err != nil || !got.Equal(utc(tc.want)) || got.Location() != time.UTC {
			t.Errorf("NextRun(%q, %q, %s) = %v, %v; want %s", tc.cron, tc.tz, tc.after, got, err, tc.want)
		}
	}
	runs, err := engine.NextRuns("0 */6 * * *", "UTC", utc("2026-03-14T05:00:00Z"), 3)
	if err != nil || len(runs) != 3 || !runs[2].Equal(utc("2026-03-14T18:00:00Z")) {
		t.Errorf("NextRuns = %v, %v", runs, err)
	}

	for _, tc := range []struct {
		cron, tz string
		fields   []string
	}{
		{"", "UTC", []string{"cron"}},
		{"not cron", "UTC", []string{"cron"}},
		{"* * * *", "UTC", []string{"cron"}},
		{"0 0 0 * * *", "UTC", []string{"cron"}}, // seconds are not a field
		{"61 * * * *", "UTC", []string{"cron"}},
		{"@every 5m", "UTC", []string{"cron"}},
		{"TZ=Europe/Paris * * * * *", "UTC", []string{"cron"}},
		{"0 0 30 2 *", "UTC", []string{"cron"}}, // never fires
		{"* * * * *", "Mars/Olympus", []string{"timezone"}},
		{"* * * * *", "Local", []string{"timezone"}},
		{"nope", "nowhere", []string{"cron", "timezone"}},
	} {
		_, err := engine.NextRun(tc.cron, tc.tz, utc("2026-03-14T00:00:00Z"))
		e, ok := tessera.AsError(err)
		if !ok || e.Code != tessera.EINVALID {
			t.Errorf("NextRun(%q, %q): err %v, want EINVALID", tc.cron, tc.tz, err)
			continue
		}
		for _, f := range tc.fields {
			if len(e.Fields[f]) == 0 {
				t.Errorf("NextRun(%q, %q): fields %v, want %v", tc.cron, tc.tz, e.Fields, tc.fields)
			}
		}
		if len(e.Fields) != len(tc.fields) {
			t.Errorf("NextRun(%q, %q): fields %v, want %v", tc.cron, tc.tz, e.Fields, tc.fields)
		}
	}
}
