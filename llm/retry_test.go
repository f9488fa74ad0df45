package llm_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tessera-run/tessera/llm"
)

// flaky fails with the errors it is given, in order, then answers.
type flaky struct {
	mu    sync.Mutex
	errs  []error
	calls int
	// deltas are streamed before each call's error or answer.
	deltas []string
}

func (f *flaky) Name() string { return "flaky" }

func (f *flaky) Generate(_ context.Context, _ *llm.Request, stream llm.StreamFunc) (*llm.Response, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	f.mu.Unlock()
	if stream != nil {
		for _, d := range f.deltas {
			if err := stream(d); err != nil {
				return nil, err
			}
		}
	}
	if n <= len(f.errs) {
		return nil, f.errs[n-1]
	}
	return &llm.Response{Content: "ok"}, nil
}

// sleeps records the waits of a policy without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func policy(s *sleeps) llm.RetryPolicy {
	return llm.RetryPolicy{Sleep: s.sleep, Jitter: func() float64 { return 0.5 }, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
}

func provErr(kind string, status, retryAfter int) error {
	return &llm.Error{Provider: "flaky", Kind: kind, StatusCode: status, Message: kind, RetryAfterSeconds: retryAfter}
}

func req() *llm.Request { return &llm.Request{Model: "m"} }

