package native

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
)

// scheduleBody is the writable part of a schedule. Pointers tell PATCH
// which fields were sent. The agent and the instance are set when the
// schedule is created and cannot change.
type scheduleBody struct {
	AgentID    *int64          `json:"agent_id"`
	InstanceID *int64          `json:"instance_id"`
	Name       *string         `json:"name"`
	Cron       *string         `json:"cron"`
	Timezone   *string         `json:"timezone"`
	Input      json.RawMessage `json:"input"`
	Enabled    *bool           `json:"enabled"`
}

// apply copies the sent fields onto sc; null input is {}.
func (b *scheduleBody) apply(sc *tessera.Schedule) {
	if b.Name != nil {
		sc.Name = strings.TrimSpace(*b.Name)
	}
	if b.Cron != nil {
		sc.Cron = strings.TrimSpace(*b.Cron)
	}
	if b.Timezone != nil {
		sc.Timezone = strings.TrimSpace(*b.Timezone)
	}
	if b.Input != nil {
		sc.Input = b.Input
	}
	if b.Enabled != nil {
		sc.Enabled = *b.Enabled
	}
}

// nextRunsShown is how many next runs a schedule shows.
const nextRunsShown = 3

// Schedule is a schedule as the API shows it, with its next runs (none
// when disabled).
type Schedule struct {
	*tessera.Schedule
	NextRuns []time.Time `json:"next_runs"`
}

func toSchedule(sc *tessera.Schedule) Schedule {
	out := Schedule{Schedule: sc, NextRuns: []time.Time{}}
	if sc.NextRunAt == nil {
		return out
	}
	out.NextRuns = append(out.NextRuns, *sc.NextRunAt)
	if more, err := engine.NextRuns(sc.Cron, sc.Timezone, *sc.NextRunAt, nextRunsShown-1); err == nil {
		out.NextRuns = append(out.NextRuns, more...)
	}
	return out
}

// checkSchedule validates sc's fields and sets its NextRunAt from now: nil
// when disabled, else the first slot after now.
func checkSchedule(sc *tessera.Schedule, now time.Time) error {
	var v tessera.ValidationErrors
	if sc.Name == "" || len(sc.Name) > 200 {
		v.Add("name", "The name field is required (200 characters at most).")
	}
	if sc.Timezone == "" {
		sc.Timezone = "UTC"
	}
	next, err := engine.NextRun(sc.Cron, sc.Timezone, now)
	v.Merge(err)
	input := bytes.TrimSpace(sc.Input)
	switch {
	case len(input) == 0 || string(input) == "null":
		sc.Input = json.RawMessage("{}")
	case input[0] != '{':
		v.Add("input", "The input must be a JSON object.")
	default:
		var compact bytes.Buffer
		if err := json.Compact(&compact, input); err != nil {
			v.Add("input", "The input must be a JSON object.")
		}
		sc.Input = compact.Bytes()
	}
	if err := v.Err(); err != nil {
		return err
	}
	sc.NextRunAt = nil
	if sc.Enabled {
		sc.NextRunAt = &next
	}
	return nil
}

// checkScheduleOwner checks that the schedule's agent, and its instance
// when set, exist in its workspace (the store checks again as it writes).
func (h *Handler) checkScheduleOwner(ctx context.Context, sc *tessera.Schedule) error {
	var v tessera.ValidationErrors
	if sc.AgentID <= 0 {
		v.Add("agent_id", "The agent_id field is required.")
		return v.Err()
	}
	_, err := h.cfg.Store.AgentGetByID(ctx, &tessera.AgentGetParams{ID: sc.AgentID, WorkspaceID: sc.WorkspaceID})
	switch {
	case tessera.ErrorCode(err) == tessera.ENOTFOUND:
		v.Add("agent_id", "The agent %d does not exist in this workspace.", sc.AgentID)
	case err != nil:
		return err
	}
	if sc.InstanceID == nil {
		return v.Err()
	}
	inst, err := h.cfg.Store.InstanceGetByID(ctx, &tessera.InstanceGetParams{ID: *sc.InstanceID, WorkspaceID: sc.WorkspaceID})
	switch {
	case tessera.ErrorCode(err) == tessera.ENOTFOUND:
		v.Add("instance_id", "The instance %d does not exist in this workspace.", *sc.InstanceID)
	case err != nil:
		return err
	case inst.AgentID != sc.AgentID:
		v.Add("instance_id", "The instance %d is not an instance of agent %d.", inst.ID, sc.AgentID)
	}
	return v.Err()
}

