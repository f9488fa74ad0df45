package httpx_test

import (
	"testing"

	"github.com/tessera-run/tessera/http/httpx"
)

// BenchmarkDecodeJSON is the shared decoder on a typical management body,
// lenient and strict (unknown fields refused).
func BenchmarkDecodeJSON(b *testing.B) {
	body := []byte(`{"name":"weekly report","n":3,"temp":0.5,"on":true,"tags":["a","b","c"],` +
		`"labels":{"team":"ops","env":"prod"},"raw":{"any":[1,2,{"x":"y"}]},"inner":{"id":42}}`)
	for _, strict := range []bool{false, true} {
		name := "lenient"
		if strict {
			name = "strict"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var v fuzzBody
				var err error
				if strict {
					err = httpx.DecodeJSONStrict(body, &v)
				} else {
					err = httpx.DecodeJSON(body, &v, false)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
