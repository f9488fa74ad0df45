package openaicompat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
)

// stream answers with chat.completion.chunk events read from the
// execution's event log: a role chunk, one chunk per delta, a finish chunk
// (or an error event when the execution did not complete), the usage chunk
// when asked for, then [DONE]. A client that goes away only stops the
// reading; the execution carries on.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, ex *tessera.Execution, modelName string, includeUsage bool) {
	sse, err := httpx.StartSSE(w)
	if err != nil {
		return
	}
	c := &chunks{sse: sse, id: ex.ID, includeUsage: includeUsage, log: h.log, base: completion{
		ID: completionID(ex.ID), Object: "chat.completion.chunk", Created: ex.CreatedAt.Unix(), Model: modelName,
	}}
	if c.start() != nil {
		return
	}
	if ex.Status.Terminal() {
		// An Idempotency-Key replay of a finished execution: its row holds
		// the whole answer, while its event log may have been pruned.
		_ = c.end(ex.Status, ex.Output, ex.Error, ex.Usage)
		return
	}
	err = h.cfg.Engine.Follow(r.Context(), ex.WorkspaceID, ex.ID, 0, engine.FollowOptions{
		Heartbeat: h.cfg.Heartbeat, OnHeartbeat: func() error { return sse.Comment("keep-alive") },
	}, c.event)
	if err != nil && r.Context().Err() == nil && !errors.Is(err, context.Canceled) {
		h.log.Warn("openai stream ended early", "execution_id", ex.ID, "err", err)
	}
}

// chunks writes one execution's answer as chunks that all carry the same
// id, created and model.
type chunks struct {
	sse          *httpx.SSE
	id           int64
	base         completion
	includeUsage bool
	log          *slog.Logger
	// sent is the content streamed so far.
	sent strings.Builder
}

// event turns one event of the log into chunks; other events are not
// part of an OpenAI stream.
func (c *chunks) event(e *tessera.Event) error {
	switch e.Type {
	case tessera.EventDelta:
		var d tessera.DeltaData
		if json.Unmarshal(e.Data, &d) != nil || d.Text == "" {
			return nil
		}
		return c.text(d.Text)
	case tessera.EventDone:
		var d tessera.DoneData
		_ = json.Unmarshal(e.Data, &d) // written by the store from a DoneData
		return c.end(d.Status, d.Output, d.Error, d.Usage)
	}
	return nil
}

func (c *chunks) start() error {
	empty := ""
	return c.send(c.chunk(&delta{Role: tessera.RoleAssistant, Content: &empty}, nil))
}

func (c *chunks) text(s string) error {
	c.sent.WriteString(s)
	return c.send(c.chunk(&delta{Content: &s}, nil))
}

// end finishes the stream: "stop" and the usage for a completed execution,
// OpenAI's streaming error form {"error": {…}} otherwise (SDKs raise it).
// First it sends whatever of the output the deltas did not carry: the row
// of a replay has no deltas at all, and a delta the engine failed to append
// is only in the output.
func (c *chunks) end(status tessera.Status, output, errMsg string, u tessera.Usage) error {
	if err := c.catchUp(output); err != nil {
		return err
	}
	if e := outcomeError(c.id, status, errMsg); e != nil {
		if err := c.send(map[string]*apiError{"error": e}); err != nil {
			return err
		}
		return c.sse.Data([]byte("[DONE]"))
	}
	stop := "stop"
	if err := c.send(c.chunk(&delta{}, &stop)); err != nil {
		return err
	}
	if c.includeUsage {
		last := c.base
		last.Choices, last.Usage = []choice{}, toUsage(u)
		if err := c.send(last); err != nil {
			return err
		}
	}
	return c.sse.Data([]byte("[DONE]"))
}

// catchUp sends the part of output not streamed yet.
func (c *chunks) catchUp(output string) error {
	sent := c.sent.String()
	rest, ok := strings.CutPrefix(output, sent)
	if !ok {
		// A retried attempt streamed its text again after the first one's:
		// what the client has cannot be taken back.
		c.log.Warn("openai stream: the streamed text is not a prefix of the output", "execution_id", c.id)
		return nil
	}
	if rest == "" {
		return nil
	}
	if sent != "" {
		c.log.Warn("openai stream: output missing from the deltas, sent at the end", "execution_id", c.id, "bytes", len(rest))
	}
	return c.text(rest)
}

func (c *chunks) chunk(d *delta, finish *string) completion {
	ch := c.base
	ch.Choices = []choice{{Delta: d, FinishReason: finish}}
	return ch
}

func (c *chunks) send(v any) error {
	var b bytes.Buffer
	if err := httpx.Encode(&b, v); err != nil {
		return err
	}
	return c.sse.Data(bytes.TrimRight(b.Bytes(), "\n"))
}
