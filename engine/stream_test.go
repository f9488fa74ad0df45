package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/llm"
)

// streamWords makes the provider stream words, waiting for a value on gate
// before each word after the first when gate is not nil.
func streamWords(words []string, gate <-chan struct{}) func(context.Context, *llm.Request, llm.StreamFunc) (*llm.Response, error) {
	return func(ctx context.Context, _ *llm.Request, fn llm.StreamFunc) (*llm.Response, error) {
		for i, w := range words {
			if i > 0 && gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			if err := fn(w); err != nil {
				return nil, err
			}
		}
		return &llm.Response{Content: strings.Join(words, ""), Usage: llm.Usage{InputTokens: 3, OutputTokens: int64(len(words))}}, nil
	}
}

func collect(t *testing.T, e *engine.Engine, id, after int64) []*tessera.Event {
	t.Helper()
	var evs []*tessera.Event
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Follow(ctx, 1, id, after, engine.FollowOptions{}, func(ev *tessera.Event) error {
		evs = append(evs, ev)
		return nil
	})
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	return evs
}

func deltaText(evs []*tessera.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Type == tessera.EventDelta {
			var d tessera.DeltaData
			_ = json.Unmarshal(ev.Data, &d)
			b.WriteString(d.Text)
		}
	}
	return b.String()
}

func TestEventLogHoldsStatusesDeltasAndDone(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.provider.stream = streamWords([]string{"Hel", "lo ", "world"}, nil)
	e := b.engine(t, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	evs := collect(t, e, ex.ID, 0)
	if evs[0].Type != tessera.EventStatus || evs[1].Type != tessera.EventStatus || evs[len(evs)-1].Type != tessera.EventDone {
		t.Fatalf("event types: %v", types(evs))
	}
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, ev.Seq)
		}
	}
	if got := deltaText(evs); got != "Hello world" {
		t.Errorf("deltas = %q", got)
	}
	var done tessera.DoneData
	if err := json.Unmarshal(evs[len(evs)-1].Data, &done); err != nil || done.Status != tessera.StatusCompleted || done.Output != "Hello world" || done.Usage.OutputTokens != 3 {
		t.Errorf("done = %+v (%v)", done, err)
	}
	// Resuming after any event yields exactly the rest.
	for after := range evs {
		rest := collect(t, e, ex.ID, int64(after))
		if len(rest) != len(evs)-after || rest[0].Seq != int64(after+1) {
			t.Fatalf("resume after %d: %d events starting at %d", after, len(rest), rest[0].Seq)
		}
	}
}

