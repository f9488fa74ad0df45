package storetest

import (
	"testing"
	"time"

	"github.com/tessera-run/tessera"
)

// cancelledError is the error of an execution the store cancels itself.
const cancelledError = "The execution was cancelled."

func (f *fixture) cancel(id, workspaceID int64, now time.Time) (*tessera.Execution, error) {
	return f.store.ExecutionCancel(f.ctx, &tessera.ExecutionCancelParams{ID: id, WorkspaceID: workspaceID, Now: now})
}

func testCancel(t *testing.T, newStore NewStore) {
	t.Run("Queued", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		at := f.at(time.Second)
		got, err := f.cancel(e.ID, f.ws.ID, at)
		ok(t, err)
		equal(t, "Status", got.Status, tessera.StatusCancelled)
		equal(t, "Error", got.Error, cancelledError)
		sameTimePtr(t, "CompletedAt", got.CompletedAt, at)
		sameTime(t, "UpdatedAt", got.UpdatedAt, at)
		if got.LeaseExpiresAt != nil || got.StartedAt != nil {
			t.Fatalf("LeaseExpiresAt, StartedAt = %v, %v; want nil", got.LeaseExpiresAt, got.StartedAt)
		}
		equal(t, "LastEventSeq", got.LastEventSeq, int64(2))
		sameJSON(t, "get", f.getExec(e.ID), got)
		events := f.events(e.ID)
		eventsAre(t, "events", events, e.ID, queuedEvent(1, 0),
			doneEvent(2, tessera.DoneData{Status: tessera.StatusCancelled, Error: cancelledError}))
		sameTime(t, "CreatedAt of the done event", events[1].CreatedAt, at)

		// Its job finds it terminal, and it stays cancelled.
		wantCode(t, f.tryClaim(e.ID, f.at(2*time.Second)), tessera.ECONFLICT)
		_, err = f.cancel(e.ID, f.ws.ID, f.at(3*time.Second))
		wantCode(t, err, tessera.ECONFLICT)
		sameJSON(t, "after a second cancel", f.getExec(e.ID), got)
		sameJSON(t, "events after a second cancel", f.events(e.ID), events)
	})

	t.Run("Running", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		claimed := f.claim(e.ID, f.now, lease)
		equal(t, "CancelRequested before", claimed.CancelRequested, false)
		requested, err := f.heartbeatCancel(e.ID, 1, f.at(time.Second))
		ok(t, err)
		equal(t, "heartbeat before the cancel", requested, false)

		at := f.at(2 * time.Second)
		got, err := f.cancel(e.ID, f.ws.ID, at)
		ok(t, err)
		equal(t, "Status", got.Status, tessera.StatusRunning)
		equal(t, "CancelRequested", got.CancelRequested, true)
		equal(t, "Attempt", got.Attempt, 1)
		if got.CompletedAt != nil || got.LeaseExpiresAt == nil {
			t.Fatalf("CompletedAt, LeaseExpiresAt = %v, %v; want nil and the worker's lease", got.CompletedAt, got.LeaseExpiresAt)
		}
		sameJSON(t, "get", f.getExec(e.ID), got)
		list, _, err := f.store.ExecutionList(f.ctx, &tessera.ExecutionListParams{WorkspaceID: f.ws.ID})
		ok(t, err)
		equal(t, "CancelRequested in a list", list[0].CancelRequested, true)
		eventsAre(t, "events (a request is no event)", f.events(e.ID), e.ID, queuedEvent(1, 0), runningEvent(2, 1))

		requested, err = f.heartbeatCancel(e.ID, 1, f.at(3*time.Second))
		ok(t, err)
		equal(t, "heartbeat after the cancel", requested, true)
		again, err := f.cancel(e.ID, f.ws.ID, f.at(4*time.Second))
		ok(t, err) // asking twice is fine
		equal(t, "CancelRequested after a second cancel", again.CancelRequested, true)

		// The worker stops and ends it.
		done, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
			ID: e.ID, Attempt: 1, Status: tessera.StatusCancelled, Error: "cancelled by the user", Now: f.at(5 * time.Second)})
		ok(t, err)
		equal(t, "Status", done.Status, tessera.StatusCancelled)
		_, err = f.cancel(e.ID, f.ws.ID, f.at(6*time.Second))
		wantCode(t, err, tessera.ECONFLICT)
	})

	t.Run("Terminal", func(t *testing.T) {
		f := setup(t, newStore)
		for _, st := range []tessera.Status{tessera.StatusCompleted, tessera.StatusFailed, tessera.StatusCancelled, tessera.StatusTimeout} {
			e := f.createExec(f.newExec(7))
			f.claim(e.ID, f.now, lease)
			done, err := f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{ID: e.ID, Attempt: 1, Status: st, Now: f.now})
			ok(t, err)
			_, err = f.cancel(e.ID, f.ws.ID, f.at(time.Second))
			wantCode(t, err, tessera.ECONFLICT)
			sameJSON(t, "after cancelling a "+string(st)+" execution", f.getExec(e.ID), done)
			equal(t, "events", len(f.events(e.ID)), 3)
		}
	})

	t.Run("OtherWorkspaceIsNotFound", func(t *testing.T) {
		f := setup(t, newStore)
		queued := f.createExec(f.newExec(7))
		running := f.createExec(f.newExec(7))
		f.claim(running.ID, f.now, lease)
		before := []*tessera.Execution{f.getExec(queued.ID), f.getExec(running.ID)}
		for _, e := range before {
			_, err := f.cancel(e.ID, f.other.ID, f.at(time.Second))
			wantCode(t, err, tessera.ENOTFOUND)
		}
		sameJSON(t, "untouched", []*tessera.Execution{f.getExec(queued.ID), f.getExec(running.ID)}, before)
		equal(t, "events", len(f.events(queued.ID)), 1)
		_, err := f.cancel(999, f.ws.ID, f.now)
		wantCode(t, err, tessera.ENOTFOUND)
	})

	t.Run("NowIsRequired", func(t *testing.T) {
		f := setup(t, newStore)
		e := f.createExec(f.newExec(7))
		_, err := f.store.ExecutionCancel(f.ctx, &tessera.ExecutionCancelParams{ID: e.ID, WorkspaceID: f.ws.ID})
		wantCode(t, err, tessera.EINTERNAL)
		equal(t, "Status", f.getExec(e.ID).Status, tessera.StatusQueued)
	})
}

