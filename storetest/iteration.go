package storetest

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

// step returns step n of a tool loop with every field set; its Timestamp is
// f.now plus n seconds.
func (f *fixture) step(n int) *tessera.Iteration {
	it := &tessera.Iteration{
		Iteration: n, Thought: fmt.Sprintf("thought %d", n), Action: "web_search",
		ActionInput: json.RawMessage(fmt.Sprintf(`{"query": "q%d", "n": [1, 2.5], "ü": null}`, n)),
		Observation: fmt.Sprintf("seen %d ✓", n), InputTokens: int64(100 * n), OutputTokens: int64(10 * n),
		LatencyMS: int64(1000 + n), Timestamp: f.at(time.Duration(n) * time.Second),
	}
	if n%2 == 0 { // every other step had failed model calls before it
		it.ProviderAttempts = []tessera.ProviderAttempt{
			{Attempt: 1, Model: "openai/gpt-5", Kind: "rate_limited", StatusCode: 429, Message: "slow down", WaitMS: 2000},
			{Attempt: 2, Model: "anthropic/claude", Kind: "unavailable", Message: "connection reset", WaitMS: 0},
		}
	}
	return it
}

func (f *fixture) appendSteps(id int64, attempt int, now time.Time, steps ...*tessera.Iteration) error {
	return f.store.IterationAppend(f.ctx, &tessera.IterationAppendParams{
		ExecutionID: id, Attempt: attempt, Iterations: steps, Now: now})
}

// steps returns the listed steps of execution id.
func (f *fixture) steps(id int64) []*tessera.Iteration {
	f.t.Helper()
	got, err := f.store.IterationList(f.ctx, &tessera.IterationListParams{ExecutionID: id, WorkspaceID: f.ws.ID})
	ok(f.t, err)
	return got
}

// stepsAre checks that got are the steps want of execution id's attempt,
// in order: ActionInput by JSON meaning ({} when want has none), Timestamp
// as stored, every other field exactly.
func stepsAre(t *testing.T, what string, got []*tessera.Iteration, id int64, attempt int, want ...*tessera.Iteration) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: steps are nil, want a list", what)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d steps %s, want %d", what, len(got), describeSteps(got), len(want))
	}
	for i, w := range want {
		g := *got[i]
		if g.ExecutionID != id || g.Attempt != attempt || g.Iteration != w.Iteration {
			t.Fatalf("%s: step %d = execution %d attempt %d step %d, want execution %d attempt %d step %d (all: %s)",
				what, i, g.ExecutionID, g.Attempt, g.Iteration, id, attempt, w.Iteration, describeSteps(got))
		}
		input := w.ActionInput
		if len(input) == 0 {
			input = json.RawMessage(`{}`)
		}
		if gi, wi := jsonValue(t, g.ActionInput), jsonValue(t, input); !reflect.DeepEqual(gi, wi) {
			t.Fatalf("%s: ActionInput of step %d = %s, want %s", what, w.Iteration, g.ActionInput, input)
		}
		sameTime(t, fmt.Sprintf("%s: Timestamp of step %d", what, w.Iteration), g.Timestamp, w.Timestamp)
		want := *w
		want.ExecutionID, want.Attempt = id, attempt
		g.ActionInput, want.ActionInput = nil, nil
		g.Timestamp, want.Timestamp = time.Time{}, time.Time{}
		equal(t, fmt.Sprintf("%s: step %d", what, w.Iteration), g, want)
	}
}

func describeSteps(steps []*tessera.Iteration) string {
	b, _ := json.Marshal(steps)
	return string(b)
}

