package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Event types of an execution's event log.
const (
	// EventStatus: the execution was queued or started running (Status).
	EventStatus = "status"
	// EventDelta: output text as the model produces it (Text).
	EventDelta = "delta"
	// EventIterationStarted and EventIterationFinished bracket a step of
	// the tool loop; a finished step carries the Iteration.
	EventIterationStarted  = "iteration.started"
	EventIterationFinished = "iteration.finished"
	// EventUsage: the tokens and cost of one model call.
	EventUsage = "usage"
	// EventError: a problem, such as a failed attempt that is retried.
	EventError = "error"
	// EventDone is always last (Done).
	EventDone = "done"
)

// Event is one entry of an execution's event log. Seq numbers an
// execution's events from 1 without gaps.
type Event struct {
	ExecutionID int64           `json:"execution_id"`
	Seq         int64           `json:"seq"`
	Type        string          `json:"type"`
	Data        json.RawMessage `json:"data"`
	CreatedAt   time.Time       `json:"created_at"`
}

// Decode decodes the event's data into v.
func (e *Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("%s event %d: %w", e.Type, e.Seq, err)
	}
	return nil
}

// Text returns the text of a delta event ("" for other events).
func (e *Event) Text() string {
	if e.Type != EventDelta {
		return ""
	}
	var d struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.Text
}

// Iteration returns the step of an iteration.finished event.
func (e *Event) Iteration() (*Iteration, error) {
	var it Iteration
	return &it, e.Decode(&it)
}

// Done returns the data of the done event.
func (e *Event) Done() (*Done, error) {
	var d Done
	return &d, e.Decode(&d)
}

// Status returns the data of a status event.
func (e *Event) Status() (*StatusChange, error) {
	var s StatusChange
	return &s, e.Decode(&s)
}

// StatusChange is the data of a status event.
type StatusChange struct {
	// Status is "queued" or "running".
	Status  string `json:"status"`
	Attempt int    `json:"attempt"`
}

// Done is the data of the terminal event.
type Done struct {
	// Status is completed, failed, cancelled or timeout.
	Status string `json:"status"`
	Output string `json:"output"`
	Error  string `json:"error"`
	Usage  Usage  `json:"usage"`
	// Cost is in US dollars; Credits is Cost times the model's multiplier.
	Cost    float64 `json:"cost"`
	Credits float64 `json:"credits"`
}

// Usage counts tokens.
type Usage struct {
	InputTokens       int64 `json:"input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens"`
	ReasoningTokens   int64 `json:"reasoning_tokens"`
}

// EventsOptions configures Events.
type EventsOptions struct {
	// After resumes after the event with this Seq (0: from the start).
	After int64
	// MaxRetries is how many reconnects in a row may fail before Events
	// gives up (default 5); negative never reconnects.
	MaxRetries int
}

const (
	defaultMaxRetries = 5
	firstBackoff      = 200 * time.Millisecond
	maxBackoff        = 5 * time.Second
)

// Events iterates over execution id's events, the past ones then the new
// ones as they happen, and ends after the done event. When the connection
// drops it reconnects with Last-Event-ID, waiting a little longer each
// time, so every event is yielded exactly once. The first connection is
// not retried: an unreachable server or an *Error (404: no such
// execution) is yielded at once. An error ends the iteration.
func (c *Client) Events(ctx context.Context, id int64, opts *EventsOptions) iter.Seq2[*Event, error] {
	var o EventsOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = defaultMaxRetries
	}
	return func(yield func(*Event, error) bool) {
		f := &follower{c: c, id: id, after: o.After}
		failures := 0
		for {
			progressed := false
			done, err := f.once(ctx, func(ev *Event) bool {
				progressed = true
				return yield(ev, nil)
			})
			if done || errors.Is(err, errStopped) {
				return
			}
			if progressed {
				failures = 0
			}
			failures++
			if !f.connected || !retryable(err) || failures > o.MaxRetries || ctx.Err() != nil {
				yield(nil, fmt.Errorf("events of execution %d: %w", id, err))
				return
			}
			if err := sleepCtx(ctx, backoff(failures)); err != nil {
				yield(nil, err)
				return
			}
		}
	}
}

// FollowEvents calls fn with each of execution id's events until the done
// event (see Events); an error from fn stops and is returned.
func (c *Client) FollowEvents(ctx context.Context, id int64, opts *EventsOptions, fn func(*Event) error) error {
	for ev, err := range c.Events(ctx, id, opts) {
		if err != nil {
			return err
		}
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

// errStopped means the consumer stopped the iteration.
var errStopped = errors.New("stopped")

// errEndedEarly is a stream that closed before its done event.
var errEndedEarly = errors.New("the stream ended before the execution did")

// follower is one Events iteration's state across connections.
type follower struct {
	c         *Client
	id        int64
	after     int64
	connected bool
}

// once reads one connection's events. done is true after the done event.
func (f *follower) once(ctx context.Context, yield func(*Event) bool) (done bool, err error) {
	r := &request{method: http.MethodGet, path: pathf("/api/v1/ai/agents/executions/%d/events", f.id),
		header: http.Header{"Accept": {"text/event-stream"}}}
	if f.after > 0 {
		r.header.Set("Last-Event-ID", strconv.FormatInt(f.after, 10))
	}
	res, err := f.c.send(ctx, r)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	f.connected = true
	sse := newSSEReader(res.Body)
	for {
		data, err := sse.next()
		if errors.Is(err, io.EOF) {
			return false, errEndedEarly
		}
		if err != nil {
			return false, err
		}
		var ev Event
		if err := json.Unmarshal(data, &ev); err != nil {
			return false, fmt.Errorf("decoding an event: %w", err)
		}
		if ev.Seq <= f.after {
			continue // already seen
		}
		f.after = ev.Seq
		if !yield(&ev) {
			return false, errStopped
		}
		if ev.Type == EventDone {
			return true, nil
		}
	}
}

// retryable reports whether a reconnect may help: a dropped connection or
// a server that is briefly unavailable, not a refusal.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func backoff(failures int) time.Duration {
	d := firstBackoff << (failures - 1)
	if d > maxBackoff || d <= 0 {
		return maxBackoff
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sseReader reads the data of Server-Sent Events, skipping comments
// (heartbeats) and events without data.
type sseReader struct{ r *bufio.Reader }

func newSSEReader(r io.Reader) *sseReader { return &sseReader{r: bufio.NewReader(r)} }

// next returns the next event's data (its data lines joined by newlines);
// io.EOF at the end of the stream, an incomplete last event dropped.
func (s *sseReader) next() ([]byte, error) {
	var data strings.Builder
	hasData := false
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if line == "" {
			if hasData {
				return []byte(data.String()), nil
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		if field == "data" {
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		}
	}
}
