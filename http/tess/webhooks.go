package tess

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// Agent webhooks (tess-api.md §6): URLs told when an agent's executions
// end. Tess documents the routes and shapes but not the delivery; Tessera
// signs each delivery (see engine/webhooks.go and docs/api.md).

type webhookView struct {
	ID           int64   `json:"id"`
	TemplateID   int64   `json:"template_id"`
	UserID       int64   `json:"user_id"`
	URL          string  `json:"url"`
	Method       string  `json:"method"`
	SuccessCount int     `json:"success_count"`
	FailureCount int     `json:"failure_count"`
	Status       string  `json:"status"`
	CreatedAt    string  `json:"created_at"`
	UpdatedAt    string  `json:"updated_at"`
	DeletedAt    *string `json:"deleted_at"`
	// Secret signs deliveries; it is shown once, when the webhook is made.
	Secret string `json:"secret,omitempty"`
}

func toWebhook(w *tessera.Webhook) webhookView {
	v := webhookView{ID: w.ID, TemplateID: w.AgentID, URL: w.URL, Method: w.Method, SuccessCount: w.SuccessCount,
		FailureCount: w.FailureCount, Status: w.Status, CreatedAt: ts(w.CreatedAt), UpdatedAt: ts(w.UpdatedAt)}
	if w.DeletedAt != nil {
		d := ts(*w.DeletedAt)
		v.DeletedAt = &d
	}
	return v
}

type webhookBody struct {
	URL    string `json:"url"`
	Method string `json:"method"`
	Status string `json:"status"`
}

// validationFailed is the 400 Tess documents for a webhook it refuses.
func validationFailed(w http.ResponseWriter, v *tessera.ValidationErrors) {
	e, _ := tessera.AsError(v.Err())
	httpx.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "Validation failed", "messages": e.Fields})
}

func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) {
	a, err := h.agent(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var body webhookBody
	raw, err := httpx.ReadBody(r, h.cfg.MaxBody)
	if err == nil {
		err = httpx.DecodeJSON(raw, &body, false)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var v tessera.ValidationErrors
	u, err := url.Parse(strings.TrimSpace(body.URL))
	if body.URL == "" {
		v.Add("url", "The url field is required.")
	} else if err != nil || u.Scheme != "https" || u.Host == "" {
		v.Add("url", "The url field must be a valid HTTPS URL")
	}
	body.Method = strings.ToUpper(strings.TrimSpace(body.Method))
	if body.Method == "" {
		v.Add("method", "The method field is required.")
	} else if body.Method != "POST" && body.Method != "GET" {
		v.Add("method", "The method must be one of: POST, GET")
	}
	if body.Status == "" {
		body.Status = tessera.WebhookActive
	}
	if body.Status != tessera.WebhookActive && body.Status != tessera.WebhookInactive {
		v.Add("status", "The status must be one of: active, inactive")
	}
	if !v.Empty() {
		validationFailed(w, &v)
		return
	}
	secret := make([]byte, 24)
	_, _ = rand.Read(secret) // crypto/rand never fails on supported platforms
	created, err := h.cfg.Store.WebhookCreate(r.Context(), &tessera.WebhookCreateParams{Now: time.Now(), Webhook: &tessera.Webhook{
		WorkspaceID: a.WorkspaceID, AgentID: a.ID, URL: u.String(), Method: body.Method, Status: body.Status,
		Secret: "whsec_" + hex.EncodeToString(secret),
	}})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := toWebhook(created)
	out.Secret = created.Secret
	httpx.WriteJSON(w, http.StatusCreated, out)
}

func (h *Handler) listAgentWebhooks(w http.ResponseWriter, r *http.Request) {
	a, err := h.agent(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeWebhooks(w, r, a.ID)
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request) { h.writeWebhooks(w, r, 0) }

func (h *Handler) writeWebhooks(w http.ResponseWriter, r *http.Request, agentID int64) {
	p, err := parsePage(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, total, err := h.cfg.Store.WebhookList(r.Context(), &tessera.WebhookListParams{
		WorkspaceID: httpx.PrincipalFrom(r.Context()).WorkspaceID, AgentID: agentID, Limit: p.PerPage, Offset: p.offset()})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := make([]webhookView, len(list))
	for i, wh := range list {
		data[i] = toWebhook(wh)
	}
	httpx.WriteJSON(w, http.StatusOK, newPaginator(r, p, data, len(data), total))
}

func (h *Handler) webhookID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	return id, err == nil && id > 0
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := h.webhookID(r)
	if !ok {
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "Webhook not found"))
		return
	}
	err := h.cfg.Store.WebhookDelete(r.Context(), httpx.PrincipalFrom(r.Context()).WorkspaceID, id, time.Now())
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Webhook not found")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"message": "Webhook deleted", "id": id})
}

type deliveryView struct {
	ID             int64   `json:"id"`
	WebhookID      int64   `json:"webhook_id"`
	ResponseID     int64   `json:"response_id"`
	Status         string  `json:"status"`
	Attempts       int     `json:"attempts"`
	LastStatusCode int     `json:"last_status_code"`
	LastError      string  `json:"last_error"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	DeliveredAt    *string `json:"delivered_at"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

func tsPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ts(*t)
	return &s
}

// listDeliveries is the delivery log of a webhook: each execution it was
// told of, with the attempts, the last answer and what comes next.
func (h *Handler) listDeliveries(w http.ResponseWriter, r *http.Request) {
	id, ok := h.webhookID(r)
	p, err := parsePage(r)
	if !ok {
		err = tessera.Errorf(tessera.ENOTFOUND, "Webhook not found")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, total, err := h.cfg.Store.DeliveryList(r.Context(), &tessera.DeliveryListParams{
		WorkspaceID: httpx.PrincipalFrom(r.Context()).WorkspaceID, WebhookID: id, Limit: p.PerPage, Offset: p.offset()})
	if tessera.ErrorCode(err) == tessera.ENOTFOUND {
		err = tessera.Errorf(tessera.ENOTFOUND, "Webhook not found")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data := make([]deliveryView, len(list))
	for i, d := range list {
		data[i] = deliveryView{ID: d.ID, WebhookID: d.WebhookID, ResponseID: d.ExecutionID, Status: d.Status,
			Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastError: d.LastError,
			NextAttemptAt: tsPtr(d.NextAttemptAt), DeliveredAt: tsPtr(d.DeliveredAt), CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt)}
	}
	httpx.WriteJSON(w, http.StatusOK, newPaginator(r, p, data, len(data), total))
}
