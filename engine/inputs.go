package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tessera-run/tessera"
)

// ValidateInputs checks raw answers against an agent's questions, coercing
// them to each question's type: numbers and booleans may arrive as strings
// (form-built clients send everything as text), select values must be one of
// the options, required questions must be answered, defaults fill the gaps.
// Answers to no question are ignored. Problems are collected per field.
func ValidateInputs(questions []tessera.Question, raw map[string]json.RawMessage) (map[string]any, error) {
	var v tessera.ValidationErrors
	out := make(map[string]any, len(questions))
	for i := range questions {
		q := &questions[i]
		val, present, problem := coerce(q, raw[q.Name])
		switch {
		case problem != "":
			v.Add(q.Name, "%s", problem)
		case present:
			out[q.Name] = val
		case q.Default != nil:
			out[q.Name] = q.Default
		case q.Required:
			v.Add(q.Name, "The %s field is required.", q.Name)
		}
	}
	return out, v.Err()
}

// coerce converts one raw answer. present is false for a missing, null or
// empty-string answer, which counts as not answered; problem is the
// user-facing message when the answer cannot be used.
func coerce(q *tessera.Question, raw json.RawMessage) (val any, present bool, problem string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` {
		return nil, false, ""
	}
	switch q.Type {
	case tessera.QuestionNumber:
		n, err := asNumber(raw)
		if err != nil {
			return nil, false, fmt.Sprintf("The %s field must be a number.", q.Name)
		}
		return n, true, ""
	case tessera.QuestionBoolean:
		b, err := asBool(raw)
		if err != nil {
			return nil, false, fmt.Sprintf("The %s field must be true or false.", q.Name)
		}
		return b, true, ""
	case tessera.QuestionSelect:
		s, err := asScalarString(raw)
		if err != nil {
			return nil, false, fmt.Sprintf("The %s field must be a string.", q.Name)
		}
		if !slices.Contains(q.Options, s) {
			return nil, false, fmt.Sprintf("The selected %s is invalid: it must be one of %s.", q.Name, strings.Join(q.Options, ", "))
		}
		return s, true, ""
	case tessera.QuestionMultiselect:
		return asMultiselect(q, raw)
	case tessera.QuestionArray:
		return asArray(raw), true, ""
	case tessera.QuestionObject:
		o, err := asObject(raw)
		if err != nil {
			return nil, false, fmt.Sprintf("The %s field must be an object.", q.Name)
		}
		return o, true, ""
	case tessera.QuestionFile:
		s, err := asScalarString(raw)
		if err != nil {
			return nil, false, fmt.Sprintf("The %s field must be a file id or a URL.", q.Name)
		}
		return s, true, ""
	default: // text, textarea
		s, err := asScalarString(raw)
		if err != nil {
			return nil, false, fmt.Sprintf("The %s field must be a string.", q.Name)
		}
		if strings.TrimSpace(s) == "" {
			return nil, false, ""
		}
		return s, true, ""
	}
}

func asNumber(raw json.RawMessage) (float64, error) {
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("not a number")
	}
	return n, nil
}

func asBool(raw json.RawMessage) (bool, error) {
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, nil
	}
	var n float64
	if err := json.Unmarshal(raw, &n); err == nil && (n == 0 || n == 1) {
		return n == 1, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// asScalarString accepts a string, or a number or boolean written as text.
func asScalarString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	switch raw[0] {
	case '{', '[':
		return "", fmt.Errorf("not a scalar")
	}
	var x any
	if err := json.Unmarshal(raw, &x); err != nil {
		return "", err
	}
	return string(raw), nil
}

// asMultiselect accepts an array of options or a comma-separated string.
func asMultiselect(q *tessera.Question, raw json.RawMessage) (any, bool, string) {
	var items []string
	if err := json.Unmarshal(raw, &items); err != nil {
		s, err := asScalarString(raw)
		if err != nil {
			return nil, false, fmt.Sprintf("The %s field must be a list of options.", q.Name)
		}
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				items = append(items, part)
			}
		}
	}
	if len(items) == 0 {
		return nil, false, ""
	}
	for _, it := range items {
		if !slices.Contains(q.Options, it) {
			return nil, false, fmt.Sprintf("The selected %s %q is invalid: each must be one of %s.", q.Name, it, strings.Join(q.Options, ", "))
		}
	}
	return items, true, ""
}

// asArray keeps a JSON array; anything else (Pipedream sends arrays as
// text) is kept as the value it is, parsed when it is a JSON array in a string.
func asArray(raw json.RawMessage) any {
	var arr []any
	if err := json.Unmarshal(raw, &arr); err == nil {
		return arr
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		// The text "null" is text, not a missing answer.
		if err := json.Unmarshal([]byte(s), &arr); err == nil && arr != nil {
			return arr
		}
		return s
	}
	var x any
	_ = json.Unmarshal(raw, &x) // raw came from a decoded body, so it is valid JSON
	return x
}

func asObject(raw json.RawMessage) (map[string]any, error) {
	var o map[string]any
	if err := json.Unmarshal(raw, &o); err == nil {
		return o, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return nil, err
	}
	if o == nil {
		return nil, errors.New("the text null is not an object")
	}
	return o, nil
}
