package native

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
	"github.com/tessera-run/tessera/http/tess"
)

// agentBody is the writable part of an agent. Pointers tell PATCH which
// fields were sent.
type agentBody struct {
	Title         *string             `json:"title"`
	Slug          *string             `json:"slug"`
	Description   *string             `json:"description"`
	Type          *string             `json:"type"`
	Instructions  *string             `json:"instructions"`
	Prompt        *string             `json:"prompt"`
	Questions     *[]tessera.Question `json:"questions"`
	Model         *string             `json:"model"`
	Temperature   *float64            `json:"temperature"`
	Tools         *[]string           `json:"tools"`
	MaxIterations *int                `json:"max_iterations"`
	Visibility    *string             `json:"visibility"`
	// TimeoutSeconds and MultitaskStrategy: see tessera.Agent.
	TimeoutSeconds    *int    `json:"timeout_seconds"`
	MultitaskStrategy *string `json:"multitask_strategy"`
	// HTTPTools and MCPServers replace the agent's declared tools.
	HTTPTools  *[]tessera.HTTPTool  `json:"http_tools"`
	MCPServers *[]tessera.MCPServer `json:"mcp_servers"`
	// OutputSchema replaces the schema; null removes it.
	OutputSchema   json.RawMessage `json:"output_schema"`
	FallbackModels *[]string       `json:"fallback_models"`
}

// apply copies the sent fields onto a.
func (b *agentBody) apply(a *tessera.Agent) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&a.Title, b.Title)
	set(&a.Slug, b.Slug)
	set(&a.Description, b.Description)
	set(&a.Type, b.Type)
	set(&a.Instructions, b.Instructions)
	set(&a.Prompt, b.Prompt)
	set(&a.Model, b.Model)
	set(&a.Visibility, b.Visibility)
	if b.Questions != nil {
		a.Questions = *b.Questions
	}
	if b.Temperature != nil {
		a.Temperature = b.Temperature
	}
	if b.Tools != nil {
		a.Tools = *b.Tools
	}
	if b.MaxIterations != nil {
		a.MaxIterations = *b.MaxIterations
	}
	if b.TimeoutSeconds != nil {
		a.TimeoutSeconds = *b.TimeoutSeconds
	}
	set(&a.MultitaskStrategy, b.MultitaskStrategy)
	if b.HTTPTools != nil {
		a.HTTPTools = *b.HTTPTools
	}
	if b.MCPServers != nil {
		a.MCPServers = *b.MCPServers
	}
	if b.OutputSchema != nil {
		a.OutputSchema = b.OutputSchema // "null" is cleared by Validate
	}
	if b.FallbackModels != nil {
		a.FallbackModels = *b.FallbackModels
	}
}

// Agent is the native agent: Tess's Get Agent shape plus the definition.
// Questions here are the agent's own (Tess adds the standard chat ones).
type Agent struct {
	tess.Agent
	Instructions  string   `json:"instructions"`
	Prompt        string   `json:"prompt"`
	Model         string   `json:"model"`
	Temperature   *float64 `json:"temperature"`
	Tools         []string `json:"tools"`
	MaxIterations int      `json:"max_iterations"`
	// The rest of the definition.
	TimeoutSeconds    int                 `json:"timeout_seconds"`
	MultitaskStrategy string              `json:"multitask_strategy"`
	HTTPTools         []tessera.HTTPTool  `json:"http_tools"`
	MCPServers        []tessera.MCPServer `json:"mcp_servers"`
	OutputSchema      json.RawMessage     `json:"output_schema"`
	FallbackModels    []string            `json:"fallback_models"`
	Version           int                 `json:"version"`
	Source            string              `json:"source"`
}

func (h *Handler) toAgent(a *tessera.Agent) Agent {
	out := Agent{
		Agent: tess.ToAgent(a, h.cfg.Registry), Instructions: a.Instructions, Prompt: a.Prompt, Model: a.Model,
		Temperature: a.Temperature, Tools: a.Tools, MaxIterations: a.MaxIterations, Version: a.Version, Source: a.Source,
		TimeoutSeconds: a.TimeoutSeconds, MultitaskStrategy: a.MultitaskStrategy, HTTPTools: a.HTTPTools,
		MCPServers: a.MCPServers, OutputSchema: a.OutputSchema, FallbackModels: a.FallbackModels,
	}
	if out.FallbackModels == nil {
		out.FallbackModels = []string{}
	}
	if out.HTTPTools == nil {
		out.HTTPTools = []tessera.HTTPTool{}
	}
	if out.MCPServers == nil {
		out.MCPServers = []tessera.MCPServer{}
	}
	out.Questions = a.Questions
	return out
}

