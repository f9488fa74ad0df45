package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

const lease = 30 * time.Second

func (f *fixture) heartbeat(id int64, attempt int, now time.Time) error {
	_, err := f.heartbeatCancel(id, attempt, now)
	return err
}

// heartbeatCancel renews the lease and returns whether a cancel was
// requested.
func (f *fixture) heartbeatCancel(id int64, attempt int, now time.Time) (bool, error) {
	return f.store.ExecutionHeartbeat(f.ctx, &tessera.ExecutionHeartbeatParams{
		ID: id, Attempt: attempt, Now: now, LeaseUntil: now.Add(lease)})
}

func (f *fixture) finish(id int64, attempt int, now time.Time, output string) (*tessera.Execution, error) {
	return f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
		ID: id, Attempt: attempt, Status: tessera.StatusCompleted, Output: output, Now: now})
}

func (f *fixture) requeue(now time.Time, maxAttempts, limit int) (requeued, failed []int64) {
	f.t.Helper()
	requeued, failed, err := f.store.ExecutionRequeueExpired(f.ctx, &tessera.ExecutionRequeueParams{
		Now: now, MaxAttempts: maxAttempts, Limit: limit})
	ok(f.t, err)
	return requeued, failed
}

// tryClaim claims at now and returns the error.
func (f *fixture) tryClaim(id int64, now time.Time) error {
	_, err := f.store.ExecutionClaim(f.ctx, &tessera.ExecutionClaimParams{ID: id, Now: now, LeaseUntil: now.Add(lease)})
	return err
}

