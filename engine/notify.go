package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
)

// Notifier carries "execution N changed" between nodes that share a
// database (PostgreSQL's LISTEN/NOTIFY), so that a wait, a stream or a
// cancel on one node sees at once what a worker on another node wrote.
// Without one (a single SQLite node) the in-process signals suffice.
type Notifier interface {
	// Notify tells every node, this one included, that an execution
	// changed; the payload is opaque to the notifier.
	Notify(ctx context.Context, payload string) error
	// Listen calls fn with every payload notified by any node until ctx
	// ends. It reconnects by itself; it returns only when ctx ends.
	Listen(ctx context.Context, fn func(payload string))
}

// newNodeID names this process in notifications, so it can skip its own.
func newNodeID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// notify tells the other nodes that execution id changed.
func (e *Engine) notify(id int64) {
	if e.cfg.Notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.cfg.Notifier.Notify(ctx, e.node+":"+strconv.FormatInt(id, 10)); err != nil {
		// Followers elsewhere still poll; a lost notification only delays them.
		e.log.Warn("notify execution change", "execution_id", id, "err", err)
	}
}

// onNotify handles another node's notification: wake local waiters and
// followers, and when the execution runs here and a cancel was requested
// there, cancel it now rather than at the next heartbeat.
func (e *Engine) onNotify(ctx context.Context, payload string) {
	node, idText, ok := strings.Cut(payload, ":")
	if !ok || node == e.node {
		return
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return
	}
	e.wake(id)
	e.runningMu.Lock()
	cancel := e.running[id]
	e.runningMu.Unlock()
	if cancel == nil {
		return
	}
	ex, err := e.store.ExecutionGetByID(ctx, &tessera.ExecutionGetParams{ID: id})
	if err == nil && ex.CancelRequested {
		cancel(errCancelled)
	}
}