func TestRetryBacksOffWithJitterThenSucceeds(t *testing.T) {
	t.Parallel()
	f := &flaky{errs: []error{provErr(llm.ErrKindUnavailable, 500, 0), provErr(llm.ErrKindUnavailable, 502, 0), provErr(llm.ErrKindUnavailable, 503, 0)}}
	var s sleeps
	resp, err := llm.WithRetry(f, policy(&s)).Generate(context.Background(), req(), nil)
	if err != nil || resp.Content != "ok" {
		t.Fatalf("Generate = %v, %v", resp, err)
	}
	// 100ms, 200ms, 400ms, each half fixed and half jitter (0.5 here).
	want := []time.Duration{75 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond}
	if len(s.d) != 3 || s.d[0] != want[0] || s.d[1] != want[1] || s.d[2] != want[2] {
		t.Errorf("waits = %v, want %v", s.d, want)
	}
	if len(resp.Attempts) != 3 || resp.Attempts[0].StatusCode != 500 || resp.Attempts[2].Number != 3 ||
		resp.Attempts[0].Model != "flaky/m" || resp.Attempts[1].WaitMS != 150 {
		t.Errorf("attempts = %+v", resp.Attempts)
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	e := provErr(llm.ErrKindUnavailable, 500, 0)
	f := &flaky{errs: []error{e, e, e, e, e, e}}
	var s sleeps
	_, err := llm.WithRetry(f, policy(&s)).Generate(context.Background(), req(), nil)
	if f.calls != llm.DefaultMaxAttempts || len(s.d) != llm.DefaultMaxAttempts-1 {
		t.Fatalf("calls = %d waits = %v, want %d calls", f.calls, s.d, llm.DefaultMaxAttempts)
	}
	if pe, ok := llm.AsError(err); !ok || pe.StatusCode != 500 {
		t.Errorf("error = %v, want the provider's", err)
	}
	if a := llm.AttemptsOf(err); len(a) != 4 || a[3].WaitMS != 0 {
		t.Errorf("attempts = %+v", a)
	}
	// The cap also bounds backoff growth.
	var s2 sleeps
	p := policy(&s2)
	p.MaxAttempts = 10
	_, _ = llm.WithRetry(&flaky{errs: []error{e, e, e, e, e, e, e, e, e, e}}, p).Generate(context.Background(), req(), nil)
	for _, d := range s2.d {
		if d > time.Second {
			t.Errorf("wait %v over MaxDelay", d)
		}
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	f := &flaky{errs: []error{provErr(llm.ErrKindRateLimited, 429, 7)}}
	var s sleeps
	resp, err := llm.WithRetry(f, policy(&s)).Generate(context.Background(), req(), nil)
	if err != nil || len(s.d) != 1 || s.d[0] != 7*time.Second || resp.Attempts[0].Kind != llm.ErrKindRateLimited {
		t.Fatalf("err = %v waits = %v", err, s.d)
	}
	// Longer than the bound: fail at once rather than hold the run.
	f = &flaky{errs: []error{provErr(llm.ErrKindRateLimited, 429, 3600)}}
	var s2 sleeps
	_, err = llm.WithRetry(f, policy(&s2)).Generate(context.Background(), req(), nil)
	if err == nil || f.calls != 1 || len(s2.d) != 0 {
		t.Errorf("a 1h Retry-After: err = %v calls = %d waits = %v", err, f.calls, s2.d)
	}
}

func TestRetryFailsAtOnceOnPermanentErrors(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{llm.ErrKindAuth, llm.ErrKindInvalid, llm.ErrKindQuota, llm.ErrKindNotFound, llm.ErrKindCancelled} {
		f := &flaky{errs: []error{provErr(kind, 400, 0)}}
		var s sleeps
		_, err := llm.WithRetry(f, policy(&s)).Generate(context.Background(), req(), nil)
		if pe, ok := llm.AsError(err); !ok || pe.Kind != kind || f.calls != 1 || len(s.d) != 0 {
			t.Errorf("%s: err = %v calls = %d waits = %v, want one call", kind, err, f.calls, s.d)
		}
	}
}

func TestRetryBoundsTotalWait(t *testing.T) {
	t.Parallel()
	e := provErr(llm.ErrKindRateLimited, 429, 40)
	f := &flaky{errs: []error{e, e, e}}
	var s sleeps
	p := policy(&s)
	p.MaxTotal = time.Minute
	_, err := llm.WithRetry(f, p).Generate(context.Background(), req(), nil)
	// 40s fits in the minute, a second 40s does not.
	if err == nil || f.calls != 2 || len(s.d) != 1 {
		t.Errorf("err = %v calls = %d waits = %v, want two calls", err, f.calls, s.d)
	}
}

func TestRetryDoesNotRepeatStreamedText(t *testing.T) {
	t.Parallel()
	f := &flaky{errs: []error{provErr(llm.ErrKindUnavailable, 0, 0)}, deltas: []string{"partial"}}
	var s sleeps
	var got []string
	_, err := llm.WithRetry(f, policy(&s)).Generate(context.Background(), req(), func(d string) error {
		got = append(got, d)
		return nil
	})
	if err == nil || f.calls != 1 || len(got) != 1 {
		t.Errorf("err = %v calls = %d deltas = %v, want the failure after one call", err, f.calls, got)
	}
}

func TestRetryStopsWhenCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	f := &flaky{errs: []error{provErr(llm.ErrKindUnavailable, 503, 0), provErr(llm.ErrKindUnavailable, 503, 0)}}
	ctx, cancel := context.WithCancel(context.Background())
	p := llm.RetryPolicy{Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }}
	_, err := llm.WithRetry(f, p).Generate(ctx, req(), nil)
	if pe, ok := llm.AsError(err); !ok || pe.Kind != llm.ErrKindCancelled || f.calls != 1 {
		t.Errorf("err = %v calls = %d", err, f.calls)
	}
}

// gate holds calls until released and counts how many are inside.
type gate struct {
	inside, most atomic.Int64
	release      chan struct{}
	entered      chan struct{}
}

func (g *gate) Name() string { return "gate" }

func (g *gate) Generate(ctx context.Context, _ *llm.Request, _ llm.StreamFunc) (*llm.Response, error) {
	n := g.inside.Add(1)
	defer g.inside.Add(-1)
	for {
		m := g.most.Load()
		if n <= m || g.most.CompareAndSwap(m, n) {
			break
		}
	}
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &llm.Response{Content: "ok"}, nil
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	g := &gate{release: make(chan struct{}), entered: make(chan struct{}, 10)}
	p := llm.WithConcurrency(g, 2)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() {
			if _, err := p.Generate(context.Background(), req(), nil); err != nil {
				t.Error(err)
			}
		})
	}
	<-g.entered
	<-g.entered
	// Two are in; the others wait for a slot. A cancelled waiter leaves.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Generate(ctx, req(), nil); err == nil {
		t.Error("a cancelled call got a slot")
	}
	close(g.release)
	wg.Wait()
	if m := g.most.Load(); m != 2 {
		t.Errorf("most calls at once = %d, want 2", m)
	}
}