func (h *Handler) createSchedule(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	var body scheduleBody
	if err := h.decode(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	sc := &tessera.Schedule{WorkspaceID: p.WorkspaceID, InstanceID: body.InstanceID, Enabled: true}
	if body.AgentID != nil {
		sc.AgentID = *body.AgentID
	}
	body.apply(sc)
	now := h.cfg.Now()
	var v tessera.ValidationErrors
	v.Merge(checkSchedule(sc, now))
	if err := h.checkScheduleOwner(r.Context(), sc); tessera.ErrorCode(err) == tessera.EINVALID {
		v.Merge(err)
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := v.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	created, err := h.cfg.Store.ScheduleCreate(r.Context(), &tessera.ScheduleCreateParams{Schedule: sc, Now: now})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		// Deleted since checkScheduleOwner.
		err = invalid("agent_id", "The agent or instance of this schedule does not exist in this workspace.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, toSchedule(created))
}

// listSchedules lists the workspace's schedules by id, agent_id filtering,
// with limit (default 50, at most 200) and offset.
func (h *Handler) listSchedules(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	params := &tessera.ScheduleListParams{WorkspaceID: p.WorkspaceID, Limit: 50}
	q := r.URL.Query()
	for _, f := range []struct {
		name     string
		dst      *int
		min, max int
	}{{"limit", &params.Limit, 1, 200}, {"offset", &params.Offset, 0, 1 << 30}} {
		if s := q.Get(f.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < f.min || n > f.max {
				h.fail(w, r, tessera.Errorf(tessera.EINVALID, "The %s query parameter must be an integer from %d to %d.", f.name, f.min, f.max))
				return
			}
			*f.dst = n
		}
	}
	if s := q.Get("agent_id"); s != "" {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			h.fail(w, r, tessera.Errorf(tessera.EINVALID, "The agent_id query parameter must be a positive integer."))
			return
		}
		params.AgentID = id
	}
	list, total, err := h.cfg.Store.ScheduleList(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := make([]Schedule, len(list))
	for i, sc := range list {
		data[i] = toSchedule(sc)
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"data": data, "total": total, "limit": params.Limit, "offset": params.Offset})
}

func (h *Handler) getSchedule(w http.ResponseWriter, r *http.Request) {
	sc, err := h.schedule(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toSchedule(sc))
}

func (h *Handler) replaceSchedule(w http.ResponseWriter, r *http.Request) {
	h.updateSchedule(w, r, true)
}

func (h *Handler) patchSchedule(w http.ResponseWriter, r *http.Request) {
	h.updateSchedule(w, r, false)
}

// updateSchedule applies a PUT (replace: unsent fields reset) or PATCH
// (merge). The next run is recomputed from now when the expression, the
// zone or enabled changed, and kept otherwise, so a slot that is due but
// not yet started is not skipped by renaming the schedule.
func (h *Handler) updateSchedule(w http.ResponseWriter, r *http.Request, replace bool) {
	sc, err := h.schedule(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var body scheduleBody
	if err := h.decode(r, &body); err != nil {
		h.fail(w, r, err)
		return
	}
	var v tessera.ValidationErrors
	if body.AgentID != nil && *body.AgentID != sc.AgentID {
		v.Add("agent_id", "The agent_id of a schedule cannot be changed; create another schedule.")
	}
	if body.InstanceID != nil && (sc.InstanceID == nil || *body.InstanceID != *sc.InstanceID) {
		v.Add("instance_id", "The instance_id of a schedule cannot be changed; create another schedule.")
	}
	before := *sc
	if replace {
		sc.Name, sc.Cron, sc.Timezone, sc.Input, sc.Enabled = "", "", "", nil, true
	}
	body.apply(sc)
	now := h.cfg.Now()
	v.Merge(checkSchedule(sc, now))
	if err := v.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	if sc.Enabled && before.Enabled && sc.Cron == before.Cron && sc.Timezone == before.Timezone && before.NextRunAt != nil {
		sc.NextRunAt = before.NextRunAt
	}
	updated, err := h.cfg.Store.ScheduleUpdate(r.Context(), &tessera.ScheduleUpdateParams{Schedule: sc, Now: now})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Schedule not found.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, toSchedule(updated))
}

func (h *Handler) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	id, ok := pathID(r)
	if !ok {
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "Schedule not found."))
		return
	}
	err := h.cfg.Store.ScheduleDelete(r.Context(), p.WorkspaceID, id)
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Schedule not found.")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) schedule(r *http.Request) (*tessera.Schedule, error) {
	p := httpx.PrincipalFrom(r.Context())
	id, ok := pathID(r)
	if !ok {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "Schedule not found.")
	}
	sc, err := h.cfg.Store.ScheduleGet(r.Context(), p.WorkspaceID, id)
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		return nil, tessera.Errorf(tessera.ENOTFOUND, "Schedule not found.")
	}
	return sc, err
}
