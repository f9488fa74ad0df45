package httptool_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
	"github.com/tessera-run/tessera/tool/builtin"
	"github.com/tessera-run/tessera/tool/httptool"
)

// secret is a credential with characters that escaping changes, so that
// tests catch its raw, percent-escaped and JSON-escaped forms.
const secret = `s3cr&t/+ "tok"<x>`

// testAPI is the server the declared tools call.
func testAPI() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/items/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "path=%s q=%s n=%s", r.URL.EscapedPath(), r.URL.Query().Get("q"), r.URL.Query().Get("n"))
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"method": r.Method, "content_type": r.Header.Get("Content-Type"),
			"auth": r.Header.Get("Authorization"), "key": r.Header.Get("X-Api-Key"), "n": r.Header.Get("X-N"),
			"query": r.URL.RawQuery, "body": string(body), "valid_json": json.Valid(body),
		})
	})
	mux.HandleFunc("/echo-raw", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "auth=%s\nuri=%s\n", r.Header.Get("Authorization"), r.RequestURI)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such item", http.StatusNotFound)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("0123456789", 100))
	})
	mux.HandleFunc("/straddle", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 95)+r.Header.Get("Authorization")+strings.Repeat("y", 100))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the client gives up
	})
	return mux
}

// bundle is what a test needs: the API server and a guarded client that
// may reach it.
type bundle struct {
	api    *httptest.Server
	client *http.Client
}

func setup(t *testing.T) *bundle {
	t.Helper()
	api := httptest.NewServer(testAPI())
	t.Cleanup(api.Close)
	return &bundle{api: api, client: guardedClient(t, "127.0.0.1")}
}

func guardedClient(t *testing.T, allow ...string) *http.Client {
	t.Helper()
	client, err := builtin.NewHTTPClient(builtin.HTTPConfig{Allow: allow})
	if err != nil {
		t.Fatalf("NewHTTPClient: %v", err)
	}
	t.Cleanup(client.CloseIdleConnections)
	return client
}

// newTool builds def with the test secrets; def.URL is relative to the API.
func (b *bundle) newTool(t *testing.T, def tessera.HTTPTool, cfg httptool.Config) tool.Tool {
	t.Helper()
	if def.Name == "" {
		def.Name = "test_tool"
	}
	def.URL = b.api.URL + def.URL
	if cfg.Client == nil {
		cfg.Client = b.client
	}
	tl, err := httptool.New(def, map[string]string{"TOKEN": secret, "UNUSED": "unused-value"}, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tl
}

func call(t *testing.T, tl tool.Tool, args any) tool.Result {
	t.Helper()
	res, err := callErr(t, tl, args)
	if err != nil {
		t.Fatalf("%s(%v): %v", tl.Name(), args, err)
	}
	return res
}

func callErr(t *testing.T, tl tool.Tool, args any) (tool.Result, error) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatalf("marshal args: %v", err)
	}
	return tl.Call(context.Background(), raw)
}

// echoed decodes what /echo saw, after the status line.
func echoed(t *testing.T, res tool.Result) map[string]any {
	t.Helper()
	_, body, ok := strings.Cut(res.Content, "\n\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); !ok || err != nil {
		t.Fatalf("echo result is not JSON (%v):\n%s", err, res.Content)
	}
	return m
}

func wantError(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %q, want it to contain %q", err, want)
	}
}

func wantContains(t *testing.T, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("output does not contain %q:\n%s", w, s)
		}
	}
}

// wantNoSecret fails if s shows secret in any form.
func wantNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), "s3cr"} {
		if strings.Contains(s, form) {
			t.Errorf("secret form %q leaked:\n%s", form, s)
		}
	}
}

