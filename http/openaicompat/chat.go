package openaicompat

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// agentCompletions serves POST …/agents/{id}/openai/chat/completions. The
// body's model overrides the agent's model (Tess's semantics; the engine
// resolves aliases).
func (h *Handler) agentCompletions(w http.ResponseWriter, r *http.Request) {
	agent, err := h.pathAgent(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req, body, err := h.decode(r)
	if err == nil {
		err = h.settleModel(r, agent, req)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.complete(w, r, agent, req, body)
}

// settleModel settles the model of a per-agent request. The models this
// base URL lists are agents, so a client may send one as its model: this
// agent means the agent as it is (no override), another agent is refused
// rather than taken for an LLM's name.
func (h *Handler) settleModel(r *http.Request, agent *tessera.Agent, req *chatRequest) error {
	if req.model == "" {
		return nil
	}
	if namesAgent(agent, req.model) {
		req.exec.Model = ""
		return nil
	}
	other, err := h.lookup(r, req.model)
	switch tessera.ErrorCode(err) {
	case tessera.ENOTFOUND:
		return nil
	case "":
		return invalid("model", fmt.Sprintf("The model %q names another agent; call it with POST /v1/chat/completions, or at its own base URL /agents/%d/openai.", req.model, other.ID))
	}
	return err
}

// modelCompletions serves POST /v1/chat/completions, where the model names
// the agent (slug or id); the agent runs on its own model.
func (h *Handler) modelCompletions(w http.ResponseWriter, r *http.Request) {
	req, body, err := h.decode(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if req.model == "" {
		h.fail(w, r, invalid("model", "The model field is required: it names the chat agent to call, by slug or id."))
		return
	}
	agent, err := h.lookup(r, req.model)
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = modelNotFound(req.model)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req.exec.Model = ""
	h.complete(w, r, agent, req, body)
}

func (h *Handler) decode(r *http.Request) (*chatRequest, []byte, error) {
	body, err := httpx.ReadBody(r, h.cfg.MaxBody)
	if err != nil {
		return nil, nil, err
	}
	req, err := parseChat(body)
	return req, body, err
}

// complete submits the execution and answers, streamed or not.
func (h *Handler) complete(w http.ResponseWriter, r *http.Request, agent *tessera.Agent, req *chatRequest, body []byte) {
	if agent.Type != tessera.AgentTypeChat {
		h.fail(w, r, tessera.Errorf(tessera.EINVALID,
			"The agent %q is a %s agent; chat completions are available for chat agents only.", toModel(agent).ID, agent.Type))
		return
	}
	p := httpx.PrincipalFrom(r.Context())
	req.exec.WorkspaceID, req.exec.AgentID = p.WorkspaceID, agent.ID
	if p.Key != nil {
		req.exec.APIKeyID = &p.Key.ID
	}
	if err := idempotency(r, body, req.exec); err != nil {
		h.fail(w, r, err)
		return
	}
	ex, err := h.cfg.Engine.Submit(r.Context(), req.exec)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set(ExecutionIDHeader, strconv.FormatInt(ex.ID, 10))
	if req.stream {
		h.stream(w, r, ex, h.modelName(ex, req), req.includeUsage)
		return
	}
	h.answer(w, r, ex, req)
}

// answer waits for the execution, up to MaxWait, and renders its outcome.
// A client that goes away leaves the execution running.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, ex *tessera.Execution, req *chatRequest) {
	ex, err := h.cfg.Engine.Wait(r.Context(), ex.WorkspaceID, ex.ID, h.cfg.MaxWait)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Context().Err() != nil {
		return
	}
	if e := outcomeError(ex.ID, ex.Status, ex.Error); e != nil {
		h.fail(w, r, e)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toCompletion(ex, h.modelName(ex, req)))
}

// modelName is the model an answer names: the one that ran, else the one
// the execution is to run on (the registry resolves aliases and the
// default, as the engine will), else the name as sent.
func (h *Handler) modelName(ex *tessera.Execution, req *chatRequest) string {
	if ex.ModelUsed != "" {
		return ex.ModelUsed
	}
	if h.cfg.Registry != nil {
		if res, err := h.cfg.Registry.Resolve(ex.Model); err == nil {
			return res.Spec
		}
	}
	return cmp.Or(ex.Model, req.model)
}

// pathAgent is the agent of the {id} path parameter, by id or slug.
func (h *Handler) pathAgent(r *http.Request) (*tessera.Agent, error) {
	a, err := h.lookup(r, chi.URLParam(r, "id"))
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "Agent not found")
	}
	return a, err
}

// lookup finds an agent of the request's workspace by numeric id, then by
// slug: a model or a path may name an agent either way. ENOTFOUND when
// neither does.
func (h *Handler) lookup(r *http.Request, ref string) (*tessera.Agent, error) {
	ctx, ws := r.Context(), httpx.PrincipalFrom(r.Context()).WorkspaceID
	ref = strings.TrimSpace(ref)
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && id > 0 {
		a, err := h.cfg.Store.AgentGetByID(ctx, &tessera.AgentGetParams{ID: id, WorkspaceID: ws})
		if tessera.ErrorCode(err) != tessera.ENOTFOUND {
			return a, err
		}
	}
	if ref == "" {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "agent not found")
	}
	return h.cfg.Store.AgentGetBySlug(ctx, ws, strings.ToLower(ref))
}

// namesAgent reports whether model is the agent's slug or id.
func namesAgent(a *tessera.Agent, model string) bool {
	return model != "" && (strings.EqualFold(model, a.Slug) || model == fmt.Sprint(a.ID))
}
