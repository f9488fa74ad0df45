package builtin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// decodeArgs decodes args into v strictly, so that a misspelt or mistyped
// field comes back to the model as an error it can fix rather than being
// silently ignored.
func decodeArgs(args json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return argError(err)
	}
	if dec.More() {
		return errors.New("invalid arguments: expected one JSON object")
	}
	return nil
}

func argError(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "arguments"
		}
		return fmt.Errorf("invalid arguments: %s must be %s, not %s", field, kindName(typeErr.Type), typeErr.Value)
	}
	return fmt.Errorf("invalid arguments: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Bool:
		return "a boolean"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice:
		return "an array"
	default:
		return t.String()
	}
}

// requireString reports a missing or blank required string argument.
func requireString(name, value string) error {
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("invalid arguments: %s is required", name)
	}
	return nil
}
