package client

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Error is an answer with an HTTP error status (4xx or 5xx).
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Message is the server's message, or the status text when it sent
	// none.
	Message string
	// Fields holds per-field messages of a validation error (422), keyed
	// by field name ("title", "questions.0.name"); query, path and header
	// fields are prefixed ("query.status").
	Fields map[string][]string
	// RetryAfter is the Retry-After of a 429 or 503, in seconds.
	RetryAfter int
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %s", e.Status, http.StatusText(e.Status), e.Message)
	names := make([]string, 0, len(e.Fields))
	for n := range e.Fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		for _, m := range e.Fields[n] {
			if m != e.Message || len(names) > 1 {
				fmt.Fprintf(&b, "; %s: %s", n, m)
			}
		}
	}
	return b.String()
}

// errorBody holds the fields of every error shape the server uses: RFC
// 9457 problems (native API), {"error": …} (Tess), {"detail": …} (agent
// instances) and {"error": {"message": …}} (OpenAI-compatible).
type errorBody struct {
	Detail   json.RawMessage     `json:"detail"`
	Error    json.RawMessage     `json:"error"`
	Messages map[string][]string `json:"messages"`
	Errors   json.RawMessage     `json:"errors"`
}

// parseError reads an error answer in whichever shape it came.
func parseError(res *http.Response, body []byte) *Error {
	e := &Error{Status: res.StatusCode}
	if s := res.Header.Get("Retry-After"); s != "" {
		e.RetryAfter, _ = strconv.Atoi(s)
	}
	var b errorBody
	if json.Unmarshal(body, &b) == nil {
		e.Message = firstNonEmpty(stringOf(b.Detail), stringOf(b.Error), openAIMessage(b.Error))
		e.Fields = fieldsOf(b)
	} else if text := strings.TrimSpace(string(body)); text != "" && len(text) < 500 && !strings.HasPrefix(text, "<") {
		e.Message = text
	}
	if e.Message == "" && len(e.Fields) > 0 {
		for _, msgs := range e.Fields {
			e.Message = msgs[0]
			break
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}

// fieldsOf gathers per-field messages: Tess "messages", problem "errors"
// ([{location, message}]) and FastAPI "detail" ([{loc, msg}]).
func fieldsOf(b errorBody) map[string][]string {
	fields := map[string][]string{}
	for k, v := range b.Messages {
		fields[k] = append(fields[k], v...)
	}
	var problems []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	}
	if json.Unmarshal(b.Errors, &problems) == nil {
		for _, p := range problems {
			name := strings.TrimPrefix(p.Location, "body.")
			fields[name] = append(fields[name], p.Message)
		}
	}
	var details []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(b.Detail, &details) == nil {
		for _, d := range details {
			name := locName(d.Loc)
			fields[name] = append(fields[name], d.Msg)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// locName joins a FastAPI location, dropping the leading "body".
func locName(loc []any) string {
	parts := make([]string, 0, len(loc))
	for i, p := range loc {
		s := fmt.Sprint(p)
		if f, ok := p.(float64); ok {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		}
		if i == 0 && s == "body" && len(loc) > 1 {
			continue
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ".")
}

func stringOf(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func openAIMessage(raw json.RawMessage) string {
	var o struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return ""
	}
	return o.Message
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
