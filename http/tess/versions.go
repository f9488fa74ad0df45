package tess

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// Agent versions (tess-api.md §3.6). Every change to an agent publishes a
// version; rolling back publishes a new version whose definition is the
// old one's. Errors on these routes are {"message": …}, as Tess documents.

// versionView is one version as Tess lists it.
type versionView struct {
	VersionID           int    `json:"version_id"`
	PublishedAt         string `json:"published_at"`
	PublishedBy         string `json:"published_by"`
	RollbackFromVersion *int   `json:"rollback_from_version"`
	ChangeSummary       string `json:"change_summary"`
	// Diff is [] when nothing changed (Tess's own shape), else an object of
	// {previous_version, current_version} by field.
	Diff     any       `json:"diff"`
	Snapshot *snapshot `json:"snapshot,omitempty"`
}

type fieldDiff struct {
	Previous json.RawMessage `json:"previous_version"`
	Current  json.RawMessage `json:"current_version"`
}

// snapshot is a version's definition in Tess's names, plus Tessera's full
// definition under "definition".
type snapshot struct {
	AgentName          string             `json:"agent_name"`
	Instructions       string             `json:"instructions"`
	AskUserQuestions   []tessera.Question `json:"ask_user_questions"`
	Steps              []any              `json:"steps"`
	KnowledgeBaseFiles []any              `json:"knowledge_base_files"`
	Type               string             `json:"type"`
	Subtype            string             `json:"subtype"`
	AdvancedSettings   map[string]string  `json:"advanced_settings"`
	Visibility         string             `json:"visibility"`
	Definition         map[string]any     `json:"definition"`
}

func toSnapshot(a *tessera.Agent) *snapshot {
	model := a.Model
	if model == "" {
		model = "auto"
	}
	temp := "1"
	if a.Temperature != nil {
		temp = strconv.FormatFloat(*a.Temperature, 'f', -1, 64)
	}
	def := map[string]any{}
	for k, v := range a.Definition() {
		def[k] = v
	}
	qs := a.Questions
	if qs == nil {
		qs = []tessera.Question{}
	}
	return &snapshot{AgentName: a.Title, Instructions: a.Instructions, AskUserQuestions: qs, Steps: []any{},
		KnowledgeBaseFiles: []any{}, Type: a.Type, Subtype: "All LLM Models",
		AdvancedSettings: map[string]string{"model": model, "temperature": temp}, Visibility: a.Visibility, Definition: def}
}

// diffOf compares a version's definition with the one before it (nil for
// the first version).
func diffOf(prev, cur *tessera.Agent) any {
	if prev == nil {
		return []any{}
	}
	changed := tessera.ChangedFields(prev, cur)
	if len(changed) == 0 {
		return []any{}
	}
	p, c := prev.Definition(), cur.Definition()
	out := map[string]fieldDiff{}
	for _, f := range changed {
		out[tessName(f)] = fieldDiff{Previous: orNull(p[f]), Current: orNull(c[f])}
	}
	return out
}

func orNull(v json.RawMessage) json.RawMessage {
	if v == nil {
		return json.RawMessage("null")
	}
	return v
}

// tessName is a definition field's name in Tess's snapshot.
func tessName(field string) string {
	switch field {
	case "questions":
		return "ask_user_questions"
	case "title":
		return "agent_name"
	}
	return field
}

func view(v *tessera.AgentVersion, prev *tessera.Agent, withSnapshot bool) versionView {
	out := versionView{VersionID: v.Version, PublishedAt: v.CreatedAt.Format("2006-01-02T15:04:05+00:00"),
		PublishedBy: v.PublishedBy, RollbackFromVersion: v.RollbackFrom, ChangeSummary: v.ChangeSummary,
		Diff: diffOf(prev, &v.Snapshot)}
	if withSnapshot {
		out.Snapshot = toSnapshot(&v.Snapshot)
	}
	return out
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	httpx.WriteJSON(w, status, map[string]string{"message": msg})
}

// versionsError answers an error of these routes in their shape.
func (h *Handler) versionsError(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	switch tessera.ErrorCode(err) {
	case tessera.ENOTFOUND:
		writeMessage(w, http.StatusNotFound, notFound)
	case tessera.EINVALID:
		writeMessage(w, http.StatusUnprocessableEntity, tessera.ErrorMessage(err))
	default:
		h.fail(w, r, err)
	}
}

