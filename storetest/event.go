package storetest

import (
	"encoding/json"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

// wantEvent is an expected event. Data is compared by JSON meaning, not
// bytes: a backend may store JSON in a normalised form.
type wantEvent struct {
	Seq  int64
	Type string
	Data any
}

func queuedEvent(seq int64, attempt int) wantEvent {
	return wantEvent{seq, tessera.EventStatus, tessera.StatusData{Status: tessera.StatusQueued, Attempt: attempt}}
}

func runningEvent(seq int64, attempt int) wantEvent {
	return wantEvent{seq, tessera.EventStatus, tessera.StatusData{Status: tessera.StatusRunning, Attempt: attempt}}
}

func doneEvent(seq int64, data tessera.DoneData) wantEvent {
	return wantEvent{seq, tessera.EventDone, data}
}

// events returns every event of execution id.
func (f *fixture) events(id int64) []*tessera.Event {
	f.t.Helper()
	got, err := f.store.EventListAfter(f.ctx, &tessera.EventListParams{ExecutionID: id, WorkspaceID: f.ws.ID})
	ok(f.t, err)
	return got
}

func (f *fixture) appendEvents(id int64, attempt int, now time.Time, events ...tessera.EventInput) ([]*tessera.Event, error) {
	return f.store.EventAppend(f.ctx, &tessera.EventAppendParams{ExecutionID: id, Attempt: attempt, Events: events, Now: now})
}

func delta(text string) tessera.EventInput {
	return tessera.EventInput{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: text}}
}

// jsonValue decodes JSON (or encodes then decodes a Go value) into the
// generic form, for comparing by meaning.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	raw, isRaw := v.(json.RawMessage)
	if !isRaw {
		var err error
		raw, err = json.Marshal(v)
		ok(t, err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("event data %q is not JSON: %v", raw, err)
	}
	return out
}

// eventsAre checks that got are the events of execution id that want
// describes, in order.
func eventsAre(t *testing.T, what string, got []*tessera.Event, id int64, want ...wantEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events %s, want %d", what, len(got), describe(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ExecutionID != id || g.Seq != w.Seq || g.Type != w.Type {
			t.Fatalf("%s: event %d = execution %d seq %d %q, want execution %d seq %d %q (all: %s)",
				what, i, g.ExecutionID, g.Seq, g.Type, id, w.Seq, w.Type, describe(got))
		}
		if gd, wd := jsonValue(t, g.Data), jsonValue(t, w.Data); !reflect.DeepEqual(gd, wd) {
			t.Fatalf("%s: data of event %d (%s) = %s, want %#v", what, w.Seq, w.Type, g.Data, wd)
		}
	}
}

func describe(events []*tessera.Event) string {
	b, _ := json.Marshal(events)
	return string(b)
}

// second returns the second of two values.
func second[A, B any](_ A, b B) B { return b }

// seqs returns the seqs of events.
func seqs(events []*tessera.Event) []int64 {
	out := make([]int64, len(events))
	for i, ev := range events {
		out[i] = ev.Seq
	}
	return out
}