func testThreadClaim(t *testing.T, newStore NewStore) {
	// thread creates a root and two later turns of its thread.
	thread := func(f *fixture) (root, first, second *tessera.Execution) {
		root = f.createExec(f.newExec(7))
		turn := func() *tessera.Execution {
			in := f.newExec(7)
			in.RootID = root.ID
			return f.createExec(in)
		}
		return root, turn(), turn()
	}

	t.Run("EarlierTurnBlocks", func(t *testing.T) {
		f := setup(t, newStore)
		root, first, second := thread(f)
		other := f.createExec(f.newExec(7)) // another thread

		before := f.getExec(first.ID)
		err := f.tryClaim(first.ID, f.now) // the root is queued
		wantCode(t, err, tessera.EUNAVAILABLE)
		sameJSON(t, "a refused claim writes nothing", f.getExec(first.ID), before)
		eventsAre(t, "events after a refused claim", f.events(first.ID), first.ID, queuedEvent(1, 0))
		wantCode(t, f.tryClaim(second.ID, f.now), tessera.EUNAVAILABLE)
		f.claim(other.ID, f.now, lease) // other threads are not held up

		f.claim(root.ID, f.now, lease)
		wantCode(t, f.tryClaim(first.ID, f.at(time.Second)), tessera.EUNAVAILABLE) // the root runs
		// A running turn whose lease expired still holds the thread: the
		// sweeper will requeue it.
		wantCode(t, f.tryClaim(first.ID, f.at(2*lease)), tessera.EUNAVAILABLE)

		_, err = f.finish(root.ID, 1, f.at(2*lease), "done")
		ok(t, err)
		claimed := f.claim(first.ID, f.at(2*lease), lease)
		equal(t, "Attempt", claimed.Attempt, 1)
		wantCode(t, f.tryClaim(second.ID, f.at(2*lease)), tessera.EUNAVAILABLE) // the first turn runs

		_, err = f.store.ExecutionFinish(f.ctx, &tessera.ExecutionFinishParams{
			ID: first.ID, Attempt: 1, Status: tessera.StatusFailed, Error: "boom", Now: f.at(3 * lease)})
		ok(t, err)
		f.claim(second.ID, f.at(3*lease), lease) // any terminal status frees the thread
	})

	t.Run("RequeuedEarlierTurnBlocks", func(t *testing.T) {
		f := setup(t, newStore)
		root, first, _ := thread(f)
		f.claim(root.ID, f.now, time.Second)
		requeued, _ := f.requeue(f.at(time.Minute), 3, 0)
		equal(t, "requeued", requeued, []int64{root.ID})
		wantCode(t, f.tryClaim(first.ID, f.at(time.Minute)), tessera.EUNAVAILABLE)
		f.claim(root.ID, f.at(time.Minute), lease)
		_, err := f.cancel(root.ID, f.ws.ID, f.at(time.Minute)) // a cancel request is not the end
		ok(t, err)
		wantCode(t, f.tryClaim(first.ID, f.at(time.Minute)), tessera.EUNAVAILABLE)
	})

	t.Run("ConflictComesFirst", func(t *testing.T) {
		f := setup(t, newStore)
		root, first, second := thread(f)
		f.claim(root.ID, f.now, lease)
		_, err := f.cancel(first.ID, f.ws.ID, f.now)
		ok(t, err)
		// first is terminal and its thread busy: terminal wins.
		wantCode(t, f.tryClaim(first.ID, f.now), tessera.ECONFLICT)
		wantCode(t, f.tryClaim(second.ID, f.now), tessera.EUNAVAILABLE)

		_, err = f.finish(root.ID, 1, f.at(time.Second), "done")
		ok(t, err)
		f.claim(second.ID, f.at(time.Second), lease) // the cancelled turn holds nothing
	})

	t.Run("CancelledQueuedTurnFreesTheThread", func(t *testing.T) {
		f := setup(t, newStore)
		root, first, _ := thread(f)
		_, err := f.cancel(root.ID, f.ws.ID, f.now)
		ok(t, err)
		f.claim(first.ID, f.now, lease)
	})
}
