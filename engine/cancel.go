package engine

import (
	"context"

	"github.com/tessera-run/tessera"
)

// Cancel cancels an execution. A queued one ends at once; a running one is
// marked, and its run is cancelled through its context — at once when it
// runs on this node, at its next heartbeat when it runs on another. The
// provider call sees its request cancelled; the execution ends as
// cancelled with the output so far. It returns the execution after the
// change; ECONFLICT when it already ended, ENOTFOUND when missing.
func (e *Engine) Cancel(ctx context.Context, workspaceID, id int64) (*tessera.Execution, error) {
	ex, err := e.store.ExecutionCancel(ctx, &tessera.ExecutionCancelParams{ID: id, WorkspaceID: workspaceID, Now: e.cfg.Now()})
	if err != nil {
		return nil, err
	}
	e.notify(id) // the node running it, if another, cancels it now
	if ex.Status == tessera.StatusRunning {
		e.runningMu.Lock()
		cancel := e.running[id]
		e.runningMu.Unlock()
		if cancel != nil {
			cancel(errCancelled)
		}
		return ex, nil
	}
	e.wake(id)
	return ex, nil
}
