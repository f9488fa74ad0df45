package openaicompat

import (
	"strings"
	"testing"
)

// BenchmarkParseChat decodes chat completion bodies as OpenAI SDKs send
// them: a short turn, and a conversation of twenty-one messages with a
// system prompt, content parts and parameters the surface ignores.
func BenchmarkParseChat(b *testing.B) {
	msgs := []string{`{"role":"system","content":"You are terse."}`}
	for range 10 {
		msgs = append(msgs, `{"role":"user","content":[{"type":"text","text":"What about the next item on the list?"}]}`,
			`{"role":"assistant","content":"It is done, and the one after it is scheduled for Monday."}`)
	}
	msgs = append(msgs, `{"role":"user","content":"Thanks. Anything else?"}`)
	long := `{"model":"helper","stream":true,"stream_options":{"include_usage":true},"temperature":0.2,"top_p":1,` +
		`"max_tokens":512,"user":"u-1","messages":[` + strings.Join(msgs, ",") + `]}`
	for _, tc := range []struct{ name, body string }{
		{"short", `{"model":"helper","messages":[{"role":"user","content":"Hello!"}]}`},
		{"conversation", long},
	} {
		b.Run(tc.name, func(b *testing.B) {
			body := []byte(tc.body)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := parseChat(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
