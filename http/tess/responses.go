package tess

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

func (h *Handler) getResponse(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "Agent response not found"))
		return
	}
	p := httpx.PrincipalFrom(r.Context())
	ex, err := h.cfg.Store.ExecutionGetByID(r.Context(), &tessera.ExecutionGetParams{ID: id, WorkspaceID: p.WorkspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Agent response not found")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toResponse(ex))
}

// listResponses lists executions with the filters the n8n node sends:
// agent_id, root_id, q (agent title), sort (desc by default, or asc).
func (h *Handler) listResponses(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	pg, err := parsePage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	var v tessera.ValidationErrors
	params := &tessera.ExecutionListParams{
		WorkspaceID: p.WorkspaceID, AgentQuery: strings.TrimSpace(q.Get("q")),
		Limit: pg.PerPage, Offset: pg.offset(), Desc: true,
	}
	params.AgentID = queryID(&v, q.Get("agent_id"), "agent_id")
	params.RootID = queryID(&v, q.Get("root_id"), "root_id")
	switch strings.ToLower(q.Get("sort")) {
	case "", "desc":
	case "asc":
		params.Desc = false
	default:
		v.Add("sort", "The sort must be asc or desc.")
	}
	if err := v.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	list, total, err := h.cfg.Store.ExecutionList(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := make([]response, len(list))
	for i, ex := range list {
		data[i] = toResponse(ex)
	}
	httpx.WriteJSON(w, http.StatusOK, newPaginator(r, pg, data, len(data), total))
}

func queryID(v *tessera.ValidationErrors, s, field string) int64 {
	if s == "" {
		return 0
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		v.Add(field, "The %s must be a positive integer.", field)
	}
	return id
}

// cancelResponse cancels an execution (queued or running) and answers with
// its state: failed with a cancel error when it was queued, still running
// (until its worker stops, moments later) when it was running.
func (h *Handler) cancelResponse(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "Agent response not found"))
		return
	}
	p := httpx.PrincipalFrom(r.Context())
	ex, err := h.cfg.Engine.Cancel(r.Context(), p.WorkspaceID, id)
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Agent response not found")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toResponse(ex))
}
