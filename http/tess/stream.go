package tess

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
)

// streamEvent is one SSE event of a streamed execute (tess-api.md §3.4):
// status running with an output chunk, then one completed (or failed)
// event with the credits and an empty output.
type streamEvent struct {
	ID         int64    `json:"id"`
	Status     string   `json:"status"`
	Output     string   `json:"output"`
	Error      *string  `json:"error"`
	Credits    *float64 `json:"credits"`
	RootID     int64    `json:"root_id"`
	CreatedAt  string   `json:"created_at"`
	UpdatedAt  string   `json:"updated_at"`
	TemplateID int64    `json:"template_id"`
}

// streamHeartbeat keeps idle streams open through proxies.
const streamHeartbeat = 15 * time.Second

// stream answers an execute with "stream": true. A client that goes away
// does not cancel the execution: it can still be polled.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, ex *tessera.Execution) {
	sse, err := httpx.StartSSE(w)
	if err != nil {
		return
	}
	base := streamEvent{ID: ex.ID, RootID: ex.RootID, CreatedAt: ts(ex.CreatedAt), TemplateID: ex.AgentID}
	send := func(ev streamEvent, at time.Time) error {
		ev.UpdatedAt = ts(at)
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		return sse.Data(b)
	}
	err = h.cfg.Engine.Follow(r.Context(), ex.WorkspaceID, ex.ID, 0,
		engine.FollowOptions{Heartbeat: streamHeartbeat, OnHeartbeat: func() error { return sse.Comment("keep-alive") }},
		func(e *tessera.Event) error {
			switch e.Type {
			case tessera.EventDelta:
				var d tessera.DeltaData
				if json.Unmarshal(e.Data, &d) != nil || d.Text == "" {
					return nil
				}
				ev := base
				ev.Status, ev.Output = "running", d.Text
				return send(ev, e.CreatedAt)
			case tessera.EventDone:
				var d tessera.DoneData
				_ = json.Unmarshal(e.Data, &d) // written by the store from a DoneData
				ev := base
				ev.Status, ev.Credits = "completed", &d.Credits
				if d.Status != tessera.StatusCompleted {
					msg := d.Error
					ev.Status, ev.Error = "failed", &msg
				}
				return send(ev, e.CreatedAt)
			}
			return nil
		})
	if err != nil && r.Context().Err() == nil && err != context.Canceled {
		h.log.Warn("tess stream ended early", "execution_id", ex.ID, "err", err)
	}
}
