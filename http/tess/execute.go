package tess

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
)

// reserved are the execute body's own fields; every other root-level field
// is an answer to one of the agent's questions.
var reserved = reservedSet()

// reservedSet is the root fields that are not answers: the domain's one
// list, so that an agent cannot have a question the execute body would
// read as something else.
func reservedSet() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{"messages", "root_id", "temperature", "model", "tools", "file_ids", "memory_collections",
		"waitExecution", "wait_execution", "stream", "answers", "timeout", "multitask_strategy"} {
		if !tessera.IsReservedName(n) {
			panic("tess: " + n + " is read at the root of an execute body but questions may use it")
		}
		m[n] = true
	}
	return m
}

// executeResponse is the execute endpoint's answer; template_id is a
// string at the top and an integer inside, as Tess has it.
type executeResponse struct {
	TemplateID string     `json:"template_id"`
	Responses  []response `json:"responses"`
}

func (h *Handler) execute(w http.ResponseWriter, r *http.Request) {
	agent, err := h.agent(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := httpx.ReadBody(r, h.cfg.MaxBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := httpx.PrincipalFrom(r.Context())
	req, opts, err := parseExecute(body, r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	req.WorkspaceID, req.AgentID = p.WorkspaceID, agent.ID
	if p.Key != nil {
		req.APIKeyID = &p.Key.ID
	}
	if req.TriggerType, err = httpx.Trigger(r); err != nil {
		h.fail(w, r, err)
		return
	}
	if key := strings.TrimSpace(r.Header.Get("Idempotency-Key")); key != "" {
		if len(key) > 255 {
			h.fail(w, r, invalid("Idempotency-Key", "The Idempotency-Key header may not be longer than 255 characters."))
			return
		}
		req.IdempotencyKey, req.RequestHash = key, requestHash(r, body)
	}
	if opts.stream && agent.Type != tessera.AgentTypeChat {
		h.fail(w, r, invalid("stream", "Streaming is available for chat agents only."))
		return
	}
	ex, err := h.cfg.Engine.Submit(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if opts.stream {
		h.stream(w, r, ex)
		return
	}
	if opts.wait && !ex.Status.Terminal() {
		ex, err = h.cfg.Engine.Wait(r.Context(), p.WorkspaceID, ex.ID, h.cfg.MaxWait)
		if err != nil {
			h.fail(w, r, err)
			return
		}
	}
	httpx.WriteJSON(w, http.StatusOK, executeResponse{
		TemplateID: strconv.FormatInt(agent.ID, 10), Responses: []response{toResponse(ex)},
	})
}

// requestHash fingerprints a submission for Idempotency-Key: the same key
// with another agent or body is a conflict, not a replay.
func requestHash(r *http.Request, body []byte) string {
	h := sha256.New()
	h.Write([]byte(r.URL.Path))
	h.Write([]byte{0})
	h.Write(bytes.TrimSpace(body))
	return hex.EncodeToString(h.Sum(nil))
}

// parseExecute decodes an execute body in every form real clients send:
// answers at the root or in the legacy "answers" object, temperature as a
// string or a number, messages as an array or a plain string, the wait flag
// in the body or the query string under either spelling.
func parseExecute(body []byte, r *http.Request) (*engine.ExecuteRequest, executeOptions, error) {
	var opts executeOptions
	var root map[string]json.RawMessage
	if err := httpx.DecodeJSON(body, &root, true); err != nil {
		return nil, opts, err
	}
	if root == nil {
		return nil, opts, &tessera.Error{Code: tessera.EMALFORMED, Message: "The request body must be a JSON object."}
	}
	var v tessera.ValidationErrors
	req := &engine.ExecuteRequest{Inputs: map[string]json.RawMessage{}}
	if raw, ok := root["answers"]; ok && !isNull(raw) {
		var answers map[string]json.RawMessage
		if err := json.Unmarshal(raw, &answers); err != nil {
			v.Add("answers", "The answers field must be an object.")
		}
		for k, val := range answers {
			req.Inputs[k] = val
		}
	}
	for k, val := range root {
		if !reserved[k] {
			req.Inputs[k] = val // root-level fields win over answers
		}
	}
	req.Temperature = parseTemperature(&v, root["temperature"])
	req.Model = parseString(&v, root["model"], "model")
	req.Tools = parseString(&v, root["tools"], "tools")
	req.RootID = parseOptionalID(&v, root["root_id"], "root_id")
	req.FileIDs = parseIDs(&v, root["file_ids"], "file_ids")
	if raw, ok := root["messages"]; ok {
		msgs, err := engine.ParseMessages(raw)
		if err != nil {
			v.Merge(err)
		}
		req.Messages = msgs
	}
	stream, err := parseFlag(root["stream"])
	if err != nil {
		v.Add("stream", "The stream field must be true or false.")
	}
	opts.stream = stream
	if raw, ok := root["timeout"]; ok && !isNull(raw) {
		var secs float64
		switch err := json.Unmarshal(raw, &secs); {
		case err != nil || secs <= 0:
			v.Add("timeout", "The timeout must be a positive number of seconds.")
		case secs < 0.001 || secs > maxTimeoutSeconds:
			// Past these, seconds do not convert to a duration: below a
			// millisecond it rounds to nothing, above it overflows.
			v.Add("timeout", "The timeout must be between 0.001 and %d seconds.", maxTimeoutSeconds)
		default:
			req.Timeout = time.Duration(secs * float64(time.Second))
		}
	}
	req.MultitaskStrategy = parseString(&v, root["multitask_strategy"], "multitask_strategy")
	wait := false
	for _, name := range []string{"waitExecution", "wait_execution"} {
		if raw, ok := root[name]; ok {
			b, err := parseFlag(raw)
			if err != nil {
				v.Add(name, "The %s field must be true or false.", name)
			}
			wait = wait || b
		}
		if s := r.URL.Query().Get(name); s != "" {
			b, err := flagWord(s)
			if err != nil {
				v.Add(name, "The %s query parameter must be true or false.", name)
			}
			wait = wait || b
		}
	}
	opts.wait = wait
	return req, opts, v.Err()
}

// executeOptions are how the caller wants the answer.
type executeOptions struct {
	wait, stream bool
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

func parseTemperature(v *tessera.ValidationErrors, raw json.RawMessage) *float64 {
	if isNull(raw) || string(bytes.TrimSpace(raw)) == `""` {
		return nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			v.Add("temperature", "The temperature must be a number between 0 and 2.")
			return nil
		}
		n, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			v.Add("temperature", "The temperature must be a number between 0 and 2.")
			return nil
		}
	}
	if math.IsNaN(n) || n < 0 || n > 2 {
		v.Add("temperature", "The temperature must be between 0 and 2.")
		return nil
	}
	return &n
}

func parseString(v *tessera.ValidationErrors, raw json.RawMessage, field string) string {
	if isNull(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		v.Add(field, "The %s field must be a string.", field)
	}
	return strings.TrimSpace(s)
}

// parseID accepts an integer or an integer written as a string.
func parseID(raw json.RawMessage) (int64, bool) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, false
		}
		n = json.Number(strings.TrimSpace(s))
	}
	id, err := strconv.ParseInt(n.String(), 10, 64)
	return id, err == nil && id > 0
}