func TestGetEscapesPathAndQuery(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{
		Description: "Get an item.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"},"q":{"type":"string"},"n":{"type":"integer"}}}`),
		URL:         "/items/{{id}}?q={{ q }}&n={{n}}",
	}, httptool.Config{})

	res := call(t, tl, map[string]any{"id": "a b/c", "q": "x&y", "n": 5})
	if want := "HTTP 200 OK\n\npath=/items/a%20b%2Fc q=x&y n=5"; res.Content != want {
		t.Errorf("Content = %q, want %q", res.Content, want)
	}
	_, err := callErr(t, tl, map[string]any{"id": ".."})
	wantError(t, err, `invalid arguments: id may not be ".."`)
}

func TestPostBodyTemplate(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{
		Description: "Search.",
		Method:      "post",
		URL:         "/echo",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"s":{},"n":{},"o":{},"opt":{}}}`),
		Body:        `{"s": {{s}}, "n": {{n}}, "o": {{o}}, "opt": {{opt}}, "fixed": "{}"}`,
	}, httptool.Config{})

	res := call(t, tl, map[string]any{"s": `he said "hi"` + "\n", "n": 1.5, "o": map[string]any{"k": []int{1, 2}}})
	got := echoed(t, res)
	if got["method"] != "POST" || got["content_type"] != "application/json" || got["valid_json"] != true {
		t.Fatalf("request = %v", got)
	}
	var body map[string]any
	json.Unmarshal([]byte(got["body"].(string)), &body)
	want := map[string]any{"s": "he said \"hi\"\n", "n": 1.5, "o": map[string]any{"k": []any{1.0, 2.0}}, "opt": nil, "fixed": "{}"}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("body = %v, want %v", body, want)
	}
}

func TestPostWithoutBodyTemplateSendsArgs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{
		Description: "Create.",
		Method:      "POST",
		URL:         "/echo",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"},"size":{"type":"integer"}}}`),
	}, httptool.Config{})

	got := echoed(t, call(t, tl, map[string]any{"name": "x", "size": 3}))
	if got["body"] != `{"name":"x","size":3}` || got["content_type"] != "application/json" {
		t.Errorf("request = %v", got)
	}
}

func TestHeadersCarrySecretsAndArgs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{
		Description: "Call with a token.",
		URL:         "/echo",
		Headers:     map[string]string{"Authorization": "Bearer {{secret.TOKEN}}", "X-N": "n={{n}}"},
	}, httptool.Config{})

	// The server saw the token; the model sees it scrubbed.
	res := call(t, tl, map[string]any{"n": "7"})
	wantNoSecret(t, res.Content)
	wantContains(t, res.Content, `"auth":"Bearer [secret]"`, `"n":"n=7"`)

	_, err := callErr(t, tl, map[string]any{"n": "1\r\nX-Evil: 1"})
	wantError(t, err, "header X-N cannot hold a line break")
}

func TestHeaderSecretReachesServer(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Api-Key")
	}))
	t.Cleanup(api.Close)
	tl, err := httptool.New(tessera.HTTPTool{Name: "t", Description: "d", URL: api.URL, Headers: map[string]string{"X-Api-Key": "{{secret.KEY}}"}},
		map[string]string{"KEY": "k-123"}, httptool.Config{Client: guardedClient(t, "127.0.0.1")})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	call(t, tl, map[string]any{})
	if key := <-got; key != "k-123" {
		t.Errorf("X-Api-Key = %q, want the secret", key)
	}
}

func TestNoParametersMakesPlaceholdersRequiredStrings(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{Description: "Get.", URL: "/items/{{id}}"}, httptool.Config{})
	var schema map[string]any
	json.Unmarshal(tl.Parameters(), &schema)
	want := map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}, "required": []any{"id"}}
	if !reflect.DeepEqual(schema, want) {
		t.Errorf("Parameters = %s", tl.Parameters())
	}
	_, err := callErr(t, tl, map[string]any{})
	wantError(t, err, "missing required argument id")
}

