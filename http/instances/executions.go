package instances

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
)

// pathID reads the {id} path parameter; FastAPI answers a non-integer with
// a 422 naming the path parameter.
func pathID(r *http.Request, name string) (int64, error) {
	raw := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		msg := "Input should be a valid integer, unable to parse string as an integer"
		return 0, &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{"path." + name: {msg}}}
	}
	return id, nil
}

// events streams an execution's event log as SSE: every event with its
// sequence number as the SSE id, replayed after Last-Event-ID (header or
// last_event_id query) and then followed live, keep-alive comments while
// idle, and an explicit terminal "done" event, after which the stream ends.
// A client that goes away does not cancel the execution unless it asked for
// on_disconnect=cancel.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "execution_id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	after, cancelOnDisconnect, err := eventsQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := httpx.PrincipalFrom(r.Context())
	ex, err := h.cfg.Store.ExecutionGetByID(r.Context(), &tessera.ExecutionGetParams{ID: id, WorkspaceID: p.WorkspaceID})
	if err != nil {
		if tessera.ErrorCode(err) == tessera.ENOTFOUND {
			err = tessera.Errorf(tessera.ENOTFOUND, "Execution not found")
		}
		h.fail(w, r, err)
		return
	}
	if ex.Status.Terminal() && after >= ex.LastEventSeq {
		// Nothing will follow the cursor. 204 is what tells EventSource,
		// which reconnects with the last id it saw, to stop.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	sse, err := httpx.StartSSE(w)
	if err != nil {
		return
	}
	sawDone := false
	err = h.cfg.Engine.Follow(r.Context(), p.WorkspaceID, id, after,
		engine.FollowOptions{Heartbeat: h.cfg.Heartbeat, OnHeartbeat: func() error { return sse.Comment("ping") }},
		func(ev *tessera.Event) error {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			sawDone = ev.Type == tessera.EventDone
			return sse.Event(strconv.FormatInt(ev.Seq, 10), ev.Type, b)
		})
	if !sawDone && cancelOnDisconnect && r.Context().Err() != nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
		defer cancel()
		if _, err := h.cfg.Engine.Cancel(ctx, p.WorkspaceID, id); err != nil && tessera.ErrorCode(err) != tessera.ECONFLICT {
			h.log.Warn("cancel on disconnect", "execution_id", id, "err", err)
		}
	} else if err != nil && r.Context().Err() == nil {
		h.log.Warn("event stream ended early", "execution_id", id, "err", err)
	}
}

func eventsQuery(r *http.Request) (after int64, cancelOnDisconnect bool, err error) {
	var v tessera.ValidationErrors
	raw := strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	field := "header.last-event-id"
	if q := r.URL.Query().Get("last_event_id"); q != "" {
		raw, field = q, "query.last_event_id"
	}
	if raw != "" {
		n, perr := strconv.ParseInt(raw, 10, 64)
		if perr != nil || n < 0 {
			v.Add(field, "Input should be a valid non-negative integer")
		}
		after = n
	}
	switch r.URL.Query().Get("on_disconnect") {
	case "", "continue":
	case "cancel":
		cancelOnDisconnect = true
	default:
		v.Add("query.on_disconnect", "Input should be 'continue' or 'cancel'")
	}
	return after, cancelOnDisconnect, v.Err()
}

// cancel cancels an execution, queued or running, and answers with its
// status after the change.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "execution_id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := httpx.PrincipalFrom(r.Context())
	ex, err := h.cfg.Engine.Cancel(r.Context(), p.WorkspaceID, id)
	switch tessera.ErrorCode(err) {
	case "":
	case tessera.ENOTFOUND:
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "Execution not found"))
		return
	default:
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{
		"id": ex.ID, "status": seedStatus(ex.Status), "cancel_requested": ex.CancelRequested || ex.Status == tessera.StatusCancelled,
	})
}

// seedStatus maps the internal status onto seed 003's vocabulary.
func seedStatus(s tessera.Status) string {
	if s == tessera.StatusQueued {
		return "pending"
	}
	return string(s)
}