func parseOptionalID(v *tessera.ValidationErrors, raw json.RawMessage, field string) int64 {
	if isNull(raw) || string(bytes.TrimSpace(raw)) == `""` {
		return 0
	}
	id, ok := parseID(raw)
	if !ok {
		v.Add(field, "The %s field must be a positive integer.", field)
	}
	return id
}

// parseIDs accepts an array of ids or a single id.
func parseIDs(v *tessera.ValidationErrors, raw json.RawMessage, field string) []int64 {
	if isNull(raw) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		items = []json.RawMessage{raw}
	}
	out := make([]int64, 0, len(items))
	for _, it := range items {
		id, ok := parseID(it)
		if !ok {
			v.Add(field, "The %s field must be an array of positive integers.", field)
			return nil
		}
		out = append(out, id)
	}
	return out
}

// parseFlag accepts a boolean, 0/1, or "true"/"True"/"1"/"false"/… text.
func parseFlag(raw json.RawMessage) (bool, error) {
	if isNull(raw) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil && (n == 0 || n == 1) {
		return n == 1, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return flagWord(s)
	}
	return false, tessera.Errorf(tessera.EINVALID, "not a boolean")
}

// flagWord reads a flag written as a word, in a JSON string or a query.
func flagWord(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off", "":
		return false, nil
	}
	return false, tessera.Errorf(tessera.EINVALID, "not a boolean")
}

// maxTimeoutSeconds is the longest timeout a request may name (a day, as
// an agent's timeout_seconds); the server's maximum still applies.
const maxTimeoutSeconds = 24 * 3600

func invalid(field, msg string) error {
	return &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{field: {msg}}}
}
