package httpx_test

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/http/httpx"
)

// fuzzBody has a field of every kind the surfaces decode.
type fuzzBody struct {
	Name   string            `json:"name"`
	N      int               `json:"n"`
	Temp   *float64          `json:"temp"`
	On     bool              `json:"on"`
	Tags   []string          `json:"tags"`
	Labels map[string]string `json:"labels"`
	Raw    json.RawMessage   `json:"raw"`
	Inner  *struct {
		ID int64 `json:"id"`
	} `json:"inner"`
}

// FuzzDecodeJSON feeds arbitrary bodies to the shared decoder, lenient and
// strict. A refusal is EMALFORMED, or EINVALID naming the field; an
// accepted body is one valid JSON value (so trailing data is refused) and
// decodes as encoding/json decodes it; and what it decoded, encoded again,
// decodes to the same value. The seed corpus is in
// testdata/fuzz/FuzzDecodeJSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name":"a","n":1,"temp":0.5,"on":true,"tags":["x"],"labels":{"k":"v"},"raw":[1,{}],"inner":{"id":7}}`,
		`{"n":"1"}`, `{"unknown":1}`, `[]`, `null`, ``, `  `, `{"a":1} {"b":2}`, `{"name":"x"}}`,
		`{"n":1e400}`, `{"inner":{"id":1.5}}`, `{"name":"\ud800"}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, strict bool) {
		var got fuzzBody
		var err error
		if strict {
			err = httpx.DecodeJSONStrict(body, &got)
		} else {
			err = httpx.DecodeJSON(body, &got, true)
		}
		if err != nil {
			checkRefusal(t, body, err)
			return
		}
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) == 0 {
			if strict || !reflect.DeepEqual(got, fuzzBody{}) {
				t.Fatalf("empty body decoded to %+v (strict %v)", got, strict)
			}
			return
		}
		if !json.Valid(trimmed) {
			t.Fatalf("accepted %q, which is not one JSON value", body)
		}
		var want fuzzBody
		if err := json.Unmarshal(trimmed, &want); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %q to %+v; encoding/json: %+v, %v", body, got, want, err)
		}
		again, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var back fuzzBody
		if err := httpx.DecodeJSONStrict(again, &back); err != nil || !reflect.DeepEqual(canonical(t, back), canonical(t, got)) {
			t.Fatalf("%s re-decoded to %+v, %v", again, back, err)
		}
	})
}

// canonical replaces the RawMessage field by its value, encoded as
// json.Marshal encodes it, since re-encoding compacts and escapes it
// (and a nil one reads back as null).
func canonical(t *testing.T, b fuzzBody) fuzzBody {
	t.Helper()
	var v any // a nil RawMessage encodes as null
	if b.Raw != nil {
		if err := json.Unmarshal(b.Raw, &v); err != nil {
			t.Fatalf("raw %q: %v", b.Raw, err)
		}
	}
	b.Raw, _ = json.Marshal(v)
	return b
}

func checkRefusal(t *testing.T, body []byte, err error) {
	t.Helper()
	e, ok := tessera.AsError(err)
	if !ok {
		t.Fatalf("%q: untyped error %v", body, err)
	}
	switch e.Code {
	case tessera.EMALFORMED:
	case tessera.EINVALID:
		if len(e.Fields) != 1 {
			t.Fatalf("%q: EINVALID with fields %v", body, e.Fields)
		}
	default:
		t.Fatalf("%q: error kind %s: %v", body, e.Code, err)
	}
	if e.Message == "" {
		t.Fatalf("%q: empty message", body)
	}
}

// FuzzReadBody checks the body limit: a body over the limit (declared or
// actual) is ETOOLARGE, any other is returned whole.
func FuzzReadBody(f *testing.F) {
	f.Add([]byte(`{"a":1}`), int64(7), int64(-1))
	f.Add([]byte(`{"a":1}`), int64(6), int64(3))
	f.Add([]byte(``), int64(0), int64(0))
	f.Add([]byte(`xx`), int64(1), int64(100))
	f.Add([]byte(`xx`), int64(math.MaxInt64), int64(-1))
	f.Fuzz(func(t *testing.T, body []byte, limit, declared int64) {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.ContentLength = declared
		got, err := httpx.ReadBody(r, limit)
		eff := limit
		if eff <= 0 {
			eff = httpx.DefaultMaxBody
		}
		tooLarge := int64(len(body)) > eff || declared > eff
		switch {
		case tooLarge && tessera.ErrorCode(err) != tessera.ETOOLARGE:
			t.Fatalf("%d bytes (declared %d), limit %d: %v", len(body), declared, limit, err)
		case !tooLarge && (err != nil || !bytes.Equal(got, body)):
			t.Fatalf("%d bytes (declared %d), limit %d: got %d bytes, %v", len(body), declared, limit, len(got), err)
		}
	})
}
