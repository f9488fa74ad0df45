package instances

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
)

// Event triggers: each instance may have an inbound URL whose requests,
// signed with the instance's secret, become executions (trigger_type
// "event") whose input data is the request's JSON body.
//
// The signature is engine.Sign's: header Tessera-Signature
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">". A request older
// or newer than ReplayWindow is refused, and so is a signature already
// received within it, so a captured request cannot be sent again.

// ReplayWindow is how far a signed event's time may be from the server's.
const ReplayWindow = 5 * time.Minute

// HookPrefix is where inbound events arrive. It is outside the API key's
// authentication: the signature is the credential.
const HookPrefix = Prefix + "/hooks"

// HookRoutes registers the inbound route on r, which must not require an
// API key.
func (h *Handler) HookRoutes(r chi.Router) {
	r.Post(HookPrefix+"/{workspace_id}/{instance_id}", h.receiveEvent)
}

// triggerURL is the inbound URL of an instance.
func triggerURL(r *http.Request, in *tessera.Instance) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + HookPrefix + "/" + strconv.FormatInt(in.WorkspaceID, 10) + "/" + strconv.FormatInt(in.ID, 10)
}

// rotateTrigger makes (or replaces) an instance's trigger secret and shows
// it, with the URL to send events to. The secret is shown only here.
func (h *Handler) rotateTrigger(w http.ResponseWriter, r *http.Request) {
	in, err := h.instance(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	secret := "trsec_" + hex.EncodeToString(b)
	if err := h.cfg.Store.InstanceSetTriggerSecret(r.Context(), in.WorkspaceID, in.ID, secret, h.cfg.Now()); err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"instance_id": in.ID, "url": triggerURL(r, in), "secret": secret,
		"signature_header": engine.SignatureHeader})
}

func (h *Handler) receiveEvent(w http.ResponseWriter, r *http.Request) {
	ws, err1 := strconv.ParseInt(chi.URLParam(r, "workspace_id"), 10, 64)
	id, err2 := strconv.ParseInt(chi.URLParam(r, "instance_id"), 10, 64)
	if err1 != nil || err2 != nil {
		h.fail(w, r, tessera.Errorf(tessera.ENOTFOUND, "Agent instance not found"))
		return
	}
	body, err := httpx.ReadBody(r, h.cfg.MaxBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in, err := h.cfg.Store.InstanceGetByID(r.Context(), &tessera.InstanceGetParams{ID: id, WorkspaceID: ws})
	// An unknown instance and a bad signature look alike, so the URL space
	// cannot be probed.
	if err != nil && tessera.ErrorCode(err) != tessera.ENOTFOUND {
		h.fail(w, r, err)
		return
	}
	now := h.cfg.Now()
	sig, verr := verify(in, r.Header.Get(engine.SignatureHeader), body, now)
	if err != nil || verr != nil {
		h.fail(w, r, tessera.Errorf(tessera.EUNAUTHORIZED, "The event's signature is missing, stale or wrong"))
		return
	}
	if err := h.cfg.Store.TriggerSeen(r.Context(), in.ID, sig, now, now.Add(-2*ReplayWindow)); err != nil {
		if tessera.ErrorCode(err) == tessera.ECONFLICT {
			err = tessera.Errorf(tessera.ECONFLICT, "This event was already received (a replay)")
		}
		h.fail(w, r, err)
		return
	}
	var input map[string]json.RawMessage
	if err := httpx.DecodeJSON(body, &input, true); err != nil || input == nil {
		h.fail(w, r, invalidField("input_data", "Input should be a valid dictionary"))
		return
	}
	agent, err := h.cfg.Store.AgentGetByID(r.Context(), &tessera.AgentGetParams{ID: in.AgentID, WorkspaceID: ws})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req := buildRequest(agent, in, input, executeQuery{})
	req.WorkspaceID, req.AgentID, req.TriggerType = ws, agent.ID, tessera.TriggerEvent
	ex, err := h.cfg.Engine.Submit(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]any{"execution_id": ex.ID, "status": seedStatus(ex.Status)})
}

// verify checks a signature header against body and returns its v1 part.
func verify(in *tessera.Instance, header string, body []byte, now time.Time) (string, error) {
	if in == nil || in.TriggerSecret == "" {
		return "", errBadSignature
	}
	var ts, v1 string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || v1 == "" {
		return "", errBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > ReplayWindow || d < -ReplayWindow {
		return "", errBadSignature
	}
	want := engine.Sign(in.TriggerSecret, time.Unix(sec, 0), body)
	_, wantV1, _ := strings.Cut(want, ",v1=")
	if !hmac.Equal([]byte(v1), []byte(wantV1)) {
		return "", errBadSignature
	}
	return v1, nil
}

var errBadSignature = tessera.Errorf(tessera.EUNAUTHORIZED, "bad signature")