func types(evs []*tessera.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// A follower attached while the run streams sees every event once, in
// order, the first delta before the model has produced the second word.
func TestFollowLiveSeesDeltasAsTheyHappen(t *testing.T) {
	t.Parallel()
	b := setup(t)
	gate := make(chan struct{})
	b.provider.stream = streamWords([]string{"a", "b", "c"}, gate)
	e := b.engine(t, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	runDone := make(chan error, 1)
	go func() { runDone <- e.RunExecution(context.Background(), ex.ID) }()

	var seen []*tessera.Event
	err := e.Follow(context.Background(), 1, ex.ID, 0, engine.FollowOptions{}, func(ev *tessera.Event) error {
		seen = append(seen, ev)
		if ev.Type == tessera.EventDelta {
			select {
			case gate <- struct{}{}: // let the model go on only once we saw this delta
			default:
				go func() { gate <- struct{}{} }()
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	for i, ev := range seen {
		if ev.Seq != int64(i+1) {
			t.Fatalf("seq %d at %d: %v", ev.Seq, i, types(seen))
		}
	}
	if got := deltaText(seen); got != "abc" {
		t.Errorf("deltas = %q", got)
	}
}

func TestCancelRunningReachesProvider(t *testing.T) {
	t.Parallel()
	b := setup(t)
	providerCtxDone := make(chan error, 1)
	b.provider.stream = func(ctx context.Context, _ *llm.Request, fn llm.StreamFunc) (*llm.Response, error) {
		_ = fn("partial ")
		<-ctx.Done()
		providerCtxDone <- ctx.Err()
		return nil, ctx.Err()
	}
	e := b.engine(t, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	runDone := make(chan error, 1)
	go func() { runDone <- e.RunExecution(context.Background(), ex.ID) }()
	// Wait for the first delta: the run is in the provider call.
	err := e.Follow(context.Background(), 1, ex.ID, 0, engine.FollowOptions{}, func(ev *tessera.Event) error {
		if ev.Type == tessera.EventDelta {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) {
		t.Fatal(err)
	}
	got, err := e.Cancel(context.Background(), 1, ex.ID)
	if err != nil || !got.CancelRequested {
		t.Fatalf("Cancel: %+v %v", got, err)
	}
	if err := <-providerCtxDone; !errors.Is(err, context.Canceled) {
		t.Errorf("provider ctx: %v", err)
	}
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	fin := b.get(t, ex.ID)
	if fin.Status != tessera.StatusCancelled || fin.Output != "partial " {
		t.Errorf("status %s output %q", fin.Status, fin.Output)
	}
	if _, err := e.Cancel(context.Background(), 1, ex.ID); tessera.ErrorCode(err) != tessera.ECONFLICT {
		t.Errorf("second cancel: %v", err)
	}
	// The thread goes on without the cancelled turn.
	b.provider.stream = nil
	next := b.submit(t, e, &engine.ExecuteRequest{RootID: ex.ID, Messages: userMsg("again")})
	if err := e.RunExecution(context.Background(), next.ID); err != nil {
		t.Fatal(err)
	}
	msgs := b.provider.requests()[1].Messages
	if len(msgs) != 2 || msgs[1].Content != "again" {
		t.Errorf("next turn sent %+v", msgs)
	}
}

var errStop = errors.New("stop")

func TestCancelQueuedEndsAtOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engine(t, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	got, err := e.Cancel(context.Background(), 1, ex.ID)
	if err != nil || got.Status != tessera.StatusCancelled {
		t.Fatalf("Cancel: %+v %v", got, err)
	}
	if err := e.RunExecution(context.Background(), ex.ID); err != nil || len(b.provider.requests()) != 0 {
		t.Errorf("a cancelled execution ran: err=%v calls=%d", err, len(b.provider.requests()))
	}
	if evs := collect(t, e, ex.ID, 0); evs[len(evs)-1].Type != tessera.EventDone {
		t.Errorf("events: %v", types(evs))
	}
}

func TestRequestTimeoutKeepsPartialOutput(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.provider.stream = func(ctx context.Context, _ *llm.Request, fn llm.StreamFunc) (*llm.Response, error) {
		_ = fn("so far")
		<-ctx.Done()
		return nil, ctx.Err()
	}
	e := b.engine(t, nil)
	ex := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("hi"), Timeout: 30 * time.Millisecond})
	if ex.TimeoutMS != 30 {
		t.Fatalf("TimeoutMS = %d", ex.TimeoutMS)
	}
	if err := e.RunExecution(context.Background(), ex.ID); err != nil {
		t.Fatal(err)
	}
	if got := b.get(t, ex.ID); got.Status != tessera.StatusTimeout || got.Output != "so far" {
		t.Errorf("status %s output %q error %q", got.Status, got.Output, got.Error)
	}
	if _, err := e.Submit(context.Background(), &engine.ExecuteRequest{WorkspaceID: 1, AgentID: b.agent.ID, Messages: userMsg("x"), Timeout: 2 * time.Hour}); tessera.ErrorCode(err) != tessera.EINVALID {
		t.Errorf("a timeout past the agent's: %v", err)
	}
}

func TestThreadPolicies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	e := b.engine(t, nil)
	first := b.submit(t, e, &engine.ExecuteRequest{Messages: userMsg("one")})
	// enqueue: the second turn waits for the first.
	second := b.submit(t, e, &engine.ExecuteRequest{RootID: first.ID, Messages: userMsg("two")})
	var later *engine.ErrRetryLater
	if err := e.RunExecution(context.Background(), second.ID); !errors.As(err, &later) {
		t.Fatalf("second turn ran before the first: %v", err)
	}
	// reject: refused while the thread is busy.
	_, err := e.Submit(context.Background(), &engine.ExecuteRequest{WorkspaceID: 1, AgentID: b.agent.ID, RootID: first.ID, Messages: userMsg("x"), MultitaskStrategy: "reject"})
	if tessera.ErrorCode(err) != tessera.ECONFLICT {
		t.Fatalf("reject: %v", err)
	}
	// interrupt: the earlier turns are cancelled.
	third := b.submit(t, e, &engine.ExecuteRequest{RootID: first.ID, Messages: userMsg("three"), MultitaskStrategy: "interrupt"})
	for _, id := range []int64{first.ID, second.ID} {
		if got := b.get(t, id); got.Status != tessera.StatusCancelled {
			t.Errorf("execution %d is %s, want cancelled", id, got.Status)
		}
	}
	if err := e.RunExecution(context.Background(), third.ID); err != nil {
		t.Fatal(err)
	}
	if got := b.get(t, third.ID); got.Status != tessera.StatusCompleted {
		t.Errorf("third turn: %s", got.Status)
	}
}
