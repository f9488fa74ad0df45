package instances

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// instanceBody is what creates or updates an instance.
type instanceBody struct {
	AgentID int64                  `json:"agent_id"`
	Name    string                 `json:"name"`
	Config  tessera.InstanceConfig `json:"config"`
}

// instanceView is an instance as the API shows it: credentials are named,
// never shown.
type instanceView struct {
	ID              int64                  `json:"id"`
	AgentID         int64                  `json:"agent_id"`
	Name            string                 `json:"name"`
	Config          tessera.InstanceConfig `json:"config"`
	CredentialNames []string               `json:"credential_names"`
	CreatedAt       string                 `json:"created_at"`
	UpdatedAt       string                 `json:"updated_at"`
}

func view(in *tessera.Instance) instanceView {
	v := instanceView{ID: in.ID, AgentID: in.AgentID, Name: in.Name, Config: in.Config,
		CreatedAt: isoTime(in.CreatedAt), UpdatedAt: isoTime(in.UpdatedAt), CredentialNames: []string{}}
	for name := range in.Config.Credentials {
		v.CredentialNames = append(v.CredentialNames, name)
	}
	slices.Sort(v.CredentialNames)
	v.Config.Credentials = nil
	return v
}

func (h *Handler) createInstance(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	var body instanceBody
	if err := h.decode(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	in := &tessera.Instance{WorkspaceID: p.WorkspaceID, AgentID: body.AgentID, Name: strings.TrimSpace(body.Name), Config: body.Config}
	if err := h.checkInstance(r.Context(), in); err != nil {
		h.fail(w, r, err)
		return
	}
	created, err := h.cfg.Store.InstanceCreate(r.Context(), &tessera.InstanceCreateParams{Instance: in, Now: h.cfg.Now()})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = invalidField("agent_id", "Agent not found in this workspace")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, view(created))
}

// checkInstance validates what the store cannot: names, bounds, tools
// (which may name the agent's declared tools).
func (h *Handler) checkInstance(ctx context.Context, in *tessera.Instance) error {
	var v tessera.ValidationErrors
	if in.AgentID <= 0 {
		v.Add("agent_id", "Field required")
	}
	if in.Name == "" || len(in.Name) > 200 {
		v.Add("name", "String should have at least 1 and at most 200 characters")
	}
	c := in.Config
	if c.MaxIterations < 0 || c.MaxIterations > tessera.MaxIterationsCap {
		v.Add("config.max_iterations", "Input should be between 0 and %d", tessera.MaxIterationsCap)
	}
	if c.Temperature != nil && (*c.Temperature < 0 || *c.Temperature > 2) {
		v.Add("config.temperature", "Input should be between 0 and 2")
	}
	if c.Model != "" {
		if _, err := h.cfg.Registry.Resolve(c.Model); err != nil {
			v.Add("config.model", "%s", err.Error())
		}
	}
	if !v.Empty() || in.AgentID <= 0 {
		return v.Err()
	}
	agent, err := h.cfg.Store.AgentGetByID(ctx, &tessera.AgentGetParams{ID: in.AgentID, WorkspaceID: in.WorkspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		return invalidField("agent_id", "Agent not found in this workspace")
	}
	if err != nil {
		return err
	}
	return h.cfg.Engine.CheckInstance(agent, in)
}

func (h *Handler) getInstance(w http.ResponseWriter, r *http.Request) {
	in, err := h.instance(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view(in))
}

func (h *Handler) listInstances(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	var v tessera.ValidationErrors
	agentID := queryInt(&v, r, "agent_id")
	skip, limit := paging(&v, r)
	if err := v.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	list, total, err := h.cfg.Store.InstanceList(r.Context(), &tessera.InstanceListParams{WorkspaceID: p.WorkspaceID, AgentID: agentID, Limit: limit, Offset: skip})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items := make([]instanceView, len(list))
	for i, in := range list {
		items[i] = view(in)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "total": total, "skip": skip, "limit": limit})
}

// updateInstance replaces name and config. Credentials not sent are kept,
// since the API never shows them to be sent back.
func (h *Handler) updateInstance(w http.ResponseWriter, r *http.Request) {
	in, err := h.instance(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var body instanceBody
	if err := h.decode(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	kept := in.Config.Credentials
	in.Name, in.Config = strings.TrimSpace(body.Name), body.Config
	if in.Config.Credentials == nil {
		in.Config.Credentials = kept
	}
	if body.AgentID != 0 && body.AgentID != in.AgentID {
		h.fail(w, r, invalidField("agent_id", "An instance cannot move to another agent"))
		return
	}
	if err := h.checkInstance(r.Context(), in); err != nil {
		h.fail(w, r, err)
		return
	}
	updated, err := h.cfg.Store.InstanceUpdate(r.Context(), &tessera.InstanceUpdateParams{Instance: in, Now: h.cfg.Now()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, view(updated))
}

func (h *Handler) deleteInstance(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	id, err := pathID(r, "instance_id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.cfg.Store.InstanceDelete(r.Context(), &tessera.InstanceGetParams{ID: id, WorkspaceID: p.WorkspaceID}); err != nil {
		if tessera.ErrorCode(err) == tessera.ENOTFOUND {
			err = tessera.Errorf(tessera.ENOTFOUND, "Agent instance not found")
		}
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) instance(r *http.Request) (*tessera.Instance, error) {
	p := httpx.PrincipalFrom(r.Context())
	id, err := pathID(r, "instance_id")
	if err != nil {
		return nil, err
	}
	in, err := h.cfg.Store.InstanceGetByID(r.Context(), &tessera.InstanceGetParams{ID: id, WorkspaceID: p.WorkspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Agent instance not found")
	}
	return in, err
}

// decode reads a JSON object body; FastAPI calls a malformed one a 422.
func (h *Handler) decode(r *http.Request, v any) error {
	body, err := httpx.ReadBody(r, h.cfg.MaxBody)
	if err != nil {
		return err
	}
	return httpx.DecodeJSON(body, v, false)
}

func invalidField(field, msg string) error {
	return &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{field: {msg}}}
}

// queryInt reads an optional integer query parameter.
func queryInt(v *tessera.ValidationErrors, r *http.Request, name string) int64 {
	s := r.URL.Query().Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		v.Add("query."+name, "Input should be a valid integer, unable to parse string as an integer")
	}
	return n
}

// paging reads FastAPI-style skip and limit (default 50, at most 200).
func paging(v *tessera.ValidationErrors, r *http.Request) (skip, limit int) {
	skip, limit = 0, 50
	if s := r.URL.Query().Get("skip"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			v.Add("query.skip", "Input should be a non-negative integer")
		}
		skip = n
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			v.Add("query.limit", "Input should be an integer between 1 and 200")
		}
		limit = n
	}
	return skip, limit
}
