package native

import (
	"net/http"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// keyCreated is a new key: the only time its token is shown.
type keyCreated struct {
	*tessera.APIKey
	Token string `json:"token"`
}

func (h *Handler) createKey(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	var body struct {
		Name         string  `json:"name"`
		WorkspaceIDs []int64 `json:"workspace_ids"`
	}
	if err := h.decode(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	var v tessera.ValidationErrors
	body.Name = strings.TrimSpace(body.Name)
	if body.Name == "" || len(body.Name) > 200 {
		v.Add("name", "The name field is required (200 characters at most).")
	}
	if len(body.WorkspaceIDs) == 0 {
		body.WorkspaceIDs = []int64{p.WorkspaceID}
	}
	if len(body.WorkspaceIDs) > 1000 {
		v.Add("workspace_ids", "A key may be granted at most 1000 workspaces.")
	}
	seen := map[int64]bool{}
	for _, id := range body.WorkspaceIDs {
		if id <= 0 || seen[id] {
			v.Add("workspace_ids", "The workspace_ids must be distinct positive integers.")
			break
		}
		seen[id] = true
	}
	if err := v.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	if !p.Admin {
		// A key can only hand out what it has.
		for _, id := range body.WorkspaceIDs {
			if !p.Key.Allows(id) {
				h.fail(w, r, tessera.Errorf(tessera.EFORBIDDEN, "This API key may not grant workspace %d.", id))
				return
			}
		}
	}
	token, hash := tessera.NewAPIToken()
	key, err := h.cfg.Store.APIKeyCreate(r.Context(), &tessera.APIKeyCreateParams{
		Name: body.Name, Hash: hash, Prefix: tessera.TokenPrefix(token), WorkspaceIDs: body.WorkspaceIDs, Now: h.cfg.Now(),
	})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = invalid("workspace_ids", tessera.ErrorMessage(err))
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, keyCreated{APIKey: key, Token: token})
}

func (h *Handler) listKeys(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	params := &tessera.APIKeyListParams{WorkspaceID: p.WorkspaceID}
	if p.Admin && r.Header.Get("x-workspace-id") == "" {
		params.WorkspaceID = 0 // the administrator sees every key unless it names a workspace
	}
	keys, err := h.cfg.Store.APIKeyList(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if keys == nil {
		keys = []*tessera.APIKey{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": keys})
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	id, ok := pathID(r)
	if !ok {
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "API key not found."))
		return
	}
	params := &tessera.APIKeyRevokeParams{ID: id, WorkspaceID: p.WorkspaceID, Now: h.cfg.Now()}
	if p.Admin || p.Key.ID == id {
		// A key may always revoke itself: it is how a leaked key is retired.
		params.WorkspaceID = 0
	}
	if err := h.cfg.Store.APIKeyRevoke(r.Context(), params); err != nil {
		if tessera.ErrorCode(err) == tessera.ENOTFOUND {
			err = tessera.Errorf(tessera.ENOTFOUND, "API key not found.")
		}
		h.fail(w, r, err)
		return
	}
	h.cfg.Auth.Forget()
	w.WriteHeader(http.StatusNoContent)
}
