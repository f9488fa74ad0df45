package tess

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
	"github.com/tessera-run/tessera/llm"
	"github.com/tessera-run/tessera/tool/builtin"
)

// Agent is an agent as Tess's Get Agent shows it. The native API embeds it.
type Agent struct {
	ID              int64              `json:"id"`
	Title           string             `json:"title"`
	Description     *string            `json:"description"`
	LongDescription *string            `json:"long_description"`
	WorkspaceID     int64              `json:"workspace_id"`
	Visibility      string             `json:"visibility"`
	Slug            string             `json:"slug"`
	Active          int                `json:"active"`
	Type            string             `json:"type"`
	Questions       []tessera.Question `json:"questions"`
	CreatedAt       string             `json:"created_at"`
	UpdatedAt       string             `json:"updated_at"`
}

// temperatureOptions are Tess's temperature choices.
var temperatureOptions = []string{"0", "0.25", "0.5", "0.75", "1"}

// ToAgent renders an agent in Tess's shape. Chat agents also expose the
// standard questions Tess clients build their forms from: temperature,
// model, tools, root_id and messages.
func ToAgent(a *tessera.Agent, reg *llm.Registry) Agent {
	out := Agent{
		ID: a.ID, Title: a.Title, WorkspaceID: a.WorkspaceID, Visibility: a.Visibility, Slug: a.Slug,
		Active: 1, Type: a.Type, CreatedAt: ts(a.CreatedAt), UpdatedAt: ts(a.UpdatedAt),
		Questions: slices.Clone(a.Questions),
	}
	if a.Description != "" {
		out.Description = &a.Description
	}
	if out.Questions == nil {
		out.Questions = []tessera.Question{}
	}
	if a.Type == tessera.AgentTypeChat {
		out.Questions = append(out.Questions, chatQuestions(a, reg)...)
	}
	return out
}

func chatQuestions(a *tessera.Agent, reg *llm.Registry) []tessera.Question {
	temp := "1"
	if a.Temperature != nil {
		temp = strconv.FormatFloat(*a.Temperature, 'f', -1, 64)
	}
	tempOpts := temperatureOptions
	if !slices.Contains(tempOpts, temp) {
		tempOpts = append(slices.Clone(tempOpts), temp)
	}
	models := modelOptions(a, reg)
	var modelDefault any
	if len(models) > 0 {
		modelDefault = models[0]
	}
	return []tessera.Question{
		{Type: tessera.QuestionSelect, Name: "temperature", Description: "Sampling temperature between 0 and 2: lower is more objective, higher more creative.", Options: tempOpts, Default: temp},
		{Type: tessera.QuestionSelect, Name: "model", Description: "Choose the model.", Options: models, Default: modelDefault},
		{Type: tessera.QuestionSelect, Name: "tools", Description: "Choose the tools the agent may use: its own (agent), the web (internet), a site's search, or none.", Options: toolOptions(a), Default: toolDefault(a)},
		{Type: tessera.QuestionNumber, Name: "root_id", Description: "The stored session id to continue conversation."},
		{Type: tessera.QuestionArray, Name: "messages", Description: "The list of messages in the chat history, each with a role (user, assistant, or developer first) and content, same as OpenAI API.", Required: true},
	}
}

// toolOptions are the Tess tools values an execute may send.
func toolOptions(a *tessera.Agent) []string {
	opts := []string{"no-tools"}
	if len(a.Tools) > 0 {
		opts = append(opts, "agent")
	}
	for _, name := range builtin.TessToolSetNames() {
		if name != builtin.NoTools {
			opts = append(opts, name)
		}
	}
	return opts
}

func toolDefault(a *tessera.Agent) string {
	if len(a.Tools) > 0 {
		return "agent"
	}
	return "no-tools"
}

// modelOptions lists the models a request may name: the agent's own first,
// then the Tess aliases and the model table.
func modelOptions(a *tessera.Agent, reg *llm.Registry) []string {
	var out []string
	add := func(name string) {
		if name != "" && !slices.Contains(out, name) {
			if _, err := reg.Resolve(name); err == nil {
				out = append(out, name)
			}
		}
	}
	add(a.Model)
	for _, alias := range llm.TessAliases {
		add(alias)
	}
	for _, m := range reg.Models() {
		add(m.Name)
	}
	add(reg.DefaultModel())
	if out == nil {
		out = []string{}
	}
	return out
}

func (h *Handler) listAgents(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	pg, err := parsePage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	agents, total, err := h.cfg.Store.AgentList(r.Context(), &tessera.AgentListParams{
		WorkspaceID: p.WorkspaceID, Query: strings.TrimSpace(q.Get("q")), Type: strings.TrimSpace(q.Get("type")),
		Limit: pg.PerPage, Offset: pg.offset(),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := make([]Agent, len(agents))
	for i, a := range agents {
		data[i] = ToAgent(a, h.cfg.Registry)
	}
	httpx.WriteJSON(w, http.StatusOK, newPaginator(r, pg, data, len(data), total))
}

func (h *Handler) getAgent(w http.ResponseWriter, r *http.Request) {
	a, err := h.agent(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, ToAgent(a, h.cfg.Registry))
}

// agent loads the agent named by the {id} path parameter in the request's
// workspace. Ids that are not integers name no agent.
func (h *Handler) agent(r *http.Request) (*tessera.Agent, error) {
	id, ok := pathID(r)
	if !ok {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "Agent not found")
	}
	p := httpx.PrincipalFrom(r.Context())
	a, err := h.cfg.Store.AgentGetByID(r.Context(), &tessera.AgentGetParams{ID: id, WorkspaceID: p.WorkspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "Agent not found")
	}
	return a, err
}

func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	return id, err == nil && id > 0
}