func TestMissingRequiredArgument(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{
		Description: "Get.",
		URL:         "/items/{{id}}?q={{q}}",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"id":{"type":"string"},"q":{"type":"string"}},"required":["id"]}`),
	}, httptool.Config{})

	_, err := callErr(t, tl, map[string]any{"q": "x"})
	wantError(t, err, "missing required argument id")
	// An optional argument left out is empty text.
	res := call(t, tl, map[string]any{"id": "1"})
	wantContains(t, res.Content, "path=/items/1 q= ")
}

func TestNewRefuses(t *testing.T) {
	t.Parallel()
	props := json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`)
	tests := []struct {
		name string
		def  tessera.HTTPTool
		want string
	}{
		{"missing secret", tessera.HTTPTool{URL: "https://api.example/x", Headers: map[string]string{"Authorization": "{{secret.NOPE}}"}},
			"the secret NOPE is not set"},
		{"missing secret in query", tessera.HTTPTool{URL: "https://api.example/x?k={{secret.NOPE}}&j={{secret.ALSO}}"},
			"the secrets ALSO, NOPE are not set"},
		{"secret in path", tessera.HTTPTool{URL: "https://api.example/{{secret.TOKEN}}/x"}, "in its query only"},
		{"secret in body", tessera.HTTPTool{Method: "POST", URL: "https://api.example/x", Body: `{"k": {{secret.TOKEN}}}`}, "the body may not use {{secret.TOKEN}}"},
		{"templated host", tessera.HTTPTool{URL: "https://{{q}}.example/x", Parameters: props}, "scheme and host"},
		{"undeclared argument", tessera.HTTPTool{URL: "https://api.example/{{id}}", Parameters: props}, "{{id}} names no property"},
		{"bad placeholder", tessera.HTTPTool{URL: "https://api.example/{{a b}}"}, "{{a b}} is neither"},
		{"placeholder in JSON string", tessera.HTTPTool{Method: "POST", URL: "https://api.example/x", Body: `{"q": "about {{q}}"}`, Parameters: props},
			"inside a JSON string"},
		{"invalid JSON body", tessera.HTTPTool{Method: "POST", URL: "https://api.example/x", Body: `{"q": {{q}}`, Parameters: props}, "not valid JSON"},
		{"GET with body", tessera.HTTPTool{URL: "https://api.example/x", Body: `{}`}, "GET request has no body"},
		{"bad parameters", tessera.HTTPTool{URL: "https://api.example/x", Parameters: json.RawMessage(`[]`)}, "JSON Schema object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.def.Name, tt.def.Description = "my_tool", "d"
			_, err := httptool.New(tt.def, map[string]string{"TOKEN": secret}, httptool.Config{Client: http.DefaultClient})
			wantError(t, err, `HTTP tool "my_tool": `)
			wantError(t, err, tt.want)
			if tessera.ErrorCode(err) != tessera.EINVALID {
				t.Errorf("code = %s, want %s", tessera.ErrorCode(err), tessera.EINVALID)
			}
			wantNoSecret(t, err.Error())
		})
	}
	t.Run("no client", func(t *testing.T) {
		t.Parallel()
		_, err := httptool.New(tessera.HTTPTool{Name: "x", URL: "https://api.example/"}, nil, httptool.Config{})
		wantError(t, err, "Config.Client is required")
	})
	t.Run("non-JSON body may quote placeholders", func(t *testing.T) {
		t.Parallel()
		def := tessera.HTTPTool{Name: "x", Method: "POST", URL: "https://api.example/x", Body: `q="{{q}}"`,
			Headers: map[string]string{"content-type": "text/plain"}}
		if _, err := httptool.New(def, nil, httptool.Config{Client: http.DefaultClient}); err != nil {
			t.Errorf("New: %v", err)
		}
	})
}

func TestEchoedSecretIsScrubbed(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{
		Description: "Echo.",
		URL:         "/echo-raw?key={{secret.TOKEN}}",
		Headers:     map[string]string{"Authorization": "Bearer {{secret.TOKEN}}"},
	}, httptool.Config{})
	res := call(t, tl, map[string]any{})
	wantNoSecret(t, res.Content)
	wantContains(t, res.Content, "auth=Bearer [secret]\n", "uri=/echo-raw?key=[secret]\n")

	// JSON-escaped, as an API echoing the request would show it.
	tl = b.newTool(t, tessera.HTTPTool{Description: "Echo.", URL: "/echo", Headers: map[string]string{"Authorization": "{{secret.TOKEN}}"}}, httptool.Config{})
	res = call(t, tl, map[string]any{})
	wantNoSecret(t, res.Content)
	wantContains(t, res.Content, `"auth":"[secret]"`)
}

func TestSecretAtTheCutIsScrubbedWhole(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{
		Description: "Echo.",
		URL:         "/straddle",
		Headers:     map[string]string{"Authorization": "{{secret.TOKEN}}"},
	}, httptool.Config{MaxResponseBytes: 100})
	res := call(t, tl, map[string]any{})
	if !res.Truncated {
		t.Error("Truncated = false")
	}
	wantNoSecret(t, res.Content)
	wantContains(t, res.Content, strings.Repeat("x", 95)+"[secret]\n[body truncated at")
}

