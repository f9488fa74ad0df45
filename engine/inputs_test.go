package engine

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/tessera-run/tessera"
)

func raw(m map[string]string) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range m {
		out[k] = json.RawMessage(v)
	}
	return out
}

func TestValidateInputsCoerces(t *testing.T) {
	t.Parallel()
	qs := []tessera.Question{
		{Name: "n", Type: tessera.QuestionNumber},
		{Name: "b", Type: tessera.QuestionBoolean},
		{Name: "s", Type: tessera.QuestionSelect, Options: []string{"a", "b"}},
		{Name: "m", Type: tessera.QuestionMultiselect, Options: []string{"x", "y", "z"}},
		{Name: "arr", Type: tessera.QuestionArray},
		{Name: "obj", Type: tessera.QuestionObject},
		{Name: "t", Type: tessera.QuestionText},
		{Name: "d", Type: tessera.QuestionText, Default: "dflt"},
	}
	tests := []struct {
		name string
		in   map[string]string
		want map[string]any
	}{
		{"native types", map[string]string{"n": `3.5`, "b": `true`, "s": `"a"`, "t": `"hi"`},
			map[string]any{"n": 3.5, "b": true, "s": "a", "t": "hi", "d": "dflt"}},
		{"strings from forms", map[string]string{"n": `" 42 "`, "b": `"False"`, "t": `12`},
			map[string]any{"n": 42.0, "b": false, "t": "12", "d": "dflt"}},
		{"boolean as 1", map[string]string{"b": `1`}, map[string]any{"b": true, "d": "dflt"}},
		{"multiselect as comma list", map[string]string{"m": `"x, z"`}, map[string]any{"m": []string{"x", "z"}, "d": "dflt"}},
		{"multiselect as array", map[string]string{"m": `["y"]`}, map[string]any{"m": []string{"y"}, "d": "dflt"}},
		{"array in a string", map[string]string{"arr": `"[1,2]"`}, map[string]any{"arr": []any{1.0, 2.0}, "d": "dflt"}},
		{"plain text array", map[string]string{"arr": `"one, two"`}, map[string]any{"arr": "one, two", "d": "dflt"}},
		{"object in a string", map[string]string{"obj": `"{\"k\":1}"`}, map[string]any{"obj": map[string]any{"k": 1.0}, "d": "dflt"}},
		{"given value beats default", map[string]string{"d": `"mine"`}, map[string]any{"d": "mine"}},
		{"null and empty are unanswered", map[string]string{"t": `null`, "s": `""`}, map[string]any{"d": "dflt"}},
		{"unknown fields ignored", map[string]string{"zzz": `"x"`}, map[string]any{"d": "dflt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ValidateInputs(qs, raw(tt.in))
			if err != nil {
				t.Fatalf("ValidateInputs: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestValidateInputsRejects(t *testing.T) {
	t.Parallel()
	qs := []tessera.Question{
		{Name: "req", Type: tessera.QuestionText, Required: true},
		{Name: "n", Type: tessera.QuestionNumber},
		{Name: "b", Type: tessera.QuestionBoolean},
		{Name: "s", Type: tessera.QuestionSelect, Options: []string{"a", "b"}},
		{Name: "m", Type: tessera.QuestionMultiselect, Options: []string{"x"}},
		{Name: "obj", Type: tessera.QuestionObject},
		{Name: "t", Type: tessera.QuestionText},
	}
	tests := []struct {
		name  string
		in    map[string]string
		field string
		msg   string
	}{
		{"required missing", map[string]string{}, "req", "The req field is required."},
		{"required blank", map[string]string{"req": `"   "`}, "req", "The req field is required."},
		{"number", map[string]string{"req": `"x"`, "n": `"abc"`}, "n", "The n field must be a number."},
		{"number infinity", map[string]string{"req": `"x"`, "n": `"Inf"`}, "n", "The n field must be a number."},
		{"boolean", map[string]string{"req": `"x"`, "b": `"maybe"`}, "b", "The b field must be true or false."},
		{"select option", map[string]string{"req": `"x"`, "s": `"c"`}, "s", "The selected s is invalid: it must be one of a, b."},
		{"multiselect option", map[string]string{"req": `"x"`, "m": `["x","q"]`}, "m", `The selected m "q" is invalid: each must be one of x.`},
		{"object", map[string]string{"req": `"x"`, "obj": `[1]`}, "obj", "The obj field must be an object."},
		{"text given an object", map[string]string{"req": `"x"`, "t": `{"a":1}`}, "t", "The t field must be a string."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ValidateInputs(qs, raw(tt.in))
			e, ok := tessera.AsError(err)
			if !ok || e.Code != tessera.EINVALID {
				t.Fatalf("err = %v, want EINVALID", err)
			}
			if got := e.Fields[tt.field]; len(got) == 0 || got[0] != tt.msg {
				t.Errorf("Fields[%q] = %q, want %q (all: %v)", tt.field, got, tt.msg, e.Fields)
			}
		})
	}
}

func TestValidateInputsReportsEveryField(t *testing.T) {
	t.Parallel()
	qs := []tessera.Question{{Name: "a", Required: true}, {Name: "b", Required: true}}
	_, err := ValidateInputs(qs, nil)
	e, _ := tessera.AsError(err)
	if e == nil || len(e.Fields) != 2 {
		t.Fatalf("err = %v, want two field errors", err)
	}
}