func (h *Handler) listVersions(w http.ResponseWriter, r *http.Request) {
	a, err := h.agent(r)
	if err != nil {
		h.versionsError(w, r, err, "Agent not found.")
		return
	}
	p := page{Page: 1, PerPage: 20}
	if pg, err := parsePage(r); err != nil {
		h.versionsError(w, r, err, "")
		return
	} else if r.URL.Query().Get("per_page") != "" || r.URL.Query().Get("page") != "" {
		p.Page = pg.Page
		if r.URL.Query().Get("per_page") != "" {
			p.PerPage = pg.PerPage
		}
	}
	ws := httpx.PrincipalFrom(r.Context()).WorkspaceID
	// One more than the page: the last one's diff compares with it.
	list, total, err := h.cfg.Store.AgentVersionList(r.Context(), &tessera.AgentVersionListParams{
		WorkspaceID: ws, AgentID: a.ID, Limit: p.PerPage + 1, Offset: p.offset()})
	if err != nil {
		h.versionsError(w, r, err, "Agent not found.")
		return
	}
	views := []versionView{}
	for i, v := range list {
		if i == p.PerPage {
			break
		}
		var prev *tessera.Agent
		if i+1 < len(list) && list[i+1].Version == v.Version-1 {
			prev = &list[i+1].Snapshot
		} else if v.Version > 1 {
			if pv, err := h.cfg.Store.AgentVersionGet(r.Context(), &tessera.AgentVersionGetParams{WorkspaceID: ws, AgentID: a.ID, Version: v.Version - 1}); err == nil {
				prev = &pv.Snapshot
			}
		}
		views = append(views, view(v, prev, false))
	}
	last := max(1, (total+p.PerPage-1)/p.PerPage)
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"versions": views, "current_version_number": a.Version,
		"current_page": p.Page, "per_page": p.PerPage, "total": total, "last_page": last})
}

func (h *Handler) versionNumber(r *http.Request) (int, bool) {
	n, err := strconv.Atoi(chi.URLParam(r, "version"))
	return n, err == nil && n > 0
}

func (h *Handler) getVersion(w http.ResponseWriter, r *http.Request) {
	a, err := h.agent(r)
	if err != nil {
		h.versionsError(w, r, err, "Agent not found.")
		return
	}
	n, ok := h.versionNumber(r)
	if !ok {
		writeMessage(w, http.StatusNotFound, "Version not found.")
		return
	}
	ws := httpx.PrincipalFrom(r.Context()).WorkspaceID
	v, err := h.cfg.Store.AgentVersionGet(r.Context(), &tessera.AgentVersionGetParams{WorkspaceID: ws, AgentID: a.ID, Version: n})
	if err != nil {
		h.versionsError(w, r, err, "Version not found.")
		return
	}
	var prev *tessera.Agent
	if n > 1 {
		if pv, err := h.cfg.Store.AgentVersionGet(r.Context(), &tessera.AgentVersionGetParams{WorkspaceID: ws, AgentID: a.ID, Version: n - 1}); err == nil {
			prev = &pv.Snapshot
		}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"version": view(v, prev, true)})
}

// rollback publishes a new version with an old version's definition. The
// agent's slug stays its own: a rename in between is part of the
// definition that is restored, but the slug that clients use is not.
func (h *Handler) rollback(w http.ResponseWriter, r *http.Request) {
	a, err := h.agent(r)
	if err != nil {
		h.versionsError(w, r, err, "Agent not found.")
		return
	}
	n, ok := h.versionNumber(r)
	if !ok {
		writeMessage(w, http.StatusNotFound, "Version not found.")
		return
	}
	if n == a.Version {
		writeMessage(w, http.StatusUnprocessableEntity, "Cannot roll back to the current active version.")
		return
	}
	p := httpx.PrincipalFrom(r.Context())
	v, err := h.cfg.Store.AgentVersionGet(r.Context(), &tessera.AgentVersionGetParams{WorkspaceID: p.WorkspaceID, AgentID: a.ID, Version: n})
	if err != nil {
		h.versionsError(w, r, err, "Version not found.")
		return
	}
	restored := v.Snapshot
	restored.ID, restored.WorkspaceID, restored.Slug, restored.Source = a.ID, a.WorkspaceID, a.Slug, a.Source
	if err := restored.Validate(); err != nil {
		h.versionsError(w, r, err, "")
		return
	}
	if err := h.cfg.Engine.CheckAgent(&restored); err != nil {
		// The old definition names something this server no longer has.
		writeMessage(w, http.StatusUnprocessableEntity, "Version "+strconv.Itoa(n)+" cannot be restored: "+tessera.ErrorMessage(err))
		return
	}
	updated, err := h.cfg.Store.AgentUpdate(r.Context(), &tessera.AgentUpdateParams{Agent: &restored, Now: time.Now(),
		Actor: p.Actor(), RollbackFrom: &n})
	if err != nil {
		h.versionsError(w, r, err, "Agent not found.")
		return
	}
	nv, err := h.cfg.Store.AgentVersionGet(r.Context(), &tessera.AgentVersionGetParams{WorkspaceID: p.WorkspaceID, AgentID: a.ID, Version: updated.Version})
	if err != nil {
		h.fail(w, r, fmt.Errorf("read the new version: %w", err))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"version": view(nv, a, true),
		"message": fmt.Sprintf("Agent rolled back to version %d. New version %d is now active.", n, updated.Version)})
}