func testLeases(t *testing.T, newStore NewStore) {
	t.Run("ClaimHeartbeatFinish", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))

		claimed := f.claim(e.ID, f.now, lease)
		equal(t, "Status", claimed.Status, tessera.StatusRunning)
		equal(t, "Attempt", claimed.Attempt, 1)
		sameTimePtr(t, "LeaseExpiresAt", claimed.LeaseExpiresAt, f.at(lease))
		sameTimePtr(t, "StartedAt", claimed.StartedAt, f.now)
		wantCode(t, f.tryClaim(e.ID, f.at(time.Second)), tessera.ECONFLICT) // the lease is live

		cancelRequested, err := f.heartbeatCancel(e.ID, 1, f.at(20*time.Second))
		ok(t, err)
		equal(t, "cancel requested", cancelRequested, false)
		sameTimePtr(t, "LeaseExpiresAt after heartbeat", f.getExec(e.ID).LeaseExpiresAt, f.at(20*time.Second+lease))
		wantCode(t, f.tryClaim(e.ID, f.at(lease+time.Second)), tessera.ECONFLICT) // renewed
		// A lease is live through its last instant, as for the sweeper.
		wantCode(t, f.tryClaim(e.ID, f.at(20*time.Second+lease)), tessera.ECONFLICT)

		done := f.at(40 * time.Second)
		got, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
			ID: e.ID, Attempt: 1, Status: tessera.StatusCompleted, Output: "answer", ModelUsed: "echo/echo",
			Usage: tessera.Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 2},
			Cost:  0.25, Credits: 0.5, Now: done,
		})
		ok(t, err)
		equal(t, "Status", got.Status, tessera.StatusCompleted)
		equal(t, "Output", got.Output, "answer")
		equal(t, "ModelUsed", got.ModelUsed, "echo/echo")
		equal(t, "Usage", got.Usage, tessera.Usage{InputTokens: 10, OutputTokens: 5, CachedInputTokens: 2})
		equal(t, "Cost, Credits", [2]float64{got.Cost, got.Credits}, [2]float64{0.25, 0.5})
		sameTimePtr(t, "CompletedAt", got.CompletedAt, done)
		sameTime(t, "UpdatedAt", got.UpdatedAt, done)
		sameTimePtr(t, "StartedAt", got.StartedAt, f.now)
		if got.LeaseExpiresAt != nil {
			t.Fatalf("LeaseExpiresAt = %v after finish, want nil", got.LeaseExpiresAt)
		}
		sameJSON(t, "get", f.getExec(e.ID), got)

		// Terminal is terminal.
		_, err = f.finish(e.ID, 1, done, "again")
		wantCode(t, err, tessera.ECONFLICT)
		wantCode(t, f.heartbeat(e.ID, 1, done), tessera.ECONFLICT)
		wantCode(t, f.tryClaim(e.ID, f.at(time.Hour)), tessera.ECONFLICT)
		sameJSON(t, "after late writes", f.getExec(e.ID), got)
	})

	t.Run("StaleAttemptIsFenced", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)

		// The first worker stalls; its lease expires and a second claims.
		second := f.claim(e.ID, f.at(lease+time.Microsecond), lease)
		equal(t, "Attempt", second.Attempt, 2)
		sameTimePtr(t, "StartedAt (first claim)", second.StartedAt, f.now)

		wantCode(t, f.heartbeat(e.ID, 1, f.at(lease)), tessera.ECONFLICT)
		_, err := f.finish(e.ID, 1, f.at(lease), "stale")
		wantCode(t, err, tessera.ECONFLICT)
		wantCode(t, f.store.ExecutionRelease(f.ctx, &tessera.ExecutionHeartbeatParams{ID: e.ID, Attempt: 1, Now: f.at(lease)}),
			tessera.ECONFLICT)
		sameJSON(t, "untouched by the stale worker", f.getExec(e.ID), second)

		got, err := f.finish(e.ID, 2, f.at(time.Minute), "fresh")
		ok(t, err)
		equal(t, "Output", got.Output, "fresh")
	})

	t.Run("NotClaimable", func(t *testing.T) {
		f := setup(t, newStore)
		wantCode(t, f.tryClaim(999, f.now), tessera.ENOTFOUND)
		wantCode(t, f.heartbeat(999, 1, f.now), tessera.ENOTFOUND)
		_, err := f.finish(999, 1, f.now, "")
		wantCode(t, err, tessera.ENOTFOUND)

		e := f.createExec(f.newExec(7))
		wantCode(t, f.heartbeat(e.ID, 0, f.now), tessera.ECONFLICT) // queued: nobody holds it
		_, err = f.finish(e.ID, 0, f.now, "")
		wantCode(t, err, tessera.ECONFLICT)
		equal(t, "Status", f.getExec(e.ID).Status, tessera.StatusQueued)
	})

	t.Run("FinishNeedsTerminalStatus", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)
		_, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
			ID: e.ID, Attempt: 1, Status: tessera.StatusQueued, Now: f.now})
		if err == nil {
			t.Fatal("ExecutionFinish accepted a non-terminal status")
		}
		equal(t, "Status", f.getExec(e.ID).Status, tessera.StatusRunning)
	})

	t.Run("EveryTerminalStatus", func(t *testing.T) {
		f := setup(t, newStore)
		for _, st := range []tessera.Status{tessera.StatusCompleted, tessera.StatusFailed, tessera.StatusCancelled, tessera.StatusTimeout} {
			e := f.createExec(f.newExec(7))
			f.claim(e.ID, f.now, lease)
			got, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
				ID: e.ID, Attempt: 1, Status: st, Error: "why", Now: f.now})
			ok(t, err)
			equal(t, "Status", got.Status, st)
			equal(t, "Error", got.Error, "why")
		}
	})

	t.Run("ReleaseThenRequeue", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		f.claim(e.ID, f.now, lease)

		stop := f.at(5 * time.Second)
		ok(t, f.store.ExecutionRelease(f.ctx, &tessera.ExecutionHeartbeatParams{ID: e.ID, Attempt: 1, Now: stop}))
		released := f.getExec(e.ID)
		equal(t, "Status", released.Status, tessera.StatusRunning)
		sameTimePtr(t, "LeaseExpiresAt", released.LeaseExpiresAt, stop)

		requeued, failed := f.requeue(stop, 3, 0) // expired at stop, not before it
		equal(t, "requeued at the release time", len(requeued)+len(failed), 0)

		requeued, failed = f.requeue(stop.Add(time.Microsecond), 3, 0)
		equal(t, "requeued", requeued, []int64{e.ID})
		equal(t, "failed", len(failed), 0)
		got := f.getExec(e.ID)
		equal(t, "Status", got.Status, tessera.StatusQueued)
		equal(t, "Attempt", got.Attempt, 1)
		equal(t, "JobID", got.JobID, int64(firstJobID+1))
		equal(t, "enqueued", f.enq.ExecutionIDs(), []int64{e.ID, e.ID})
		if got.LeaseExpiresAt != nil {
			t.Fatalf("LeaseExpiresAt = %v, want nil", got.LeaseExpiresAt)
		}
		equal(t, "Attempt on the next claim", f.claim(e.ID, f.at(time.Minute), lease).Attempt, 2)
	})
}

