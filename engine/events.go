package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/tessera-run/tessera"
)

// bus fans freshly appended events out to the followers in this process,
// so a stream sees an event as soon as it is persisted. Followers on other
// nodes, and followers that fell behind, read the log from the store: the
// bus is a shortcut, never the source of truth.
type bus struct {
	mu   sync.Mutex
	subs map[int64]map[*follower]struct{}
}

type follower struct {
	ch chan []*tessera.Event
}

func newBus() *bus { return &bus{subs: map[int64]map[*follower]struct{}{}} }

func (b *bus) subscribe(id int64) (*follower, func()) {
	f := &follower{ch: make(chan []*tessera.Event, 64)}
	b.mu.Lock()
	if b.subs[id] == nil {
		b.subs[id] = map[*follower]struct{}{}
	}
	b.subs[id][f] = struct{}{}
	b.mu.Unlock()
	return f, func() {
		b.mu.Lock()
		delete(b.subs[id], f)
		if len(b.subs[id]) == 0 {
			delete(b.subs, id)
		}
		b.mu.Unlock()
	}
}

// publish hands events to the followers of id. A follower whose buffer is
// full misses them and catches up from the store, which it notices by the
// gap in sequence numbers. An empty batch only wakes followers up.
func (b *bus) publish(id int64, evs []*tessera.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for f := range b.subs[id] {
		select {
		case f.ch <- evs:
		default:
		}
	}
}

// FollowOptions tune Follow.
type FollowOptions struct {
	// Heartbeat, when positive, calls OnHeartbeat after that long without
	// an event (SSE comments keep proxies from closing idle streams).
	Heartbeat   time.Duration
	OnHeartbeat func() error
}

// Follow calls fn with every event of the execution after sequence number
// after, in order and exactly once, first from the log and then live, until
// the EventDone event has been handed over (Follow then returns nil), fn
// returns an error, ctx ends, or the server drains (ErrDraining). ENOTFOUND when the execution is missing or
// in another workspace.
func (e *Engine) Follow(ctx context.Context, workspaceID, id, after int64, opts FollowOptions, fn func(*tessera.Event) error) error {
	sub, unsubscribe := e.events.subscribe(id)
	defer unsubscribe()
	poll := time.NewTicker(e.cfg.PollInterval)
	defer poll.Stop()
	var beat <-chan time.Time
	var beatTimer *time.Timer
	if opts.Heartbeat > 0 && opts.OnHeartbeat != nil {
		beatTimer = time.NewTimer(opts.Heartbeat)
		defer beatTimer.Stop()
		beat = beatTimer.C
	}
	last := after
	emit := func(ev *tessera.Event) (bool, error) {
		if err := fn(ev); err != nil {
			return false, err
		}
		last = ev.Seq
		if beatTimer != nil {
			beatTimer.Reset(opts.Heartbeat)
		}
		return ev.Type == tessera.EventDone, nil
	}
	for {
		// Catch up from the log.
		evs, err := e.store.EventListAfter(ctx, &tessera.EventListParams{ExecutionID: id, WorkspaceID: workspaceID, AfterSeq: last, Limit: 500})
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if done, err := emit(ev); done || err != nil {
				return err
			}
		}
		if len(evs) == 500 {
			continue
		}
		// Follow live until a gap sends us back to the log.
	live:
		for {
			select {
			case batch := <-sub.ch:
				for _, ev := range batch {
					if ev.Seq <= last {
						continue
					}
					if ev.Seq != last+1 {
						break live
					}
					if done, err := emit(ev); done || err != nil {
						return err
					}
				}
				if len(batch) == 0 {
					break live
				}
			case <-poll.C:
				break live // another node may be writing the log
			case <-beat:
				if err := opts.OnHeartbeat(); err != nil {
					return err
				}
				beatTimer.Reset(opts.Heartbeat)
			case <-ctx.Done():
				return ctx.Err()
			case <-e.draining:
				// The server is stopping: end the stream so the client
				// resumes (with its last event id) on a live node.
				return ErrDraining
			}
		}
	}
}

// ErrDraining ends Follow when the server shuts down.
var ErrDraining = errors.New("engine: the server is shutting down")
