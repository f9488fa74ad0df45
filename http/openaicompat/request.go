package openaicompat

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
	"github.com/tessera-run/tessera/http/httpx"
)

// chatBody is what this surface reads of a chat completion body; the rest
// is looked at through the root object (answers to the agent's questions).
type chatBody struct {
	Model       string          `json:"model"`
	Messages    json.RawMessage `json:"messages"`
	Temperature json.RawMessage `json:"temperature"`
	Stream      bool            `json:"stream"`
	// StreamOptions.IncludeUsage asks for a last chunk with the usage.
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools     json.RawMessage `json:"tools"`
	Functions json.RawMessage `json:"functions"`
	N         *int            `json:"n"`
	// Answers is Tess's legacy answers object; root-level fields win.
	Answers json.RawMessage `json:"answers"`
	// max_tokens and max_completion_tokens are accepted and ignored for
	// now: an execution has no output cap to pass them to. user is
	// accepted and ignored: the API key already identifies the caller.
}

// reserved are the body's own fields, OpenAI's chat completion parameters
// among them: they never answer a question, even one with the same name.
// Every other root-level field is an answer, as on Tess's execute.
var reserved = map[string]bool{
	"model": true, "messages": true, "temperature": true, "stream": true, "stream_options": true,
	"tools": true, "tool_choice": true, "parallel_tool_calls": true, "functions": true, "function_call": true,
	"max_tokens": true, "max_completion_tokens": true, "user": true, "n": true, "answers": true,
	"top_p": true, "frequency_penalty": true, "presence_penalty": true, "stop": true, "seed": true,
	"logprobs": true, "top_logprobs": true, "logit_bias": true, "response_format": true, "metadata": true,
	"store": true, "service_tier": true, "reasoning_effort": true, "modalities": true, "audio": true,
	"prediction": true, "web_search_options": true, "verbosity": true, "prompt_cache_key": true,
	"safety_identifier": true,
}

// chatRequest is a decoded chat completion request.
type chatRequest struct {
	exec *engine.ExecuteRequest
	// model is the body's model as sent.
	model        string
	stream       bool
	includeUsage bool
}

// parseChat decodes a chat completion body into an execute request (without
// its workspace and agent). Problems are one EINVALID error listing every
// field, or EMALFORMED when the body is not a JSON object.
func parseChat(body []byte) (*chatRequest, error) {
	var b chatBody
	if err := decodeObject(body, &b); err != nil {
		return nil, err
	}
	var root map[string]json.RawMessage
	_ = json.Unmarshal(body, &root) // decodeObject has checked it is an object
	var v tessera.ValidationErrors
	req := &chatRequest{model: strings.TrimSpace(b.Model), stream: b.Stream}
	req.includeUsage = b.StreamOptions != nil && b.StreamOptions.IncludeUsage
	req.exec = &engine.ExecuteRequest{Model: req.model, Inputs: answers(&v, root, b.Answers)}
	req.exec.Temperature = parseTemperature(&v, b.Temperature)
	req.exec.Tools = parseTools(&v, "tools", b.Tools)
	parseTools(&v, "functions", b.Functions)
	if b.N != nil && *b.N != 1 {
		v.Add("n", "Only n=1 is supported: an execution gives one answer.")
	}
	msgs, err := chatMessages(b.Messages)
	if err != nil {
		v.Merge(err)
	}
	req.exec.Messages = msgs
	return req, v.Err()
}

// decodeObject decodes a body that must be a JSON object, with typed
// fields checked by httpx's decoder.
func decodeObject(body []byte, v any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &tessera.Error{Code: tessera.EMALFORMED, Message: "The request body must be a JSON object."}
	}
	return httpx.DecodeJSON(trimmed, v, false)
}

// answers collects the answers to the agent's questions: Tess's legacy
// answers object, then every non-reserved root-level field over it.
func answers(v *tessera.ValidationErrors, root map[string]json.RawMessage, legacy json.RawMessage) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if !isNull(legacy) {
		if err := json.Unmarshal(legacy, &out); err != nil {
			v.Add("answers", "The answers field must be an object.")
		}
	}
	for k, val := range root {
		if !reserved[k] {
			out[k] = val
		}
	}
	return out
}

// chatMessages parses OpenAI messages into a Tess turn: the system and
// developer messages become the one leading developer message Tess allows,
// and the rest must follow Tess's rules (engine.CheckMessages).
func chatMessages(raw json.RawMessage) ([]tessera.Message, error) {
	msgs, err := engine.ParseMessages(raw)
	if err != nil || len(msgs) == 0 {
		return msgs, err
	}
	msgs = foldInstructions(msgs)
	return msgs, engine.CheckMessages(msgs)
}

// foldInstructions moves every system and developer message, wherever it
// is, into one leading developer message, joined with blank lines in
// order. OpenAI clients put instructions in system messages (some of them
// mid-conversation); the engine hands the developer message to the model as
// part of its system message, so nothing of them is lost.
func foldInstructions(msgs []tessera.Message) []tessera.Message {
	var instructions []string
	out := make([]tessera.Message, 1, len(msgs)+1)
	for _, m := range msgs {
		if m.Role != tessera.RoleSystem && m.Role != tessera.RoleDeveloper {
			out = append(out, m)
		} else if strings.TrimSpace(m.Content) != "" {
			instructions = append(instructions, m.Content)
		}
	}
	if len(instructions) == 0 {
		return out[1:]
	}
	out[0] = tessera.Message{Role: tessera.RoleDeveloper, Content: strings.Join(instructions, "\n\n")}
	return out
}

// parseTemperature accepts a number or a number written as a string (Tess
// documents "1"), between 0 and 2.
func parseTemperature(v *tessera.ValidationErrors, raw json.RawMessage) *float64 {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" || s == `""` {
		return nil
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		s = strings.TrimSpace(str)
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(n) || n < 0 || n > 2 {
		v.Add("temperature", "The temperature must be a number between 0 and 2.")
		return nil
	}
	return &n
}

// parseTools reads tools as Tess has it: a string naming a tool set
// ("no-tools"). OpenAI's function tools cannot run here, so an array of
// them is refused rather than silently ignored; an empty array means none.
func parseTools(v *tessera.ValidationErrors, field string, raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if isNull(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.TrimSpace(s)
	}
	var list []json.RawMessage
	switch err := json.Unmarshal(raw, &list); {
	case err == nil && len(list) == 0:
	case err == nil:
		v.Add(field, `function tools are not supported; tools names a Tess tool set, such as "no-tools".`)
	default:
		v.Add(field, `The %s field must be a string naming a Tess tool set, such as "no-tools".`, field)
	}
	return ""
}

func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// idempotency applies the Idempotency-Key header as the Tess surface does:
// the same key and body return the first execution, the same key with
// another body (or route) is a conflict.
func idempotency(r *http.Request, body []byte, req *engine.ExecuteRequest) error {
	key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if key == "" {
		return nil
	}
	if len(key) > 255 {
		return invalid("Idempotency-Key", "The Idempotency-Key header may not be longer than 255 characters.")
	}
	h := sha256.New()
	h.Write([]byte(r.URL.Path))
	h.Write([]byte{0})
	h.Write(bytes.TrimSpace(body))
	req.IdempotencyKey, req.RequestHash = key, hex.EncodeToString(h.Sum(nil))
	return nil
}
