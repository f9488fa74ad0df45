package engine_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tessera-run/tessera/engine"
)

// benchAnswers answers every question of fuzzQuestions, half of them in
// the text forms form-built clients send.
var benchAnswers = map[string]json.RawMessage{
	"n": json.RawMessage(`" 42 "`), "b": json.RawMessage(`"true"`), "s": json.RawMessage(`"a"`),
	"m": json.RawMessage(`"x, y"`), "arr": json.RawMessage(`"[1,2,3]"`), "obj": json.RawMessage(`{"k":"v","n":[1,2]}`),
	"f": json.RawMessage(`"https://example.com/f.pdf"`), "t": json.RawMessage(`"Tell me about the weather in Lisbon."`),
	"ignored": json.RawMessage(`"not a question"`),
}

// BenchmarkValidateInputs checks and coerces one execute request's
// answers against nine questions, one of every type.
func BenchmarkValidateInputs(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := engine.ValidateInputs(fuzzQuestions, benchAnswers); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseMessages decodes the messages of a chat turn with history:
// a developer message and ten user/assistant pairs.
func BenchmarkParseMessages(b *testing.B) {
	msgs := []map[string]any{{"role": "developer", "content": "Answer briefly."}}
	for i := range 10 {
		msgs = append(msgs, map[string]any{"role": "user", "content": strings.Repeat("question ", 10+i)},
			map[string]any{"role": "assistant", "content": []map[string]string{{"type": "text", "text": strings.Repeat("answer ", 20)}}})
	}
	msgs = append(msgs, map[string]any{"role": "user", "content": "And now?"})
	raw, err := json.Marshal(msgs)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		out, err := engine.ParseMessages(raw)
		if err != nil || engine.CheckMessages(out) != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender renders prompt templates from validated inputs: a short
// one with three placeholders, a 4 KB one with twenty, and one without any
// (the fast path).
func BenchmarkRender(b *testing.B) {
	inputs, err := engine.ValidateInputs(fuzzQuestions, benchAnswers)
	if err != nil {
		b.Fatal(err)
	}
	known := func(name string) bool { return name == "d" }
	long := strings.Repeat("Some instructions that go on for a while. {{t}} and {{ n }}, then {{m}} {{missing}}.\n", 5) +
		strings.Repeat("Plain text without placeholders. ", 100) + strings.Repeat("{{obj}} {{arr}} {{b}} ", 4)
	for _, tc := range []struct{ name, tmpl string }{
		{"short", "Talk about {{t}} in {{s}} with {{n}} points."},
		{"long", long},
		{"plain", strings.Repeat("No placeholders here. ", 20)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.tmpl)))
			for b.Loop() {
				_ = engine.Render(tc.tmpl, inputs, known)
			}
		})
	}
}
