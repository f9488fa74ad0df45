package openaicompat

import (
	"testing"

	"github.com/tessera-run/tessera"
)

// FuzzParseChat feeds arbitrary bodies to the decoder: it must never panic,
// and a refusal is always the client's fault (invalid or malformed), never
// an internal error.
func FuzzParseChat(f *testing.F) {
	for _, seed := range []string{
		`{"model":"tess-5","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}]}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}],"temperature":"0.5","tools":"no-tools"}`,
		`{"messages":"hi","stream":true,"stream_options":{"include_usage":true},"n":1,"topic":"x","answers":{"a":1}}`,
		`{"tools":[{"type":"function","function":{"name":"f"}}],"temperature":3}`,
		`[]`, `null`, `{"messages":[{"role":"developer"},{"role":"assistant"}]}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseChat(body)
		switch code := tessera.ErrorCode(err); code {
		case "":
			if req == nil || req.exec == nil {
				t.Fatalf("no request and no error for %q", body)
			}
		case tessera.EINVALID, tessera.EMALFORMED:
		default:
			t.Fatalf("error kind %q for %q: %v", code, body, err)
		}
	})
}
