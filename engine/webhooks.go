package engine

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tessera-run/tessera"
)

// WebhookConfig configures the delivery of finished executions to agents'
// webhooks.
type WebhookConfig struct {
	// Client sends deliveries; it should be SSRF-guarded and follow no
	// redirects. Nil turns delivery off.
	Client *http.Client
	// Backoff is the wait after the first failed attempt, doubled after
	// each (capped at 6h); default 30s.
	Backoff time.Duration
	// MaxAttempts bounds the attempts of one delivery; default 8 (about
	// two hours of retries with the default backoff).
	MaxAttempts int
	// Lease is how long a node holds a delivery it is sending; default 1m.
	Lease time.Duration
	// Timeout bounds one attempt; default 15s.
	Timeout time.Duration
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if c.Backoff <= 0 {
		c.Backoff = 30 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Timeout <= 0 {
		c.Timeout = 15 * time.Second
	}
	return c
}

// Signature headers of a delivery. The signature is the hex HMAC-SHA256,
// keyed by the webhook's secret, of "<t>.<payload>", where t is the Unix
// time in the header and the payload is the body (the query string of a
// GET delivery).
const (
	SignatureHeader = "Tessera-Signature"
	EventHeader     = "Tessera-Event"
	DeliveryHeader  = "Tessera-Delivery"
)

// Sign returns the value of the signature header for payload at t.
func Sign(secret string, t time.Time, payload []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(payload)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// RunWebhooks delivers due webhook deliveries every interval until ctx
// ends. Every node runs it; a delivery is leased to one node at a time.
func (e *Engine) RunWebhooks(ctx context.Context, every time.Duration) {
	if e.cfg.Webhooks.Client == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := e.DeliverWebhooks(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("webhook deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeliverWebhooks makes one pass: it claims the deliveries due now, sends
// each and records the outcome. It returns how many it attempted.
func (e *Engine) DeliverWebhooks(ctx context.Context) (int, error) {
	cfg := e.cfg.Webhooks.withDefaults()
	if cfg.Client == nil {
		return 0, nil
	}
	due, err := e.store.DeliveryClaim(ctx, &tessera.DeliveryClaimParams{Now: e.cfg.Now(), Lease: cfg.Lease, Limit: 20})
	if err != nil {
		return 0, err
	}
	for _, d := range due {
		status, sendErr := e.deliver(ctx, cfg, d)
		rec := &tessera.DeliveryRecordParams{ID: d.ID, StatusCode: status, Now: e.cfg.Now(), Status: tessera.DeliveryDelivered}
		if sendErr != nil {
			rec.Error = sendErr.Error()
			attempt := d.Attempts + 1
			if attempt >= cfg.MaxAttempts {
				rec.Status = tessera.DeliveryFailed
			} else {
				rec.Status = tessera.DeliveryPending
				rec.NextAttemptAt = e.cfg.Now().Add(min(cfg.Backoff<<(attempt-1), 6*time.Hour))
			}
		}
		if err := e.store.DeliveryRecord(ctx, rec); err != nil && tessera.ErrorCode(err) != tessera.ECONFLICT {
			return len(due), err
		}
	}
	return len(due), nil
}

// deliveryPayload is what a webhook receives.
type deliveryPayload struct {
	Event      string           `json:"event"`
	DeliveryID int64            `json:"delivery_id"`
	WebhookID  int64            `json:"webhook_id"`
	Execution  deliveryExecData `json:"execution"`
}

type deliveryExecData struct {
	ID           int64           `json:"id"`
	AgentID      int64           `json:"agent_id"`
	AgentVersion int             `json:"agent_version"`
	RootID       int64           `json:"root_id"`
	Status       tessera.Status  `json:"status"`
	TriggerType  string          `json:"trigger_type"`
	Output       string          `json:"output"`
	Structured   json.RawMessage `json:"structured_output,omitempty"`
	Error        string          `json:"error"`
	ModelUsed    string          `json:"model_used"`
	Usage        tessera.Usage   `json:"usage"`
	Cost         float64         `json:"cost"`
	Credits      float64         `json:"credits"`
	CreatedAt    time.Time       `json:"created_at"`
	CompletedAt  *time.Time      `json:"completed_at"`
}

// deliver sends one attempt and returns the HTTP status (0 when none came
// back) and an error unless the receiver answered 2xx.
func (e *Engine) deliver(ctx context.Context, cfg WebhookConfig, d *tessera.WebhookDelivery) (int, error) {
	ex, err := e.store.ExecutionGetByID(ctx, &tessera.ExecutionGetParams{ID: d.ExecutionID, WorkspaceID: d.WorkspaceID})
	if err != nil {
		return 0, fmt.Errorf("load execution %d: %w", d.ExecutionID, err)
	}
	event := "execution." + string(ex.Status)
	payload := deliveryPayload{Event: event, DeliveryID: d.ID, WebhookID: d.WebhookID, Execution: deliveryExecData{
		ID: ex.ID, AgentID: ex.AgentID, AgentVersion: ex.AgentVersion, RootID: ex.RootID, Status: ex.Status,
		TriggerType: ex.TriggerType, Output: ex.Output, Structured: ex.StructuredOutput, Error: ex.Error,
		ModelUsed: ex.ModelUsed, Usage: ex.Usage, Cost: ex.Cost, Credits: ex.Credits, CreatedAt: ex.CreatedAt, CompletedAt: ex.CompletedAt,
	}}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var req *http.Request
	var signed []byte
	if d.Method == http.MethodGet {
		q := url.Values{"event": {event}, "delivery_id": {strconv.FormatInt(d.ID, 10)},
			"execution_id": {strconv.FormatInt(ex.ID, 10)}, "status": {string(ex.Status)}}
		u, err := url.Parse(d.URL)
		if err != nil {
			return 0, fmt.Errorf("the webhook URL does not parse: %w", err)
		}
		u.RawQuery = q.Encode()
		signed = []byte(u.RawQuery)
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return 0, err
		}
	} else {
		body, err := json.Marshal(payload)
		if err != nil {
			return 0, err
		}
		signed = body
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(SignatureHeader, Sign(d.Secret, e.cfg.Now(), signed))
	req.Header.Set(EventHeader, event)
	req.Header.Set(DeliveryHeader, strconv.FormatInt(d.ID, 10))
	resp, err := cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is the webhook's own; the cause is what matters
		}
		return 0, fmt.Errorf("the request failed: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