func testIterations(t *testing.T, newStore NewStore) {
	t.Run("AppendAndList", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		stepsAre(t, "before any step", f.steps(e.ID), e.ID, 1)

		first, second := f.step(1), f.step(2)
		// The params name the execution and the attempt, whatever the
		// steps say; a step without a Timestamp happened at Now.
		first.ExecutionID, first.Attempt = 999, 7
		second.Error, second.ActionInput, second.Timestamp = "tool failed", nil, time.Time{}
		ok(t, f.appendSteps(e.ID, 1, f.at(2*time.Second), first, second))
		answer := &tessera.Iteration{Iteration: 3, Thought: "I know", Action: tessera.FinalAnswer,
			ActionInput: json.RawMessage(`null`), Timestamp: f.at(3 * time.Second)}
		ok(t, f.appendSteps(e.ID, 1, f.at(3*time.Second), answer))

		wantSecond := *second
		wantSecond.Timestamp = f.at(2 * time.Second)
		wantAnswer := *answer
		wantAnswer.ActionInput = json.RawMessage(`{}`) // null is stored as {}, as nil is
		stepsAre(t, "listed", f.steps(e.ID), e.ID, 1, f.step(1), &wantSecond, &wantAnswer)
		sameTime(t, "UpdatedAt after an append", f.getExec(e.ID).UpdatedAt, f.at(3*time.Second))

		// Steps appended out of order list in order; workers list without
		// a workspace.
		ok(t, f.appendSteps(e.ID, 1, f.at(5*time.Second), f.step(5), f.step(4)))
		got, err := f.store.IterationList(f.ctx, &tessera.IterationListParams{ExecutionID: e.ID})
		ok(t, err)
		stepsAre(t, "listed without workspace", got, e.ID, 1, f.step(1), &wantSecond, &wantAnswer, f.step(4), f.step(5))

		// An empty append is only the fence.
		ok(t, f.appendSteps(e.ID, 1, f.at(6*time.Second)))
		equal(t, "steps after an empty append", len(f.steps(e.ID)), 5)

		// Each execution has its own steps.
		other := f.createExec(f.newExec(7))
		f.claim(other.ID, f.now, lease)
		ok(t, f.appendSteps(other.ID, 1, f.now, f.step(1)))
		stepsAre(t, "another execution", f.steps(other.ID), other.ID, 1, f.step(1))
		equal(t, "steps of the first", len(f.steps(e.ID)), 5)
	})

	t.Run("RetriedExecutionListsItsLatestAttempt", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		ok(t, f.appendSteps(e.ID, 1, f.now, f.step(1), f.step(2), f.step(3)))

		// The first worker is lost; the second attempt has no step yet.
		f.claim(e.ID, f.at(lease+time.Second), lease)
		stepsAre(t, "before the retry's first step", f.steps(e.ID), e.ID, 1, f.step(1), f.step(2), f.step(3))

		// The retry numbers its steps from 1 again.
		retried := f.step(1)
		retried.Thought = "second try"
		ok(t, f.appendSteps(e.ID, 2, f.at(lease+2*time.Second), retried))
		stepsAre(t, "after the retry's first step", f.steps(e.ID), e.ID, 2, retried)

		// Requeued by the sweeper and claimed again: attempt 3.
		requeued, _ := f.requeue(f.at(3*lease), 5, 0)
		equal(t, "requeued", requeued, []int64{e.ID})
		f.claim(e.ID, f.at(3*lease), lease)
		stepsAre(t, "after the third claim", f.steps(e.ID), e.ID, 2, retried)
		ok(t, f.appendSteps(e.ID, 3, f.at(3*lease), f.step(1), f.step(2)))
		stepsAre(t, "the third attempt", f.steps(e.ID), e.ID, 3, f.step(1), f.step(2))
	})

	t.Run("AppendIsFenced", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		ok(t, f.appendSteps(e.ID, 1, f.now, f.step(1)))
		second := f.claim(e.ID, f.at(lease+time.Second), lease) // the first worker lost its lease

		late := f.at(lease + 2*time.Second)
		wantCode(t, f.appendSteps(e.ID, 1, late, f.step(2)), tessera.ECONFLICT)
		wantCode(t, f.appendSteps(e.ID, 1, late), tessera.ECONFLICT)
		wantCode(t, f.appendSteps(e.ID, 3, late, f.step(1)), tessera.ECONFLICT) // not claimed yet
		stepsAre(t, "after stale appends", f.steps(e.ID), e.ID, 1, f.step(1))
		sameJSON(t, "execution after stale appends", f.getExec(e.ID), second)

		ok(t, f.appendSteps(e.ID, 2, late, f.step(1)))
		stepsAre(t, "the holder's steps", f.steps(e.ID), e.ID, 2, f.step(1))

		_, err := f.finish(e.ID, 2, f.at(lease+3*time.Second), "done")
		ok(t, err)
		wantCode(t, f.appendSteps(e.ID, 2, f.at(lease+4*time.Second), f.step(2)), tessera.ECONFLICT) // terminal
		stepsAre(t, "after a late append", f.steps(e.ID), e.ID, 2, f.step(1))

		queued := f.createExec(f.newExec(7))
		wantCode(t, f.appendSteps(queued.ID, 0, f.now, f.step(1)), tessera.ECONFLICT) // nobody holds it
		stepsAre(t, "queued execution", f.steps(queued.ID), queued.ID, 0)

		wantCode(t, f.appendSteps(999, 1, f.now, f.step(1)), tessera.ENOTFOUND)
	})

	t.Run("DuplicateStepIsConflict", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		ok(t, f.appendSteps(e.ID, 1, f.at(time.Second), f.step(1), f.step(2)))

		again := f.step(2)
		again.Thought = "overwritten?"
		later := f.at(time.Minute)
		wantCode(t, f.appendSteps(e.ID, 1, later, f.step(3), again), tessera.ECONFLICT)
		wantCode(t, f.appendSteps(e.ID, 1, later, f.step(4), f.step(4)), tessera.ECONFLICT)
		stepsAre(t, "after refused appends", f.steps(e.ID), e.ID, 1, f.step(1), f.step(2))
		sameTime(t, "UpdatedAt after refused appends", f.getExec(e.ID).UpdatedAt, f.at(time.Second))

		ok(t, f.appendSteps(e.ID, 1, later, f.step(3)))
		stepsAre(t, "after the next step", f.steps(e.ID), e.ID, 1, f.step(1), f.step(2), f.step(3))
	})

	t.Run("AppendValidates", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		claimed := f.claim(e.ID, f.now, lease)
		invalid := func(raw string) *tessera.Iteration {
			s := f.step(2)
			s.ActionInput = json.RawMessage(raw)
			return s
		}
		numbered := func(n int) *tessera.Iteration {
			s := f.step(2)
			s.Iteration = n
			return s
		}
		var beyond int64 = math.MaxInt32 + 1 // a variable: int may be 32 bits
		for name, step := range map[string]*tessera.Iteration{
			"truncated JSON":      invalid(`{"query":`),
			"two JSON values":     invalid(`{} {}`),
			"not JSON":            invalid(`query=cats`),
			"step 0":              numbered(0),
			"a negative step":     numbered(-1),
			"a nil step":          nil,
			"a step beyond int32": numbered(int(beyond)),
		} {
			err := f.appendSteps(e.ID, 1, f.at(time.Second), f.step(1), step)
			if code := tessera.ErrorCode(err); code != tessera.EINVALID {
				t.Fatalf("append of %s: error kind %q (err %v), want %q", name, code, err, tessera.EINVALID)
			}
		}
		err := f.store.IterationAppend(f.ctx, &tessera.IterationAppendParams{ExecutionID: e.ID, Attempt: 1,
			Iterations: []*tessera.Iteration{f.step(1)}})
		wantCode(t, err, tessera.EINTERNAL) // Now is required
		stepsAre(t, "after refused appends", f.steps(e.ID), e.ID, 1)
		sameJSON(t, "execution after refused appends", f.getExec(e.ID), claimed)

		// Any JSON value is an action input, a \u0000 escape included.
		for i, raw := range []string{`"just text"`, `[1, "two"]`, ` { "spaced" : true } `, `42`, `{"nul": "a\u0000b"}`} {
			ok(t, f.appendSteps(e.ID, 1, f.now, &tessera.Iteration{Iteration: i + 1, ActionInput: json.RawMessage(raw),
				Timestamp: f.now}))
		}
		got := f.steps(e.ID)
		equal(t, "steps", len(got), 5)
		equal(t, "action input", jsonValue(t, got[2].ActionInput), any(map[string]any{"spaced": true}))
		equal(t, "action input with NUL", jsonValue(t, got[4].ActionInput), any(map[string]any{"nul": "a\x00b"}))
	})

	t.Run("ListChecksTheExecution", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		ok(t, f.appendSteps(e.ID, 1, f.now, f.step(1)))

		_, err := f.store.IterationList(f.ctx, &tessera.IterationListParams{ExecutionID: e.ID, WorkspaceID: f.other.ID})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.IterationList(f.ctx, &tessera.IterationListParams{ExecutionID: 999, WorkspaceID: f.ws.ID})
		wantCode(t, err, tessera.ENOTFOUND)
		_, err = f.store.IterationList(f.ctx, &tessera.IterationListParams{ExecutionID: 999})
		wantCode(t, err, tessera.ENOTFOUND)

		theirs := f.newExec(7)
		theirs.WorkspaceID = f.other.ID
		foreign := f.createExec(theirs)
		got, err := f.store.IterationList(f.ctx, &tessera.IterationListParams{ExecutionID: foreign.ID, WorkspaceID: f.other.ID})
		ok(t, err)
		stepsAre(t, "another workspace's execution", got, foreign.ID, 0)
	})
}
