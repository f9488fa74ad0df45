package instances

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
)

// execute runs an instance: the body is the input data, the query carries
// context_type, context_id and async_execution.
func (h *Handler) execute(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	in, err := h.instance(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	q, err := parseExecuteQuery(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := httpx.ReadBody(r, h.cfg.MaxBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var input map[string]json.RawMessage
	if err := httpx.DecodeJSON(body, &input, true); err != nil || input == nil {
		h.fail(w, r, invalidField("input_data", "Input should be a valid dictionary"))
		return
	}
	agent, err := h.cfg.Store.AgentGetByID(r.Context(), &tessera.AgentGetParams{ID: in.AgentID, WorkspaceID: p.WorkspaceID})
	if err != nil {
		if tessera.ErrorCode(err) == tessera.ENOTFOUND {
			err = tessera.Errorf(tessera.ENOTFOUND, "The agent of instance %d no longer exists", in.ID)
		}
		h.fail(w, r, err)
		return
	}
	req := buildRequest(agent, in, input, q)
	req.WorkspaceID, req.AgentID = p.WorkspaceID, agent.ID
	if p.Key != nil {
		req.APIKeyID = &p.Key.ID
	}
	if trigger, err := httpx.Trigger(r); err != nil {
		h.fail(w, r, err)
		return
	} else if trigger != "" {
		req.TriggerType = trigger
	}
	if key := strings.TrimSpace(r.Header.Get("Idempotency-Key")); key != "" {
		sum := sha256.Sum256(append([]byte(r.URL.Path+"?"+r.URL.RawQuery+"\x00"), bytes.TrimSpace(body)...))
		req.IdempotencyKey, req.RequestHash = key, hex.EncodeToString(sum[:])
	}
	ex, err := h.cfg.Engine.Submit(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if q.async {
		status = http.StatusAccepted
	} else if !ex.Status.Terminal() {
		if ex, err = h.cfg.Engine.Wait(r.Context(), p.WorkspaceID, ex.ID, h.cfg.MaxWait); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	h.respond(w, r, status, ex)
}

type executeQuery struct {
	contextType   string
	contextID     *int64
	async         bool
	maxIterations int
}

func parseExecuteQuery(r *http.Request) (executeQuery, error) {
	var v tessera.ValidationErrors
	var q executeQuery
	query := r.URL.Query()
	q.contextType = strings.TrimSpace(query.Get("context_type"))
	if s := query.Get("context_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			v.Add("query.context_id", "Input should be a valid integer, unable to parse string as an integer")
		}
		q.contextID = &n
	}
	if s := query.Get("async_execution"); s != "" {
		switch strings.ToLower(s) {
		case "true", "1", "yes", "on":
			q.async = true
		case "false", "0", "no", "off":
		default:
			v.Add("query.async_execution", "Input should be a valid boolean, unable to interpret input")
		}
	}
	if s := query.Get("max_iterations"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > tessera.MaxIterationsCap {
			v.Add("query.max_iterations", "Input should be an integer between 1 and %d", tessera.MaxIterationsCap)
		}
		q.maxIterations = n
	}
	return q, v.Err()
}

// buildRequest maps an instance execution onto the engine's request (see
// engine.InputRequest), with the query's context and iteration cap.
func buildRequest(agent *tessera.Agent, in *tessera.Instance, input map[string]json.RawMessage, q executeQuery) *engine.ExecuteRequest {
	req := engine.InputRequest(agent, in, input, nil)
	req.TriggerType, req.ContextType, req.ContextID = tessera.TriggerAPI, q.contextType, q.contextID
	if q.maxIterations > 0 {
		req.MaxIterations = q.maxIterations
	}
	return req
}

// respond writes an execution with its iterations.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, status int, ex *tessera.Execution) {
	its, err := h.cfg.Store.IterationList(r.Context(), &tessera.IterationListParams{ExecutionID: ex.ID, WorkspaceID: ex.WorkspaceID})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, status, toResponse(ex, its))
}

func (h *Handler) getExecution(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	id, err := pathID(r, "execution_id")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ex, err := h.cfg.Store.ExecutionGetByID(r.Context(), &tessera.ExecutionGetParams{ID: id, WorkspaceID: p.WorkspaceID})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Execution not found")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.respond(w, r, http.StatusOK, ex)
}

// listExecutions filters by agent, instance, status, trigger type, context
// and creation time, newest first, with skip and limit.
func (h *Handler) listExecutions(w http.ResponseWriter, r *http.Request) {
	p := httpx.PrincipalFrom(r.Context())
	var v tessera.ValidationErrors
	q := r.URL.Query()
	params := &tessera.ExecutionListParams{
		WorkspaceID: p.WorkspaceID, AgentID: queryInt(&v, r, "agent_id"), InstanceID: queryInt(&v, r, "instance_id"),
		TriggerType: q.Get("trigger_type"), ContextType: q.Get("context_type"), ContextID: queryInt(&v, r, "context_id"), Desc: true,
	}
	if s := q.Get("status"); s != "" {
		st, ok := statusFromSeed(s)
		if !ok {
			v.Add("query.status", "Input should be 'pending', 'running', 'completed', 'failed', 'cancelled' or 'timeout'")
		}
		params.Statuses = []tessera.Status{st}
	}
	if tt := params.TriggerType; tt != "" && tt != tessera.TriggerAPI && tt != tessera.TriggerManual && tt != tessera.TriggerScheduled && tt != tessera.TriggerEvent {
		v.Add("query.trigger_type", "Input should be 'manual', 'scheduled', 'event' or 'api'")
	}
	params.CreatedAfter = queryTime(&v, r, "created_after")
	params.CreatedBefore = queryTime(&v, r, "created_before")
	params.Offset, params.Limit = paging(&v, r)
	if err := v.Err(); err != nil {
		h.fail(w, r, err)
		return
	}
	list, total, err := h.cfg.Store.ExecutionList(r.Context(), params)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	items := make([]ExecutionResponse, 0, len(list))
	for _, ex := range list {
		its, err := h.cfg.Store.IterationList(r.Context(), &tessera.IterationListParams{ExecutionID: ex.ID, WorkspaceID: p.WorkspaceID})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		items = append(items, toResponse(ex, its))
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": items, "total": total, "skip": params.Offset, "limit": params.Limit})
}

func statusFromSeed(s string) (tessera.Status, bool) {
	if s == "pending" {
		return tessera.StatusQueued, true
	}
	st := tessera.Status(s)
	return st, st == tessera.StatusRunning || st.Terminal()
}

func queryTime(v *tessera.ValidationErrors, r *http.Request, name string) time.Time {
	s := r.URL.Query().Get(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		v.Add("query."+name, "Input should be a valid datetime (RFC 3339)")
	}
	return t
}
