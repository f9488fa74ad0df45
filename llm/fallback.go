package llm

import (
	"context"
	"errors"
)

// WithFallbacks returns a Resolved that calls primary and, when its
// provider fails (after its own retries), each fallback in order. The
// response says which one answered (Response.Resolved), so that the call
// is billed at that model's price; the attempts of the models that failed
// come with it. A request the provider rejected as invalid, a cancelled
// call and a call that has already streamed text are not tried elsewhere.
//
// The loop protocol (native tools or text ReAct) and structured output are
// chosen by the primary's table entry: fallbacks should be models that can
// run the same agent.
func WithFallbacks(primary *Resolved, fallbacks []*Resolved) *Resolved {
	if len(fallbacks) == 0 {
		return primary
	}
	out := *primary
	out.Provider = &fallback{chain: append([]*Resolved{primary}, fallbacks...)}
	return &out
}

type fallback struct {
	chain []*Resolved
}

func (f *fallback) Name() string { return f.chain[0].Provider.Name() }

func (f *fallback) Generate(ctx context.Context, req *Request, stream StreamFunc) (*Response, error) {
	var attempts []Attempt
	var lastErr error
	for _, r := range f.chain {
		streamed := false
		fn := stream
		if stream != nil {
			fn = func(delta string) error {
				streamed = true
				return stream(delta)
			}
		}
		call := *req
		call.Model = r.Model
		if !r.Price.StructuredOutput {
			call.OutputSchema = nil
		}
		resp, err := r.Provider.Generate(ctx, &call, fn)
		if err == nil {
			resp.Resolved = r
			resp.Attempts = append(attempts, resp.Attempts...)
			return resp, nil
		}
		failed := AttemptsOf(err)
		if len(failed) == 0 {
			a := Attempt{Number: 1, Model: r.Spec, Kind: ErrKindUnavailable, Message: err.Error()}
			if pe, ok := AsError(err); ok {
				a.Kind, a.StatusCode, a.Message = pe.Kind, pe.StatusCode, pe.Message
			}
			failed = []Attempt{a}
		}
		for _, a := range failed {
			a.Number = len(attempts) + 1
			attempts = append(attempts, a)
		}
		lastErr = err
		if streamed || ctx.Err() != nil || !fallsBack(err) {
			break
		}
	}
	return nil, &RetryError{Attempts: attempts, Last: lastErrOf(lastErr)}
}

// fallsBack says whether another model may succeed where this one failed:
// not when the request itself was refused or the caller gave up.
func fallsBack(err error) bool {
	pe, ok := AsError(err)
	if !ok {
		return !errors.Is(err, context.Canceled)
	}
	return pe.Kind != ErrKindInvalid && pe.Kind != ErrKindCancelled
}

// lastErrOf unwraps a RetryError so that attempts are not listed twice.
func lastErrOf(err error) error {
	var re *RetryError
	if errors.As(err, &re) {
		return re.Last
	}
	return err
}
