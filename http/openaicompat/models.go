package openaicompat

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// maxModels bounds the model list, which OpenAI's API does not paginate.
const maxModels = 1000

// listModels serves GET /v1/models: the workspace's chat agents as models.
func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) {
	agents, err := h.chatAgents(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list := modelList{Object: "list", Data: make([]model, 0, len(agents))}
	for _, a := range agents {
		list.Data = append(list.Data, toModel(a))
	}
	httpx.WriteJSON(w, http.StatusOK, list)
}

// getModel serves GET /v1/models/{model}; the model is a chat agent's slug
// or id.
func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) {
	ref := chi.URLParam(r, "model")
	a, err := h.lookup(r, ref)
	if tessera.ErrorCode(err) == tessera.ENOTFOUND || (err == nil && a.Type != tessera.AgentTypeChat) {
		err = modelNotFound(ref)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toModel(a))
}

// agentModels and agentModel serve the model routes under a per-agent base
// URL, which clients call too; the path's agent must exist.
func (h *Handler) agentModels(w http.ResponseWriter, r *http.Request) {
	if _, err := h.pathAgent(r); err != nil {
		h.fail(w, r, err)
		return
	}
	h.listModels(w, r)
}

func (h *Handler) agentModel(w http.ResponseWriter, r *http.Request) {
	if _, err := h.pathAgent(r); err != nil {
		h.fail(w, r, err)
		return
	}
	h.getModel(w, r)
}

// chatAgents lists the workspace's chat agents, up to maxModels.
func (h *Handler) chatAgents(r *http.Request) ([]*tessera.Agent, error) {
	const page = 100
	ws := httpx.PrincipalFrom(r.Context()).WorkspaceID
	var out []*tessera.Agent
	for len(out) < maxModels {
		list, _, err := h.cfg.Store.AgentList(r.Context(), &tessera.AgentListParams{
			WorkspaceID: ws, Type: tessera.AgentTypeChat, Limit: page, Offset: len(out),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
		if len(list) < page {
			break
		}
	}
	return out, nil
}
