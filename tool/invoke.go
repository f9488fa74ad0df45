package tool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Observation is what the model sees of one tool call, plus what the
// caller needs for its log and metrics.
type Observation struct {
	// Content is the text sent back to the model: the tool's output, or
	// "Error: …" when IsError.
	Content string
	IsError bool
	// Truncated reports that the output was cut, by the tool or by Invoke.
	Truncated bool
	Duration  time.Duration
	// Panic is the value the tool panicked with, for the caller to log; nil
	// when it did not panic. It never reaches Content.
	Panic any
}

// TruncationMarker ends output that Truncate cut.
const TruncationMarker = "\n[output truncated]"

// noOutput stands in for an empty result, because some providers reject an
// empty tool message and the model should know the call did run.
const noOutput = "(no output)"

var errTimeout = errors.New("tool timeout")

// Invoke runs one call of t and never fails: malformed arguments, errors,
// timeouts and panics all become an Observation with IsError set, so the
// model can read what went wrong and try again.
//
// Empty args mean {}; anything but a JSON object is refused before the tool
// runs. A timeout > 0 bounds the call: Invoke returns at the deadline even
// if the tool ignores ctx (its goroutine then finishes in the background).
// A maxOutput > 0 caps Content in bytes (see Truncate).
func Invoke(ctx context.Context, t Tool, args json.RawMessage, timeout time.Duration, maxOutput int) Observation {
	start := time.Now() // a duration, not a timestamp: the monotonic clock is what we want
	obs := invoke(ctx, t, args, timeout)
	var cut bool
	obs.Content, cut = Truncate(strings.ToValidUTF8(obs.Content, "\uFFFD"), maxOutput)
	obs.Truncated = obs.Truncated || cut
	obs.Duration = time.Since(start)
	return obs
}

func invoke(ctx context.Context, t Tool, args json.RawMessage, timeout time.Duration) Observation {
	args, err := objectArgs(args)
	if err != nil {
		return errorObservation(fmt.Sprintf("invalid arguments for tool %s: %v", t.Name(), err))
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errTimeout)
		defer cancel()
	}
	done := make(chan outcome, 1) // buffered: a late tool must not block forever
	go func() { done <- call(ctx, t, args) }()
	select {
	case o := <-done:
		return observe(ctx, t.Name(), o, timeout)
	case <-ctx.Done():
		return contextObservation(ctx, t.Name(), timeout)
	}
}

type outcome struct {
	res   Result
	err   error
	panic any
}

func call(ctx context.Context, t Tool, args json.RawMessage) (o outcome) {
	defer func() {
		// Since Go 1.21 even panic(nil) recovers a non-nil value.
		if v := recover(); v != nil {
			o = outcome{panic: v}
		}
	}()
	o.res, o.err = t.Call(ctx, args)
	return o
}

func observe(ctx context.Context, name string, o outcome, timeout time.Duration) Observation {
	switch {
	case o.panic != nil:
		obs := errorObservation(fmt.Sprintf("tool %s failed: internal error", name))
		obs.Panic = o.panic
		return obs
	case o.err != nil && ctx.Err() != nil:
		// The tool gave up because the deadline passed; say so plainly.
		return contextObservation(ctx, name, timeout)
	case o.err != nil:
		return errorObservation(o.err.Error())
	case o.res.Content == "":
		return Observation{Content: noOutput, Truncated: o.res.Truncated}
	default:
		return Observation{Content: o.res.Content, Truncated: o.res.Truncated}
	}
}

func contextObservation(ctx context.Context, name string, timeout time.Duration) Observation {
	if errors.Is(context.Cause(ctx), errTimeout) {
		return errorObservation(fmt.Sprintf("tool %s timed out after %s", name, timeout))
	}
	return errorObservation(fmt.Sprintf("tool %s was cancelled", name))
}

func errorObservation(msg string) Observation {
	return Observation{Content: "Error: " + msg, IsError: true}
}

// objectArgs checks that args are one JSON object; providers send "" for a
// call without arguments, which means {}.
func objectArgs(args json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(trimmed) {
		return nil, errors.New("arguments are not valid JSON")
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("arguments must be a JSON object, got %s", jsonKind(trimmed[0]))
	}
	return trimmed, nil
}

func jsonKind(first byte) string {
	switch first {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// Truncate cuts s to at most max bytes, marker included, on a UTF-8
// boundary, and reports whether it cut. A max <= 0 means no limit; a max
// smaller than the marker yields the marker alone.
func Truncate(s string, max int) (string, bool) {
	if max <= 0 || len(s) <= max {
		return s, false
	}
	keep := max - len(TruncationMarker)
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + TruncationMarker, true
}