func testRequeue(t *testing.T, newStore NewStore) {
	t.Run("RequeueOrFail", func(t *testing.T) {
		f := setup(t, newStore)
		once := f.createExec(f.newExec(7))
		f.claim(once.ID, f.now, lease)
		twice := f.createExec(f.newExec(7))
		f.claim(twice.ID, f.now, time.Second)
		f.claim(twice.ID, f.at(2*time.Second), lease)
		live := f.createExec(f.newExec(7))
		f.claim(live.ID, f.now, time.Hour)
		queued := f.createExec(f.newExec(7))
		done := f.createExec(f.newExec(7))
		f.claim(done.ID, f.now, time.Second)
		_, err := f.finish(done.ID, 1, f.now, "ok")
		ok(t, err)

		sweep := f.at(time.Minute)
		requeued, failed := f.requeue(sweep, 2, 0)
		equal(t, "requeued", requeued, []int64{once.ID})
		equal(t, "failed", failed, []int64{twice.ID})

		got := f.getExec(once.ID)
		equal(t, "requeued Status", got.Status, tessera.StatusQueued)
		if got.JobID == once.JobID || got.LeaseExpiresAt != nil {
			t.Fatalf("requeued JobID, lease = %d, %v; want a new job and no lease", got.JobID, got.LeaseExpiresAt)
		}

		gaveUp := f.getExec(twice.ID)
		equal(t, "failed Status", gaveUp.Status, tessera.StatusFailed)
		if !strings.Contains(gaveUp.Error, "interrupted 2 times") {
			t.Fatalf("Error = %q, want it to say it was interrupted 2 times", gaveUp.Error)
		}
		sameTimePtr(t, "CompletedAt", gaveUp.CompletedAt, sweep)
		if gaveUp.LeaseExpiresAt != nil {
			t.Fatalf("LeaseExpiresAt = %v, want nil", gaveUp.LeaseExpiresAt)
		}
		wantCode(t, f.heartbeat(twice.ID, 2, sweep), tessera.ECONFLICT)

		// A requeue keeps the attempt; giving up is the end of the log.
		eventsAre(t, "events of the requeued", f.events(once.ID), once.ID,
			queuedEvent(1, 0), runningEvent(2, 1), queuedEvent(3, 1))
		equal(t, "LastEventSeq of the requeued", got.LastEventSeq, int64(3))
		eventsAre(t, "events of the failed", f.events(twice.ID), twice.ID,
			queuedEvent(1, 0), runningEvent(2, 1), runningEvent(3, 2),
			doneEvent(4, tessera.DoneData{Status: tessera.StatusFailed, Error: gaveUp.Error}))
		equal(t, "LastEventSeq of the failed", gaveUp.LastEventSeq, int64(4))
		sameTime(t, "CreatedAt of the done event", f.events(twice.ID)[3].CreatedAt, sweep)

		equal(t, "live Status", f.getExec(live.ID).Status, tessera.StatusRunning)
		equal(t, "queued JobID", f.getExec(queued.ID).JobID, queued.JobID)
		equal(t, "done Status", f.getExec(done.ID).Status, tessera.StatusCompleted)

		requeued, failed = f.requeue(sweep, 2, 0)
		equal(t, "second sweep", len(requeued)+len(failed), 0)
	})

	t.Run("CancelRequestedIsCancelled", func(t *testing.T) {
		f := setup(t, newStore)
		// a's cancel was asked for, then its worker died; b's worker died;
		// c has used its attempts and its cancel was asked for too.
		a := f.createExec(f.newExec(7))
		f.claim(a.ID, f.now, time.Second)
		b := f.createExec(f.newExec(7))
		f.claim(b.ID, f.now, 2*time.Second)
		c := f.createExec(f.newExec(7))
		f.claim(c.ID, f.now, time.Microsecond)
		f.claim(c.ID, f.at(time.Millisecond), 3*time.Second)
		for _, e := range []*tessera.Execution{a, c} {
			_, err := f.cancel(e.ID, f.ws.ID, f.at(time.Millisecond))
			ok(t, err)
		}

		sweep := f.at(time.Minute)
		requeued, ended := f.requeue(sweep, 2, 0)
		equal(t, "requeued", requeued, []int64{b.ID})
		equal(t, "ended", ended, []int64{a.ID, c.ID})
		equal(t, "enqueued", f.enq.ExecutionIDs(), []int64{a.ID, b.ID, c.ID, b.ID})
		for _, e := range []*tessera.Execution{a, c} {
			got := f.getExec(e.ID)
			equal(t, "Status", got.Status, tessera.StatusCancelled)
			equal(t, "Error", got.Error, cancelledError)
			sameTimePtr(t, "CompletedAt", got.CompletedAt, sweep)
			if got.LeaseExpiresAt != nil {
				t.Fatalf("LeaseExpiresAt = %v, want nil", got.LeaseExpiresAt)
			}
			events := f.events(e.ID)
			last := events[len(events)-1]
			eventsAre(t, "last event", []*tessera.Event{last}, e.ID,
				doneEvent(got.LastEventSeq, tessera.DoneData{Status: tessera.StatusCancelled, Error: cancelledError}))
			wantCode(t, f.heartbeat(e.ID, got.Attempt, sweep), tessera.ECONFLICT)
		}
		equal(t, "requeued Status", f.getExec(b.ID).Status, tessera.StatusQueued)
	})

	t.Run("OldestLeaseFirstUpToLimit", func(t *testing.T) {
		f := setup(t, newStore)
		var want []int64
		for _, d := range []time.Duration{3 * time.Second, time.Second, 2 * time.Second} {
			e := f.createExec(f.newExec(7))
			f.claim(e.ID, f.now, d)
			want = append(want, e.ID)
		}
		want = []int64{want[1], want[2], want[0]} // by lease expiry
		first, _ := f.requeue(f.at(time.Minute), 5, 2)
		equal(t, "first batch", first, want[:2])
		rest, _ := f.requeue(f.at(time.Minute), 5, 2)
		equal(t, "second batch", rest, want[2:])
	})

	t.Run("EnqueueFailureRollsBack", func(t *testing.T) {
		f := setup(t, newStore)
		// a gives up first (oldest lease, no job needed), then b's enqueue
		// fails: a's write must roll back with it.
		a := f.createExec(f.newExec(7))
		f.claim(a.ID, f.now, time.Microsecond)
		f.claim(a.ID, f.at(time.Millisecond), time.Second)
		b := f.createExec(f.newExec(7))
		f.claim(b.ID, f.now, 2*time.Second)
		before := []*tessera.Execution{f.getExec(a.ID), f.getExec(b.ID)}

		f.enq.SetFail(true)
		_, _, err := f.store.ExecutionRequeueExpired(f.ctx, &tessera.ExecutionRequeueParams{
			Now: f.at(time.Minute), MaxAttempts: 2})
		if err == nil {
			t.Fatal("ExecutionRequeueExpired succeeded with a failing enqueue hook")
		}
		sameJSON(t, "after a failed sweep", []*tessera.Execution{f.getExec(a.ID), f.getExec(b.ID)}, before)

		f.enq.SetFail(false)
		requeued, failed := f.requeue(f.at(time.Minute), 2, 0)
		equal(t, "requeued", requeued, []int64{b.ID})
		equal(t, "failed", failed, []int64{a.ID})
	})

	t.Run("ParamsAreRequired", func(t *testing.T) {
		f := setup(t, newStore)
		_, _, err := f.store.ExecutionRequeueExpired(f.ctx, &tessera.ExecutionRequeueParams{MaxAttempts: 3})
		wantCode(t, err, tessera.EINTERNAL)
		_, err = f.store.ExecutionClaim(f.ctx, &tessera.ExecutionClaimParams{ID: 1})
		wantCode(t, err, tessera.EINTERNAL)
	})
}