func (h *Handler) createAgent(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	var body agentBody
	if err := h.decode(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	a := &tessera.Agent{WorkspaceID: p.WorkspaceID, Source: "api"}
	body.apply(a)
	if err := h.checkAgent(a); err != nil {
		h.fail(w, r, err)
		return
	}
	explicitSlug := a.Slug != ""
	for try := 0; ; try++ {
		if !explicitSlug {
			a.Slug = tessera.Slugify(a.Title) + "-" + randomSuffix()
		}
		created, err := h.cfg.Store.AgentCreate(r.Context(), &tessera.AgentCreateParams{Agent: a, Now: h.cfg.Now(), Actor: p.Actor()})
		if tessera.ErrorCode(err) == tessera.ECONFLICT && !explicitSlug && try < 5 {
			continue
		}
		if tessera.ErrorCode(err) == tessera.ECONFLICT {
			err = invalid("slug", "The slug "+a.Slug+" is already used in this workspace.")
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		httpx.WriteJSON(w, http.StatusCreated, h.toAgent(created))
		return
	}
}

// checkAgent validates a definition, including that its model resolves.
func (h *Handler) checkAgent(a *tessera.Agent) error {
	var v tessera.ValidationErrors
	if err := a.Validate(); err != nil {
		v.Merge(err)
	}
	if a.Slug != "" && tessera.Slugify(a.Slug) != a.Slug {
		v.Add("slug", "The slug may only hold lowercase letters, digits and dashes.")
	}
	if h.cfg.Tools != nil && v.Empty() {
		// Only a well-formed definition is worth checking against the
		// server's tools.
		v.Merge(h.cfg.Tools.CheckAgent(a))
	}
	if a.Model != "" {
		if _, err := h.cfg.Registry.Resolve(a.Model); err != nil {
			v.Add("model", "%s", err.Error())
		}
	}
	return v.Err()
}

const slugAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// randomSuffix makes slugs unique the way Tess's are ("…-pB9ujA").
func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = slugAlphabet[int(b[i])%len(slugAlphabet)]
	}
	return strings.ToLower(string(b[:]))
}

func (h *Handler) listAgents(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	agents, total, err := h.cfg.Store.AgentList(r.Context(), &tessera.AgentListParams{
		WorkspaceID: p.WorkspaceID, Query: r.URL.Query().Get("q"), Type: r.URL.Query().Get("type"), Limit: 100,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := make([]Agent, len(agents))
	for i, a := range agents {
		data[i] = h.toAgent(a)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "total": total})
}

func (h *Handler) getAgent(w http.ResponseWriter, r *http.Request) {
	a, err := h.agent(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, h.toAgent(a))
}

func (h *Handler) replaceAgent(w http.ResponseWriter, r *http.Request) { h.update(w, r, true) }
func (h *Handler) patchAgent(w http.ResponseWriter, r *http.Request)   { h.update(w, r, false) }

// update applies a PUT (replace: unsent fields reset) or PATCH (merge).
func (h *Handler) update(w http.ResponseWriter, r *http.Request, replace bool) {
	a, err := h.agent(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var body agentBody
	if err := h.decode(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	old := *a
	if replace {
		*a = tessera.Agent{ID: a.ID, WorkspaceID: a.WorkspaceID, Slug: a.Slug, Source: a.Source, CreatedAt: a.CreatedAt, Version: a.Version}
	}
	body.apply(a)
	if err := h.checkAgent(a); err != nil {
		h.fail(w, r, err)
		return
	}
	if len(tessera.ChangedFields(&old, a)) == 0 {
		// Nothing changed: no new version (re-applying a file is a no-op).
		httpx.WriteJSON(w, http.StatusOK, h.toAgent(&old))
		return
	}
	updated, err := h.cfg.Store.AgentUpdate(r.Context(), &tessera.AgentUpdateParams{Agent: a, Now: h.cfg.Now(), Actor: httpx.PrincipalFrom(r.Context()).Actor()})
	if tessera.ErrorCode(err) == tessera.ECONFLICT {
		err = invalid("slug", "The slug "+a.Slug+" is already used in this workspace.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, h.toAgent(updated))
}

func (h *Handler) deleteAgent(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	id, ok := pathID(r)
	if !ok {
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "Agent not found."))
		return
	}
	err := h.cfg.Store.AgentDelete(r.Context(), &tessera.AgentGetParams{ID: id, WorkspaceID: p.WorkspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Agent not found.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) agent(r *http.Request) (*tessera.Agent, error) {
	p := httpx.PrincipalFrom(r.Context())
	id, ok := pathID(r)
	if !ok {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "Agent not found.")
	}
	a, err := h.cfg.Store.AgentGetByID(r.Context(), &tessera.AgentGetParams{ID: id, WorkspaceID: p.WorkspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "Agent not found.")
	}
	return a, err
}
