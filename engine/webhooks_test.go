package engine_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
)

// receiver is a webhook endpoint that answers with the statuses it is
// given, in order, and keeps what it received.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	got      []received
}

type received struct {
	header http.Header
	body   []byte
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.got)
	rc.got = append(rc.got, received{r.Header.Clone(), body})
	status := http.StatusOK
	if n < len(rc.statuses) {
		status = rc.statuses[n]
	}
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// hookSetup makes an agent with a webhook on srv, runs one execution of it
// to completion, and returns the engine that delivers.
func hookSetup(t *testing.T, b *bundle, srv *httptest.Server, maxAttempts int) (*engine.Engine, *tessera.Webhook, *tessera.Execution) {
	t.Helper()
	ctx := context.Background()
	hook, err := b.store.WebhookCreate(ctx, &tessera.WebhookCreateParams{Now: b.clock.Now(), Webhook: &tessera.Webhook{
		WorkspaceID: 1, AgentID: b.agent.ID, URL: srv.URL + "/hook", Method: "POST", Status: tessera.WebhookActive, Secret: "whsec_test",
	}})
	if err != nil {
		t.Fatal(err)
	}
	e := b.engine(t, func(c *engine.Config) {
		c.Webhooks = engine.WebhookConfig{Client: srv.Client(), Backoff: time.Minute, MaxAttempts: maxAttempts}
	})
	ex := run(t, b, e, &engine.ExecuteRequest{Messages: userMsg("hi")})
	return e, hook, ex
}

func TestWebhookDeliveryIsSignedAndRetried(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := &receiver{statuses: []int{http.StatusInternalServerError}}
	srv := httptest.NewTLSServer(rc)
	t.Cleanup(srv.Close)
	e, hook, ex := hookSetup(t, b, srv, 8)
	ctx := context.Background()

	if n, err := e.DeliverWebhooks(ctx); err != nil || n != 1 {
		t.Fatalf("first pass: %d, %v", n, err)
	}
	// Not due again until the backoff has passed.
	if n, _ := e.DeliverWebhooks(ctx); n != 0 {
		t.Errorf("retried before its backoff: %d", n)
	}
	b.clock.Add(time.Minute)
	if n, err := e.DeliverWebhooks(ctx); err != nil || n != 1 {
		t.Fatalf("second pass: %d, %v", n, err)
	}
	got := rc.all()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	for _, r := range got {
		// Verify as a receiver would: HMAC-SHA256 of "<t>.<body>".
		sig := r.header.Get("Tessera-Signature")
		ts, v1, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
		mac := hmac.New(sha256.New, []byte("whsec_test"))
		mac.Write([]byte(ts + "." + string(r.body)))
		if want := hex.EncodeToString(mac.Sum(nil)); v1 != want {
			t.Errorf("signature %q does not verify (want v1=%s)", sig, want)
		}
		var p struct {
			Event     string `json:"event"`
			Execution struct {
				ID     int64          `json:"id"`
				Status tessera.Status `json:"status"`
				Output string         `json:"output"`
			} `json:"execution"`
		}
		if err := json.Unmarshal(r.body, &p); err != nil || p.Event != "execution.completed" || p.Execution.ID != ex.ID ||
			p.Execution.Output != "answer to hi" || r.header.Get("Tessera-Event") != "execution.completed" {
			t.Errorf("payload = %s (%v)", r.body, err)
		}
	}
	log, _, err := b.store.DeliveryList(ctx, &tessera.DeliveryListParams{WorkspaceID: 1, WebhookID: hook.ID, Limit: 10})
	if err != nil || len(log) != 1 || log[0].Status != tessera.DeliveryDelivered || log[0].Attempts != 2 || log[0].LastStatusCode != 200 {
		t.Errorf("delivery log = %+v, %v", log, err)
	}
	w, _ := b.store.WebhookGet(ctx, 1, hook.ID)
	if w.SuccessCount != 1 || w.FailureCount != 1 {
		t.Errorf("counts = %d/%d, want 1/1", w.SuccessCount, w.FailureCount)
	}
}

func TestWebhookDeliveryGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rc := &receiver{statuses: []int{500, 502, 503}}
	srv := httptest.NewTLSServer(rc)
	t.Cleanup(srv.Close)
	e, hook, _ := hookSetup(t, b, srv, 3)
	ctx := context.Background()
	for i := range 3 {
		if n, err := e.DeliverWebhooks(ctx); err != nil || n != 1 {
			t.Fatalf("pass %d: %d, %v", i, n, err)
		}
		b.clock.Add(time.Hour)
	}
	if n, _ := e.DeliverWebhooks(ctx); n != 0 {
		t.Errorf("a failed delivery was tried again")
	}
	log, _, _ := b.store.DeliveryList(ctx, &tessera.DeliveryListParams{WorkspaceID: 1, WebhookID: hook.ID, Limit: 10})
	if len(log) != 1 || log[0].Status != tessera.DeliveryFailed || log[0].Attempts != 3 || log[0].LastStatusCode != 503 ||
		!strings.Contains(log[0].LastError, "503") {
		t.Errorf("delivery log = %+v", log)
	}
}
