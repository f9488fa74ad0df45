package llm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// RetryPolicy bounds how a failed model call is tried again. Only
// retryable errors are (429 after its Retry-After, 5xx, resets and
// timeouts, with jittered exponential backoff); auth, quota, invalid
// requests and unknown models fail at once.
type RetryPolicy struct {
	// MaxAttempts is the most calls made, the first included; default 4.
	// 1 turns retries off.
	MaxAttempts int
	// BaseDelay is the backoff before the first retry, doubled each time
	// up to MaxDelay; defaults 500ms and 20s.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a 429 asking for
	// longer fails at once rather than hold the execution. Default 60s.
	MaxRetryAfter time.Duration
	// MaxTotal bounds the sum of all waits of one call; default 2m.
	MaxTotal time.Duration
	// Sleep waits d or until ctx ends; default a timer. Tests inject it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Jitter returns a number in [0, 1); default math/rand/v2.
	Jitter func() float64
}

// Defaults of RetryPolicy.
const (
	DefaultMaxAttempts   = 4
	DefaultBaseDelay     = 500 * time.Millisecond
	DefaultMaxDelay      = 20 * time.Second
	DefaultMaxRetryAfter = 60 * time.Second
	DefaultMaxTotal      = 2 * time.Minute
)

// WithDefaults returns p with zero fields set to their defaults.
func (p RetryPolicy) WithDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if p.MaxTotal <= 0 {
		p.MaxTotal = DefaultMaxTotal
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Jitter == nil {
		p.Jitter = rand.Float64
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Attempt is one failed call of a model, as recorded on the iteration that
// made it.
type Attempt struct {
	// Number counts the calls of one step from 1.
	Number int `json:"attempt"`
	// Model is the provider/model called.
	Model      string `json:"model"`
	Kind       string `json:"kind"`
	StatusCode int    `json:"status_code,omitempty"`
	Message    string `json:"message"`
	// WaitMS is how long the next call waited, 0 for the last.
	WaitMS int64 `json:"wait_ms"`
}

// RetryError is a call that failed after retries; it unwraps to the last
// error, so AsError still finds the provider's *Error.
type RetryError struct {
	Attempts []Attempt
	Last     error
}

func (e *RetryError) Error() string {
	if len(e.Attempts) <= 1 {
		return e.Last.Error()
	}
	return fmt.Sprintf("%v (after %d attempts)", e.Last, len(e.Attempts))
}

func (e *RetryError) Unwrap() error { return e.Last }

// AttemptsOf returns the failed attempts an error or a response carries.
func AttemptsOf(err error) []Attempt {
	var re *RetryError
	if errors.As(err, &re) {
		return re.Attempts
	}
	return nil
}

// WithRetry returns p with its failed calls retried under policy. A call
// that has already streamed text is not retried: the text is out, and a
// second answer would follow the first; the failure goes to the caller.
func WithRetry(p Provider, policy RetryPolicy) Provider {
	return &retrying{Provider: p, policy: policy.WithDefaults()}
}

type retrying struct {
	Provider
	policy RetryPolicy
}

func (r *retrying) Generate(ctx context.Context, req *Request, stream StreamFunc) (*Response, error) {
	var attempts []Attempt
	var waited time.Duration
	for n := 1; ; n++ {
		streamed := false
		fn := stream
		if stream != nil {
			fn = func(delta string) error {
				streamed = true
				return stream(delta)
			}
		}
		resp, err := r.Provider.Generate(ctx, req, fn)
		if err == nil {
			resp.Attempts = append(attempts, resp.Attempts...)
			return resp, nil
		}
		a := Attempt{Number: n, Model: r.Name() + "/" + req.Model, Message: err.Error(), Kind: ErrKindUnavailable}
		pe, isProvider := AsError(err)
		if isProvider {
			a.Kind, a.StatusCode, a.Message = pe.Kind, pe.StatusCode, pe.Message
		}
		wait, retry := r.backoff(n, pe, isProvider)
		retry = retry && !streamed && ctx.Err() == nil && waited+wait <= r.policy.MaxTotal
		if retry {
			a.WaitMS = wait.Milliseconds()
		}
		attempts = append(attempts, a)
		if !retry {
			return nil, &RetryError{Attempts: attempts, Last: err}
		}
		if err := r.policy.Sleep(ctx, wait); err != nil {
			return nil, &RetryError{Attempts: attempts, Last: &Error{Provider: r.Name(), Kind: ErrKindCancelled, Message: "cancelled while waiting to retry", Err: err}}
		}
		waited += wait
	}
}

// backoff says whether attempt n may be followed by another, and after how
// long: a 429's own Retry-After when it sent one (refused past
// MaxRetryAfter), else BaseDelay doubled per attempt up to MaxDelay, with
// "equal jitter" (half fixed, half random) so that many executions that
// failed together do not retry together.
func (r *retrying) backoff(n int, pe *Error, isProvider bool) (time.Duration, bool) {
	if n >= r.policy.MaxAttempts || (isProvider && !pe.Retryable()) {
		return 0, false
	}
	if isProvider && pe.Kind == ErrKindRateLimited && pe.RetryAfterSeconds > 0 {
		d := time.Duration(pe.RetryAfterSeconds) * time.Second
		return d, d <= r.policy.MaxRetryAfter
	}
	d := r.policy.BaseDelay << (n - 1)
	if d <= 0 || d > r.policy.MaxDelay { // <= 0: the shift overflowed
		d = r.policy.MaxDelay
	}
	return d/2 + time.Duration(r.policy.Jitter()*float64(d/2)), true
}

// WithConcurrency returns p limited to n calls at once; a call waits for a
// slot or for its context. n <= 0 returns p unchanged.
func WithConcurrency(p Provider, n int) Provider {
	if n <= 0 {
		return p
	}
	return &limited{Provider: p, slots: make(chan struct{}, n)}
}

type limited struct {
	Provider
	slots chan struct{}
}

func (l *limited) Generate(ctx context.Context, req *Request, stream StreamFunc) (*Response, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, &Error{Provider: l.Name(), Kind: ErrKindCancelled, Message: "cancelled while waiting for a provider slot", Err: ctx.Err()}
	}
	defer func() { <-l.slots }()
	return l.Provider.Generate(ctx, req, stream)
}