func TestTransportErrorHidesSecret(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{Description: "Get.", URL: "/items/1?key={{secret.TOKEN}}&q={{q}}"}, httptool.Config{})
	b.api.Close()
	_, err := callErr(t, tl, map[string]any{"q": "x"})
	wantError(t, err, "GET "+b.api.URL+"/items/1: ")
	wantNoSecret(t, err.Error())
	if strings.Contains(err.Error(), "key=") {
		t.Errorf("error shows the query: %v", err)
	}
}

func TestNon2xxIsAResult(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{Description: "Get.", URL: "/missing"}, httptool.Config{})
	res := call(t, tl, map[string]any{})
	if want := "HTTP 404 Not Found\n\nno such item\n"; res.Content != want {
		t.Errorf("Content = %q, want %q", res.Content, want)
	}
}

func TestResponseOverTheCapIsTruncated(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{Description: "Get.", URL: "/big"}, httptool.Config{MaxResponseBytes: 25})
	res := call(t, tl, map[string]any{})
	if want := "HTTP 200 OK\n\n0123456789012345678901234\n[body truncated at 25 bytes]"; res.Content != want || !res.Truncated {
		t.Errorf("Result = %q (truncated %v), want %q", res.Content, res.Truncated, want)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t)
	t.Run("the tool's own", func(t *testing.T) {
		t.Parallel()
		tl := b.newTool(t, tessera.HTTPTool{Description: "Hang.", URL: "/hang", TimeoutSeconds: 1}, httptool.Config{Timeout: time.Hour})
		_, err := callErr(t, tl, map[string]any{})
		wantError(t, err, "GET "+b.api.URL+"/hang: timed out after 1s")
	})
	t.Run("the server's default", func(t *testing.T) {
		t.Parallel()
		tl := b.newTool(t, tessera.HTTPTool{Description: "Hang.", URL: "/hang"}, httptool.Config{Timeout: 50 * time.Millisecond})
		_, err := callErr(t, tl, map[string]any{})
		wantError(t, err, "timed out after 50ms")
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		tl := b.newTool(t, tessera.HTTPTool{Description: "Hang.", URL: "/hang"}, httptool.Config{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := tl.Call(ctx, json.RawMessage(`{}`))
		wantError(t, err, "cancelled")
	})
}

func TestSSRFGuard(t *testing.T) {
	t.Parallel()
	b := setup(t)
	def := tessera.HTTPTool{Description: "Get.", URL: "/items/1"}

	refused := b.newTool(t, def, httptool.Config{Client: guardedClient(t)})
	_, err := callErr(t, refused, map[string]any{})
	wantError(t, err, "refused: 127.0.0.1 is a loopback address")

	allowed := b.newTool(t, def, httptool.Config{Client: guardedClient(t, "127.0.0.1")})
	wantContains(t, call(t, allowed, map[string]any{}).Content, "HTTP 200 OK")
}

func TestRedirectToAnotherHostDropsSecretHeaders(t *testing.T) {
	t.Parallel()
	b, other := setup(t), setup(t)
	tl := b.newTool(t, tessera.HTTPTool{
		Description: "Follow.",
		URL:         "/redirect?to={{to}}",
		Headers:     map[string]string{"X-Api-Key": "{{secret.TOKEN}}", "X-N": "kept"},
	}, httptool.Config{})

	got := echoed(t, call(t, tl, map[string]any{"to": other.api.URL + "/echo"}))
	if got["key"] != "" || got["n"] != "kept" {
		t.Errorf("other host saw key %q, X-N %q; want no key and X-N kept", got["key"], got["n"])
	}
	got = echoed(t, call(t, tl, map[string]any{"to": "/echo"}))
	if got["key"] != "[secret]" {
		t.Errorf("same host saw key %q, want the secret (scrubbed here)", got["key"])
	}
}

func TestInvalidArguments(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tl := b.newTool(t, tessera.HTTPTool{Description: "Get.", URL: "/items/1"}, httptool.Config{})
	_, err := tl.Call(context.Background(), json.RawMessage(`[1]`))
	wantError(t, err, "invalid arguments: expected one JSON object")
	// Empty arguments mean {}.
	res, err := tl.Call(context.Background(), nil)
	if err != nil || !strings.HasPrefix(res.Content, "HTTP 200 OK") {
		t.Errorf("Call(nil) = %q, %v", res.Content, err)
	}
}
