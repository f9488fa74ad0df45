package engine_test

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/engine"
)

// fuzzQuestions has one question of every type.
var fuzzQuestions = []tessera.Question{
	{Name: "n", Type: tessera.QuestionNumber},
	{Name: "b", Type: tessera.QuestionBoolean, Required: true},
	{Name: "s", Type: tessera.QuestionSelect, Options: []string{"a", "b", "1"}},
	{Name: "m", Type: tessera.QuestionMultiselect, Options: []string{"x", "y", "z,w"}},
	{Name: "arr", Type: tessera.QuestionArray},
	{Name: "obj", Type: tessera.QuestionObject},
	{Name: "f", Type: tessera.QuestionFile},
	{Name: "t", Type: tessera.QuestionText},
	{Name: "d", Type: tessera.QuestionTextarea, Default: "dflt"},
}

// FuzzValidateInputs feeds arbitrary answers to ValidateInputs. It never
// panics; a refusal is EINVALID naming only questions; an accepted set
// holds only questions, each with its type's Go value, every required one
// answered; and the accepted values, encoded as JSON again, validate to
// themselves. The seed corpus is in testdata/fuzz/FuzzValidateInputs.
func FuzzValidateInputs(f *testing.F) {
	for _, seed := range []string{
		`{"n":" 42 ","b":"False","s":1,"m":"x, z,w","arr":"[1,2]","obj":"{\"k\":1}","f":"https://x","t":12}`,
		`{"n":1e400,"b":2,"s":"c","m":["q"],"obj":[],"t":{}}`,
		`{"b":true,"arr":"one, two","obj":{"a":[1]},"t":"   ","d":null}`,
		`{"b":"yes","m":[],"s":"","zzz":"ignored"}`,
		`{"b":"on","arr":"\"null\""}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var raw map[string]json.RawMessage
		if json.Unmarshal(body, &raw) != nil {
			return // the surfaces refuse it before validation
		}
		got, err := engine.ValidateInputs(fuzzQuestions, raw)
		if err != nil {
			e, ok := tessera.AsError(err)
			if !ok || e.Code != tessera.EINVALID || len(e.Fields) == 0 {
				t.Fatalf("error %v is not EINVALID with fields", err)
			}
			for name := range e.Fields {
				if !slices.ContainsFunc(fuzzQuestions, func(q tessera.Question) bool { return q.Name == name }) {
					t.Fatalf("error names %q, not a question", name)
				}
			}
			return
		}
		checkInputs(t, got)
		again := map[string]json.RawMessage{}
		for k, v := range got {
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("accepted %s = %#v does not encode: %v", k, v, err)
			}
			again[k] = b
		}
		back, err := engine.ValidateInputs(fuzzQuestions, again)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("inputs %#v re-encoded validate to %#v, %v", got, back, err)
		}
	})
}

func checkInputs(t *testing.T, got map[string]any) {
	t.Helper()
	for _, q := range fuzzQuestions {
		v, ok := got[q.Name]
		if !ok {
			if q.Required {
				t.Fatalf("required %s missing from %#v", q.Name, got)
			}
			continue
		}
		bad := false
		switch q.Type {
		case tessera.QuestionNumber:
			n, isNum := v.(float64)
			bad = !isNum || math.IsNaN(n) || math.IsInf(n, 0)
		case tessera.QuestionBoolean:
			_, isBool := v.(bool)
			bad = !isBool
		case tessera.QuestionSelect:
			s, isStr := v.(string)
			bad = !isStr || !slices.Contains(q.Options, s)
		case tessera.QuestionMultiselect:
			items, isList := v.([]string)
			bad = !isList || len(items) == 0 || slices.ContainsFunc(items, func(s string) bool { return !slices.Contains(q.Options, s) })
		case tessera.QuestionObject:
			_, isObj := v.(map[string]any)
			bad = !isObj
		case tessera.QuestionFile, tessera.QuestionText, tessera.QuestionTextarea:
			_, isStr := v.(string)
			bad = !isStr
		}
		if bad {
			t.Fatalf("%s (%s) = %#v", q.Name, q.Type, v)
		}
	}
	for k := range got {
		if !slices.ContainsFunc(fuzzQuestions, func(q tessera.Question) bool { return q.Name == k }) {
			t.Fatalf("output holds %q, not a question", k)
		}
	}
}
