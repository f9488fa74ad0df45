package native

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

func (h *Handler) listWorkspaces(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	params := &tessera.WorkspaceListParams{}
	if !p.Admin {
		params.IDs = p.Key.WorkspaceIDs
	}
	list, err := h.cfg.Store.WorkspaceList(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if list == nil {
		list = []*tessera.Workspace{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": list})
}

func (h *Handler) createWorkspace(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	if !p.Admin {
		h.fail(w, r, tessera.Errorf(tessera.EFORBIDDEN, "Only the administrator token may create workspaces."))
		return
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := h.decode(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	body.Name = strings.TrimSpace(body.Name)
	if body.Name == "" || len(body.Name) > 200 {
		h.fail(w, r, invalid("name", "The name field is required (200 characters at most)."))
		return
	}
	ws, err := h.cfg.Store.WorkspaceCreate(r.Context(), &tessera.WorkspaceCreateParams{Name: body.Name, Now: h.cfg.Now()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, ws)
}

func (h *Handler) getWorkspace(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	id, ok := pathID(r)
	if !ok || (!p.Admin && !p.Key.Allows(id)) {
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "Workspace not found."))
		return
	}
	ws, err := h.cfg.Store.WorkspaceGetByID(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, ws)
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	return id, err == nil && id > 0
}

// decode reads a strict JSON body: unknown fields are errors, so that a
// typo in a management call is not silently ignored.
func (h *Handler) decode(r *http.Request, v any) error {
	body, err := httpx.ReadBody(r, h.cfg.MaxBody)
	if err != nil {
		return err
	}
	return httpx.DecodeJSONStrict(body, v)
}

func invalid(field, msg string) error {
	return &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{field: {msg}}}
}
