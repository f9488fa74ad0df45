package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/tessera-run/tessera"
)

// DefaultMaxBody bounds JSON request bodies unless configured otherwise.
const DefaultMaxBody = 1 << 20

// ReadBody reads the whole body up to limit bytes. A larger body is
// ETOOLARGE.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	// One byte past the limit tells a body at the limit from a larger one;
	// at MaxInt64 there is no larger one to tell.
	b, err := io.ReadAll(io.LimitReader(r.Body, min(limit, math.MaxInt64-1)+1))
	if err != nil {
		return nil, &tessera.Error{Code: tessera.EMALFORMED, Message: "The request body could not be read."}
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(limit)
	}
	return b, nil
}

func tooLarge(limit int64) error {
	return tessera.Errorf(tessera.ETOOLARGE, "The request body is larger than the limit of %d bytes.", limit)
}

// DecodeJSON decodes body into v. An empty body decodes as {} when
// allowEmpty. Malformed JSON, a wrong type or trailing data is EMALFORMED
// with a message that says where.
func DecodeJSON(body []byte, v any, allowEmpty bool) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		if allowEmpty {
			body = []byte("{}")
		} else {
			return &tessera.Error{Code: tessera.EMALFORMED, Message: "The request body is empty; send a JSON object."}
		}
	}
	return decode(body, v, false)
}

// DecodeJSONStrict is DecodeJSON for bodies that must be objects with no
// unknown fields; an unknown field is EINVALID.
func DecodeJSONStrict(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return &tessera.Error{Code: tessera.EMALFORMED, Message: "The request body is empty; send a JSON object."}
	}
	return decode(body, v, true)
}

func decode(body []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			name = strings.Trim(name, `"`)
			msg := fmt.Sprintf("The field %q is not known.", name)
			return &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{name: {msg}}}
		}
		return malformed(err)
	}
	// More reports false before a stray ']' or '}', so read on: only the
	// end of the body may follow the value.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &tessera.Error{Code: tessera.EMALFORMED, Message: "The request body has data after the JSON value."}
	}
	return nil
}

func malformed(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &tessera.Error{Code: tessera.EMALFORMED, Message: fmt.Sprintf("The request body is not valid JSON (at byte %d).", syn.Offset)}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return &tessera.Error{Code: tessera.EMALFORMED, Message: fmt.Sprintf("The request body must be a JSON object, not %s.", typ.Value)}
		}
		msg := fmt.Sprintf("The %s field must be %s, not %s.", field, jsonKind(typ.Type.Kind().String()), typ.Value)
		return &tessera.Error{Code: tessera.EINVALID, Message: msg, Fields: map[string][]string{field: {msg}}}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &tessera.Error{Code: tessera.EMALFORMED, Message: "The request body is not valid JSON (it ends too early)."}
	default:
		// Includes encoding/json's nesting-depth limit.
		return &tessera.Error{Code: tessera.EMALFORMED, Message: "The request body is not valid JSON: " + err.Error()}
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return "a number"
	}
}

// TriggerHeader lets a client say how an execution was started: "manual"
// for the console and the CLI (a person pressed run), "api" (the default)
// for programs. Schedules and events set their own trigger type.
const TriggerHeader = "Tessera-Trigger"

// Trigger reads TriggerHeader: "" when absent, else "manual" or "api";
// anything else is EINVALID.
func Trigger(r *http.Request) (string, error) {
	switch v := strings.ToLower(strings.TrimSpace(r.Header.Get(TriggerHeader))); v {
	case "":
		return "", nil
	case tessera.TriggerManual, tessera.TriggerAPI:
		return v, nil
	default:
		return "", tessera.Errorf(tessera.EINVALID, "The %s header must be manual or api, not %q.", TriggerHeader, v)
	}
}
