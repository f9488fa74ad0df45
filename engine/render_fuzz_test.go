package engine_test

import (
	"math"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/engine"
)

// FuzzRender checks the prompt template renderer against a hand-written
// scanner of {{ name }} placeholders: the same output for any template and
// answers, answers never expanded again (an answer holding "{{x}}" stays
// literal), and known asked only about placeholders of the template that
// have no answer, so rendering never reads outside the input map. The seed
// corpus is in testdata/fuzz/FuzzRender.
func FuzzRender(f *testing.F) {
	f.Add("Speak {{lang}} about {{ topic }}.", "lang", "{{topic}}", 2.5, true)
	f.Add("{{{lang}}} {{lang}", "lang", "fr", math.Copysign(0, -1), false)
	f.Add("{{ n }} {{b}} {{list}} {{obj}} {{missing}} {{known}}", "x", "y", 1e21, true)
	f.Add("{{\tname-with-dash_1\n}}{{1bad}}{{ }}", "name-with-dash_1", "ok", 0.1, false)
	f.Add("no placeholders at all", "", "", 0.0, false)
	f.Fuzz(func(t *testing.T, tmpl, key, val string, num float64, flag bool) {
		inputs := map[string]any{
			key: val, "n": num, "b": flag, "list": []string{val, key},
			"obj": map[string]any{"k": val}, "nothing": nil,
		}
		var asked []string
		known := func(name string) bool {
			asked = append(asked, name)
			return name == "known" || name == "missing" && flag
		}
		got := engine.Render(tmpl, inputs, known)
		var want strings.Builder
		names := map[string]bool{}
		for i := 0; i < len(tmpl); {
			name, end, ok := placeholderAt(tmpl, i)
			if !ok {
				want.WriteByte(tmpl[i])
				i++
				continue
			}
			names[name] = true
			switch v, has := inputs[name]; {
			case has:
				want.WriteString(engine.FormatValue(v))
			case name == "known" || name == "missing" && flag:
			default:
				want.WriteString(tmpl[i:end])
			}
			i = end
		}
		if got != want.String() {
			t.Fatalf("Render(%q) = %q, want %q", tmpl, got, want.String())
		}
		for _, name := range asked {
			if _, has := inputs[name]; has || !names[name] {
				t.Fatalf("Render(%q) asked known(%q), which is not an unanswered placeholder", tmpl, name)
			}
		}
	})
}

// placeholderAt matches `{{\s*name\s*}}` at tmpl[i:], where name is
// [A-Za-z_][A-Za-z0-9_-]* and \s is RE2's [\t\n\f\r ].
func placeholderAt(tmpl string, i int) (name string, end int, ok bool) {
	if !strings.HasPrefix(tmpl[i:], "{{") {
		return "", 0, false
	}
	j := skipSpace(tmpl, i+2)
	start := j
	for j < len(tmpl) && (isLetter(tmpl[j]) || j > start && (tmpl[j] >= '0' && tmpl[j] <= '9' || tmpl[j] == '-')) {
		j++
	}
	if j == start {
		return "", 0, false
	}
	name = tmpl[start:j]
	j = skipSpace(tmpl, j)
	if !strings.HasPrefix(tmpl[j:], "}}") {
		return "", 0, false
	}
	return name, j + 2, true
}

func skipSpace(s string, j int) int {
	for j < len(s) && strings.IndexByte("\t\n\f\r ", s[j]) >= 0 {
		j++
	}
	return j
}

func isLetter(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
