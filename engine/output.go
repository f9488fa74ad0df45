package engine

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/tessera-run/tessera"
)

// output collects a run's text as the provider streams it and appends it to
// the event log as delta events: the first delta at once (a stream's first
// event should not wait), later ones batched every DeltaFlush so that a fast
// model does not cost one write per token.
type output struct {
	e  *Engine
	ex *tessera.Execution

	mu      sync.Mutex
	all     strings.Builder
	pending strings.Builder
	started bool
	lost    bool // the attempt lost the execution: write nothing more

	flushMu sync.Mutex // keeps appends in order
	stopped chan struct{}
	done    chan struct{}
}

func newOutput(e *Engine, ex *tessera.Execution) *output {
	o := &output{e: e, ex: ex, stopped: make(chan struct{}), done: make(chan struct{})}
	go o.flushLoop()
	return o
}

// write is the provider's StreamFunc.
func (o *output) write(delta string) error {
	delta = clean(delta)
	if delta == "" {
		return nil
	}
	o.mu.Lock()
	o.all.WriteString(delta)
	o.pending.WriteString(delta)
	first := !o.started
	o.started = true
	o.mu.Unlock()
	if first {
		o.flush()
	}
	return nil
}

// text is everything written so far (the partial output of an interrupted
// run).
func (o *output) text() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.all.String()
}

func (o *output) flushLoop() {
	defer close(o.done)
	t := time.NewTicker(o.e.cfg.DeltaFlush)
	defer t.Stop()
	for {
		select {
		case <-o.stopped:
			return
		case <-t.C:
			o.flush()
		}
	}
}

// flush appends the pending text as one delta event and hands it to
// in-process followers.
func (o *output) flush() {
	o.flushMu.Lock()
	defer o.flushMu.Unlock()
	o.mu.Lock()
	text := o.pending.String()
	o.pending.Reset()
	lost := o.lost
	o.mu.Unlock()
	if text == "" || lost {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := o.e.store.EventAppend(ctx, &tessera.EventAppendParams{
		ExecutionID: o.ex.ID, Attempt: o.ex.Attempt, Now: o.e.cfg.Now(),
		Events: []tessera.EventInput{{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: text}}},
	})
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case err == nil:
		o.e.events.publish(o.ex.ID, evs)
		o.e.notify(o.ex.ID)
	case tessera.ErrorCode(err) == tessera.ECONFLICT:
		o.lost = true
	default:
		// Keep the text for the next flush, in front of what came since.
		rest := o.pending.String()
		o.pending.Reset()
		o.pending.WriteString(text + rest)
		o.e.log.Warn("append output delta", "execution_id", o.ex.ID, "err", err)
	}
}

// stop ends the flushing and returns the text not yet appended, as events
// for the terminal write to append in its transaction.
func (o *output) stop() []tessera.EventInput {
	select {
	case <-o.stopped:
	default:
		close(o.stopped)
	}
	<-o.done
	o.flushMu.Lock()
	defer o.flushMu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	text := o.pending.String()
	o.pending.Reset()
	if text == "" || o.lost {
		return nil
	}
	return []tessera.EventInput{{Type: tessera.EventDelta, Data: tessera.DeltaData{Text: text}}}
}

// clean makes model text storable everywhere: PostgreSQL text holds neither
// NUL bytes nor invalid UTF-8, and neither means anything to a reader.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