// seqRange returns from, from+1, …, to.
func seqRange(from, to int64) []int64 {
	out := []int64{}
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func testEvents(t *testing.T, newStore NewStore) {
	t.Run("NumberedInOrderAcrossTheRun", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		equal(t, "LastEventSeq after create", e.LastEventSeq, int64(1))
		created := f.events(e.ID)
		eventsAre(t, "after create", created, e.ID, queuedEvent(1, 0))
		sameTime(t, "CreatedAt of the first event", created[0].CreatedAt, f.now)

		claimed := f.claim(e.ID, f.at(time.Second), lease)
		equal(t, "LastEventSeq after claim", claimed.LastEventSeq, int64(2))

		appended, err := f.appendEvents(e.ID, 1, f.at(2*time.Second),
			tessera.EventInput{Type: tessera.EventIterationStarted, Data: map[string]int{"iteration": 1}},
			delta("Hel"))
		ok(t, err)
		eventsAre(t, "appended", appended, e.ID,
			wantEvent{3, tessera.EventIterationStarted, map[string]int{"iteration": 1}},
			wantEvent{4, tessera.EventDelta, tessera.DeltaData{Text: "Hel"}})
		sameTime(t, "CreatedAt of an appended event", appended[1].CreatedAt, f.at(2*time.Second))
		equal(t, "LastEventSeq after append", f.getExec(e.ID).LastEventSeq, int64(4))

		usage := tessera.Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 2}
		appended, err = f.appendEvents(e.ID, 1, f.at(3*time.Second), tessera.EventInput{Type: tessera.EventUsage, Data: usage})
		ok(t, err)
		eventsAre(t, "appended alone", appended, e.ID, wantEvent{5, tessera.EventUsage, usage})

		done, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
			ID: e.ID, Attempt: 1, Status: tessera.StatusCompleted, Output: "Hello", Usage: usage,
			Cost: 0.25, Credits: 0.5, Now: f.at(4 * time.Second),
			Events: []tessera.EventInput{delta("lo"), {Type: tessera.EventIterationFinished}},
		})
		ok(t, err)
		equal(t, "LastEventSeq after finish", done.LastEventSeq, int64(8))
		equal(t, "LastEventSeq read back", f.getExec(e.ID).LastEventSeq, int64(8))

		all := f.events(e.ID)
		eventsAre(t, "the whole log", all, e.ID,
			queuedEvent(1, 0),
			runningEvent(2, 1),
			wantEvent{3, tessera.EventIterationStarted, map[string]int{"iteration": 1}},
			wantEvent{4, tessera.EventDelta, tessera.DeltaData{Text: "Hel"}},
			wantEvent{5, tessera.EventUsage, usage},
			wantEvent{6, tessera.EventDelta, tessera.DeltaData{Text: "lo"}},
			wantEvent{7, tessera.EventIterationFinished, map[string]any{}}, // nil data is {}
			doneEvent(8, tessera.DoneData{Status: tessera.StatusCompleted, Output: "Hello", Usage: usage,
				Cost: 0.25, Credits: 0.5}))
		for i, at := range []time.Duration{0, time.Second, 2 * time.Second, 2 * time.Second, 3 * time.Second,
			4 * time.Second, 4 * time.Second, 4 * time.Second} {
			sameTime(t, "CreatedAt of event "+all[i].Type, all[i].CreatedAt, f.at(at))
		}

		// Each execution numbers its own log.
		other := f.createExec(f.newExec(7))
		eventsAre(t, "another execution", f.events(other.ID), other.ID, queuedEvent(1, 0))
	})

	t.Run("IdempotentReplayWritesNoEvent", func(t *testing.T) {
		f := setup(t, newStore)
		in := f.newExec(7)
		in.IdempotencyKey, in.RequestHash = "k", "h"
		first := f.createExec(in)
		again, created, err := f.store.ExecutionCreate(f.ctx, &tessera.ExecutionCreateParams{Execution: in, Now: f.now})
		ok(t, err)
		equal(t, "created", created, false)
		equal(t, "LastEventSeq", again.LastEventSeq, int64(1))
		eventsAre(t, "after the replay", f.events(first.ID), first.ID, queuedEvent(1, 0))
	})

	t.Run("AppendIsFenced", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		second := f.claim(e.ID, f.at(lease+time.Second), lease) // the first worker lost its lease
		before := f.events(e.ID)

		_, err := f.appendEvents(e.ID, 1, f.at(lease+2*time.Second), delta("stale"))
		wantCode(t, err, tessera.ECONFLICT)
		_, err = f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: e.ID, Attempt: 1,
			Status: tessera.StatusCompleted, Events: []tessera.EventInput{delta("stale")}, Now: f.at(lease + 2*time.Second)})
		wantCode(t, err, tessera.ECONFLICT)
		sameJSON(t, "events after stale writes", f.events(e.ID), before)
		sameJSON(t, "execution after stale writes", f.getExec(e.ID), second)

		// The seq was not advanced: the holder's next event follows on.
		got, err := f.appendEvents(e.ID, 2, f.at(lease+3*time.Second), delta("fresh"))
		ok(t, err)
		equal(t, "seqs", seqs(got), []int64{second.LastEventSeq + 1})

		done, err := f.finish(e.ID, 2, f.at(lease+4*time.Second), "fresh")
		ok(t, err)
		_, err = f.appendEvents(e.ID, 2, f.at(lease+5*time.Second), delta("late"))
		wantCode(t, err, tessera.ECONFLICT) // terminal
		equal(t, "LastEventSeq after a late append", f.getExec(e.ID).LastEventSeq, done.LastEventSeq)
		equal(t, "last event", f.events(e.ID)[done.LastEventSeq-1].Type, tessera.EventDone)

		queued := f.createExec(f.newExec(7))
		_, err = f.appendEvents(queued.ID, 0, f.now, delta("early"))
		wantCode(t, err, tessera.ECONFLICT) // nobody holds it
		eventsAre(t, "queued execution", f.events(queued.ID), queued.ID, queuedEvent(1, 0))

		_, err = f.appendEvents(999, 1, f.now, delta("nowhere"))
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("AppendValidates", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		claimed := f.claim(e.ID, f.now, lease)
		for name, events := range map[string][]tessera.EventInput{
			"data that does not marshal": {delta("fine"), {Type: tessera.EventDelta, Data: make(chan int)}},
			"invalid raw JSON":           {{Type: tessera.EventDelta, Data: json.RawMessage(`{"text":`)}},
			"no type":                    {{Data: tessera.DeltaData{Text: "x"}}},
			"a done event":               {{Type: tessera.EventDone, Data: tessera.DoneData{Status: tessera.StatusCompleted}}},
			"a status event":             {{Type: tessera.EventStatus, Data: tessera.StatusData{Status: tessera.StatusRunning}}},
		} {
			_, err := f.appendEvents(e.ID, 1, f.now, events...)
			if code := tessera.ErrorCode(err); code != tessera.EINVALID {
				t.Fatalf("append of %s: error kind %q (err %v), want %q", name, code, err, tessera.EINVALID)
			}
			_, err = f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: e.ID, Attempt: 1,
				Status: tessera.StatusCompleted, Events: events, Now: f.now})
			if code := tessera.ErrorCode(err); code != tessera.EINVALID {
				t.Fatalf("finish with %s: error kind %q (err %v), want %q", name, code, err, tessera.EINVALID)
			}
		}
		// The done event is built from the terminal state: a number JSON
		// cannot hold refuses the whole finish.
		_, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: e.ID, Attempt: 1,
			Status: tessera.StatusCompleted, Cost: math.NaN(), Now: f.now})
		wantCode(t, err, tessera.EINVALID)
		sameJSON(t, "execution after refused writes", f.getExec(e.ID), claimed)
		eventsAre(t, "log after refused writes", f.events(e.ID), e.ID, queuedEvent(1, 0), runningEvent(2, 1))

		var nilMap map[string]any
		got, err := f.appendEvents(e.ID, 1, f.now,
			tessera.EventInput{Type: tessera.EventError, Data: json.RawMessage(`{"message": "tool failed", "n": [1, 2]}`)},
			tessera.EventInput{Type: tessera.EventError},
			tessera.EventInput{Type: tessera.EventError, Data: nilMap},
			tessera.EventInput{Type: "custom.type", Data: []string{"any", "json"}})
		ok(t, err)
		want := []wantEvent{
			{3, tessera.EventError, map[string]any{"message": "tool failed", "n": []any{1.0, 2.0}}},
			{4, tessera.EventError, map[string]any{}},
			{5, tessera.EventError, map[string]any{}},
			{6, "custom.type", []string{"any", "json"}},
		}
		eventsAre(t, "returned", got, e.ID, want...)
		eventsAre(t, "stored", f.events(e.ID)[2:], e.ID, want...)

		got, err = f.appendEvents(e.ID, 1, f.now)
		ok(t, err)
		equal(t, "events of an empty append", len(got), 0)
		equal(t, "LastEventSeq after an empty append", f.getExec(e.ID).LastEventSeq, int64(6))

		_, err = f.store.EventAppend(f.ctx, &tessera.EventAppendParams{ExecutionID: e.ID, Attempt: 1,
			Events: []tessera.EventInput{delta("x")}})
		wantCode(t, err, tessera.EINTERNAL) // Now is required
	})

	t.Run("ConcurrentAppendsHaveNoGaps", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		const writers, rounds, batch = 6, 10, 3
		var wg sync.WaitGroup
		var mu sync.Mutex
		var returned []int64
		for range writers {
			wg.Go(func() {
				for range rounds {
					events := make([]tessera.EventInput, batch)
					for i := range events {
						events[i] = delta("x")
					}
					got, err := f.appendEvents(e.ID, 1, f.now, events...)
					if err != nil {
						t.Error(err)
						return
					}
					s := seqs(got)
					if len(s) != batch || s[batch-1]-s[0] != batch-1 {
						t.Errorf("one append got seqs %v, want %d in a row", s, batch)
					}
					mu.Lock()
					returned = append(returned, s...)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		last := int64(2 + writers*rounds*batch)
		equal(t, "stored seqs", seqs(f.events(e.ID)), seqRange(1, last))
		equal(t, "returned seqs", len(returned), writers*rounds*batch)
		equal(t, "LastEventSeq", f.getExec(e.ID).LastEventSeq, last)
	})

	t.Run("ListAfter", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		_, err := f.appendEvents(e.ID, 1, f.now, delta("a"), delta("b"), delta("c"), delta("d"), delta("e"))
		ok(t, err)
		list := func(p tessera.EventListParams) []int64 {
			t.Helper()
			p.ExecutionID = e.ID
			got, err := f.store.EventListAfter(f.ctx, &p)
			ok(t, err)
			return seqs(got)
		}
		equal(t, "all", list(tessera.EventListParams{WorkspaceID: f.ws.ID}), seqRange(1, 7))
		equal(t, "after 3, limit 2", list(tessera.EventListParams{WorkspaceID: f.ws.ID, AfterSeq: 3, Limit: 2}), []int64{4, 5})
		equal(t, "after 5", list(tessera.EventListParams{WorkspaceID: f.ws.ID, AfterSeq: 5, Limit: 10}), []int64{6, 7})
		equal(t, "after the last", list(tessera.EventListParams{WorkspaceID: f.ws.ID, AfterSeq: 7}), []int64{})
		equal(t, "without workspace (workers)", list(tessera.EventListParams{AfterSeq: 6}), []int64{7})
		got, err := f.store.EventListAfter(f.ctx, &tessera.EventListParams{ExecutionID: e.ID, WorkspaceID: f.ws.ID, AfterSeq: 3, Limit: 1})
		ok(t, err)
		eventsAre(t, "row", got, e.ID, wantEvent{4, tessera.EventDelta, tessera.DeltaData{Text: "b"}})

		_, err = f.store.EventListAfter(f.ctx, &tessera.EventListParams{ExecutionID: e.ID, WorkspaceID: f.other.ID})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.EventListAfter(f.ctx, &tessera.EventListParams{ExecutionID: 999, WorkspaceID: f.ws.ID})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.EventListAfter(f.ctx, &tessera.EventListParams{ExecutionID: 999})
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("ListDefaultLimit", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		many := make([]tessera.EventInput, 1003)
		for i := range many {
			many[i] = delta("x")
		}
		_, err := f.appendEvents(e.ID, 1, f.now, many...)
		ok(t, err)
		got, err := f.store.EventListAfter(f.ctx, &tessera.EventListParams{ExecutionID: e.ID})
		ok(t, err)
		equal(t, "first page", seqs(got), seqRange(1, 1000))
		got, err = f.store.EventListAfter(f.ctx, &tessera.EventListParams{ExecutionID: e.ID, AfterSeq: 1000, Limit: -1})
		ok(t, err)
		equal(t, "second page", seqs(got), seqRange(1001, 1005))
	})

	t.Run("DeleteBefore", func(t *testing.T) {
		f := setup(t, newStore)
		cutoff := f.at(time.Hour)
		finishAt := func(at time.Time) *tessera.Execution {
			e := f.createExec(f.newExec(7))
			f.claim(e.ID, f.now, 2*time.Hour)
			_, err := f.finish(e.ID, 1, at, "ok")
			ok(t, err)
			return e
		}
		// Old and terminal: completed, cancelled while queued, failed by
		// the sweeper. Their events go.
		oldDone := finishAt(f.at(10 * time.Minute))
		oldCancelled := f.createExec(f.newExec(7))
		_, err := f.store.ExecutionCancel(f.ctx, &tessera.ExecutionCancelParams{ID: oldCancelled.ID, WorkspaceID: f.ws.ID, Now: f.at(20 * time.Minute)})
		ok(t, err)
		oldFailed := f.createExec(f.newExec(7))
		f.claim(oldFailed.ID, f.now, time.Second)
		equal(t, "given up", len(second(f.requeue(f.at(30*time.Minute), 1, 0))), 1)
		// Kept: terminal at or after the cutoff, or not terminal.
		atCutoff := finishAt(cutoff)
		recent := finishAt(f.at(2 * time.Hour))
		running := f.createExec(f.newExec(7))
		f.claim(running.ID, f.now, 3*time.Hour)
		cancelling := f.createExec(f.newExec(7))
		f.claim(cancelling.ID, f.now, 3*time.Hour)
		_, err = f.store.ExecutionCancel(f.ctx, &tessera.ExecutionCancelParams{ID: cancelling.ID, WorkspaceID: f.ws.ID, Now: f.now})
		ok(t, err)
		queued := f.createExec(f.newExec(7))
		theirs := f.newExec(7)
		theirs.WorkspaceID = f.other.ID
		foreign := f.createExec(theirs)
		f.claim(foreign.ID, f.now, 2*time.Hour)
		_, err = f.finish(foreign.ID, 1, f.at(3*time.Minute), "ok") // old too: workspaces do not matter
		ok(t, err)

		old := []int64{oldDone.ID, oldCancelled.ID, oldFailed.ID, foreign.ID}
		kept := map[int64][]*tessera.Event{}
		for _, e := range []*tessera.Execution{atCutoff, recent, running, cancelling, queued} {
			kept[e.ID] = f.events(e.ID)
		}
		count := func(id int64) int {
			got, err := f.store.EventListAfter(f.ctx, &tessera.EventListParams{ExecutionID: id})
			ok(t, err)
			return len(got)
		}
		total := 0
		for _, id := range old {
			total += count(id)
		}
		equal(t, "old events", total, 3+2+3+3)

		deleted := func(limit int) int {
			t.Helper()
			n, err := f.store.EventDeleteBefore(f.ctx, &tessera.EventDeleteParams{Before: cutoff, Limit: limit})
			ok(t, err)
			return n
		}
		first := deleted(3)
		purged := 0
		for _, id := range old {
			if count(id) == 0 {
				purged++
			}
		}
		equal(t, "executions purged by a pass of limit 3", purged, 3)
		rest := deleted(3)
		equal(t, "events deleted by both passes", first+rest, total)
		equal(t, "events deleted by a third pass", deleted(0), 0)

		for _, id := range old {
			equal(t, "events left of an old execution", count(id), 0)
			equal(t, "status of a purged execution", f.getExecAny(id).Status.Terminal(), true)
		}
		for id, events := range kept {
			sameJSON(t, "events of a kept execution", f.events(id), events)
		}
	})

	t.Run("DeleteBeforeDefaultLimit", func(t *testing.T) {
		f := setup(t, newStore)
		var ids []int64
		for range 3 {
			e := f.createExec(f.newExec(7))
			f.claim(e.ID, f.now, time.Hour)
			_, err := f.finish(e.ID, 1, f.now, "ok")
			ok(t, err)
			ids = append(ids, e.ID)
		}
		n, err := f.store.EventDeleteBefore(f.ctx, &tessera.EventDeleteParams{Before: f.at(time.Second)})
		ok(t, err)
		equal(t, "deleted", n, 3*3)
		for _, id := range ids {
			equal(t, "events left", len(f.events(id)), 0)
		}
	})
}
