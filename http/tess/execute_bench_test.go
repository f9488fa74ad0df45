package tess

import (
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkParseExecute decodes Tess execute bodies in the shapes clients
// send: a chat turn with history, answers at the root and in the legacy
// object with the wait flag in the query, and a Pipedream-style body where
// everything is text.
func BenchmarkParseExecute(b *testing.B) {
	for _, tc := range []struct{ name, query, body string }{
		{"chat", "", `{"messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":"Hi"},` +
			`{"role":"assistant","content":"Hello! How can I help?"},{"role":"user","content":"What is the weather in Lisbon?"}],` +
			`"temperature":0.5,"model":"tess-5","tools":"no-tools","root_id":42,"waitExecution":true}`},
		{"answers", "waitExecution=true", `{"topic":"cats","tone":"dry","length":"3","answers":{"audience":"kids","topic":"dogs"},"file_ids":[]}`},
		{"text-forms", "", `{"messages":"Summarize this","temperature":"0.7","root_id":"12","wait_execution":"1","stream":"false","timeout":30}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			r := &http.Request{URL: &url.URL{RawQuery: tc.query}}
			body := []byte(tc.body)
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, _, err := parseExecute(body, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
