package mcptool_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
	"github.com/tessera-run/tessera/tool/mcptool"
)

func TestOpenListsTools(t *testing.T) {
	t.Parallel()
	f := startServer(t, newTestServer(nil))
	b := open(t, []tessera.MCPServer{f.server("calc")}, nil, mcptool.Options{})

	// The SDK's server lists its tools by name.
	want := []string{"calc__add", "calc__args", "calc__big", "calc__echo", "calc__fail", "calc__getenv",
		"calc__hang", "calc__picture", "calc__pid", "calc__rendezvous", "calc__spawn", "calc__stats"}
	if got := names(b.Tools()); !slices.Equal(got, want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}
	if _, err := tool.NewSet(b.Tools()...); err != nil {
		t.Fatalf("the tools do not make a tool.Set: %v", err)
	}
	addTool := get(t, b, "calc__add")
	if got := addTool.Description(); got != "Adds two integers." {
		t.Errorf("description = %q", got)
	}
	if got := get(t, b, "calc__echo").Description(); got != "Echo" {
		t.Errorf("description without one = %q, want the title", got)
	}
	var schema struct {
		Type       string
		Properties map[string]any
	}
	if err := json.Unmarshal(addTool.Parameters(), &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Type != "object" || schema.Properties["a"] == nil || schema.Properties["b"] == nil {
		t.Errorf("parameters = %s, want an object schema with a and b", addTool.Parameters())
	}
}

func TestCall(t *testing.T) {
	t.Parallel()
	f := startServer(t, newTestServer(nil))
	b := open(t, []tessera.MCPServer{f.server("calc")}, nil, mcptool.Options{MaxOutputBytes: 1000})

	tests := []struct {
		tool, args, want string
	}{
		{"calc__add", `{"a": 2, "b": 3}`, "5"},
		{"calc__args", `{"n": 9007199254740993}`, `{"n":9007199254740993}`}, // beyond float64
		{"calc__args", ``, `{}`},
		{"calc__echo", `{"text": "héllo"}`, "héllo"},
		{"calc__picture", `{}`, "[image image/png, 4 bytes]"},
		{"calc__stats", `{}`, `{"count":3}`},
	}
	for _, tt := range tests {
		if got := call(t, get(t, b, tt.tool), tt.args); got.Content != tt.want || got.Truncated {
			t.Errorf("%s(%s) = %+v, want %q", tt.tool, tt.args, got, tt.want)
		}
	}

	got := call(t, get(t, b, "calc__big"), `{}`)
	if !got.Truncated || len(got.Content) > 1000 || !strings.HasSuffix(got.Content, tool.TruncationMarker) {
		t.Errorf("big: %d bytes, truncated %v; want at most 1000 ending with the marker", len(got.Content), got.Truncated)
	}
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	f := startServer(t, newTestServer(nil))
	b := open(t, []tessera.MCPServer{f.server("calc")}, nil, mcptool.Options{})

	obs := tool.Invoke(context.Background(), get(t, b, "calc__fail"), json.RawMessage(`{}`), 0, 0)
	if !obs.IsError || obs.Content != "Error: the disk is full" {
		t.Errorf("fail: %+v, want the server's text as the error", obs)
	}
	_, err := get(t, b, "calc__add").Call(context.Background(), json.RawMessage(`{"a": "two"}`))
	wantError(t, err, "", "validating", "a")
	_, err = get(t, b, "calc__add").Call(context.Background(), json.RawMessage(`[1, 2]`))
	wantError(t, err, "", "invalid arguments for tool calc__add", "JSON object")
}

func TestAllowedTools(t *testing.T) {
	t.Parallel()
	f := startServer(t, newTestServer(nil))
	srv := f.server("calc")
	srv.AllowedTools = []string{"echo", "add"}
	b := open(t, []tessera.MCPServer{srv}, nil, mcptool.Options{})
	if got, want := names(b.Tools()), []string{"calc__add", "calc__echo"}; !slices.Equal(got, want) {
		t.Errorf("tools = %v, want %v (in the server's order)", got, want)
	}

	srv.AllowedTools = []string{"add", "subtract"}
	err := openErr(t, []tessera.MCPServer{srv}, nil, mcptool.Options{})
	wantError(t, err, tessera.EINVALID, `"calc"`, `"subtract"`, "offers: add, args, big, echo, fail,")
}

func TestHeadersCarrySecrets(t *testing.T) {
	t.Parallel()
	f := startServer(t, newTestServer(nil))
	srv := f.server("calc")
	srv.Headers = map[string]string{"Authorization": "Bearer {{secret.token}}"}
	b := open(t, []tessera.MCPServer{srv}, map[string]string{"token": "s3cret"}, mcptool.Options{})
	call(t, get(t, b, "calc__add"), `{"a": 1, "b": 1}`)

	seen := f.requests()
	if len(seen) < 2 {
		t.Fatalf("the server saw %d requests, want at least initialize and the call", len(seen))
	}
	for _, r := range seen {
		if r.auth != "Bearer s3cret" {
			t.Errorf("%s request has Authorization %q, want the filled secret", r.method, r.auth)
		}
	}

	err := openErr(t, []tessera.MCPServer{srv}, map[string]string{"other": "x"}, mcptool.Options{})
	wantError(t, err, tessera.EINVALID, `MCP server "calc" uses the secret "token", which is not set`)
	srv.Headers["X-Other"] = "{{secret.other}} {{secret.more}}"
	err = openErr(t, []tessera.MCPServer{srv}, nil, mcptool.Options{})
	wantError(t, err, tessera.EINVALID, `MCP server "calc" uses the secrets ["more" "other" "token"], which are not set`)
}

// A redirect to another host must not take the declared headers along.
func TestHeadersStayOnTheServersHost(t *testing.T) {
	t.Parallel()
	f := startServer(t, newTestServer(nil))
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, f.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(front.Close)
	srv := tessera.MCPServer{Name: "calc", URL: front.URL, Headers: map[string]string{"Authorization": "Bearer {{secret.token}}"}}
	b := open(t, []tessera.MCPServer{srv}, map[string]string{"token": "s3cret"}, mcptool.Options{})
	call(t, get(t, b, "calc__add"), `{"a": 1, "b": 1}`)
	for _, r := range f.requests() {
		if r.auth != "" {
			t.Errorf("the redirect target got Authorization %q on a %s", r.auth, r.method)
		}
	}
}

func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	f := startServer(t, newTestServer(nil))
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	servers := []tessera.MCPServer{f.server("calc"), {Name: "gone", URL: gone.URL}}
	err := openErr(t, servers, nil, mcptool.Options{})
	wantError(t, err, tessera.EUNAVAILABLE, `MCP server "gone" is unavailable`)
}

func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	quit := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // so that the server notices the client leave
		select {
		case <-r.Context().Done(): // the client gives up at its deadline
		case <-quit: // the SDK's cancellation notice waits 5s for an answer
		}
	}))
	t.Cleanup(stuck.Close)
	t.Cleanup(func() { close(quit) })
	start := time.Now()
	err := openErr(t, []tessera.MCPServer{{Name: "stuck", URL: stuck.URL}}, nil, mcptool.Options{ConnectTimeout: 50 * time.Millisecond})
	wantError(t, err, tessera.EUNAVAILABLE, `MCP server "stuck" did not answer within 50ms`)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Open took %s, want it bounded by the connect timeout", d)
	}
}

func TestOpenCancelled(t *testing.T) {
	t.Parallel()
	f := startServer(t, newTestServer(nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b, err := mcptool.Open(ctx, []tessera.MCPServer{f.server("calc")}, nil, mcptool.Options{})
	if !errors.Is(err, context.Canceled) {
		_ = b.Close()
		t.Fatalf("Open with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestDeclarationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		servers []tessera.MCPServer
		want    string
	}{
		{"no name", []tessera.MCPServer{{URL: "http://x.test"}}, "no name"},
		{"twice", []tessera.MCPServer{{Name: "a", URL: "http://x.test"}, {Name: "a", URL: "http://y.test"}}, `"a" is used twice`},
		{"both", []tessera.MCPServer{{Name: "a", URL: "http://x.test", Command: []string{"x"}}}, "not both or neither"},
		{"neither", []tessera.MCPServer{{Name: "a"}}, "not both or neither"},
		{"bad url", []tessera.MCPServer{{Name: "a", URL: "ftp://x.test"}}, "absolute http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := openErr(t, tt.servers, nil, mcptool.Options{})
			wantError(t, err, tessera.EINVALID, tt.want)
		})
	}
}

// The calls of one session run at once: the server answers none of them
// before all have arrived.
func TestParallelCalls(t *testing.T) {
	t.Parallel()
	const parties = 8
	f := startServer(t, newTestServer(&hooks{parties: parties}))
	b := open(t, []tessera.MCPServer{f.server("calc")}, nil, mcptool.Options{})
	rv := get(t, b, "calc__rendezvous")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	results := make([]string, parties)
	errs := make([]error, parties)
	for i := range parties {
		wg.Go(func() {
			var res tool.Result
			res, errs[i] = rv.Call(ctx, json.RawMessage(`{}`))
			results[i] = res.Content
		})
	}
	wg.Wait()
	for i := range parties {
		if errs[i] != nil || results[i] != "all arrived" {
			t.Errorf("call %d: %q, %v", i, results[i], errs[i])
		}
	}
}

func TestCloseEndsRunningCalls(t *testing.T) {
	t.Parallel()
	h := &hooks{hanging: make(chan struct{}), release: make(chan struct{})}
	f := startServer(t, newTestServer(h))
	b, err := mcptool.Open(context.Background(), []tessera.MCPServer{f.server("calc")}, nil, mcptool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hang := get(t, b, "calc__hang")
	done := make(chan error, 1)
	go func() {
		_, err := hang.Call(context.Background(), json.RawMessage(`{}`))
		done <- err
	}()
	<-h.hanging
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	wantError(t, <-done, "", "MCP server calc was closed before tool hang finished")
	// The SDK's server ends the session only once its handlers return, and
	// the cancellation notice may not have reached it: release the handler.
	close(h.release)
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	_, err = get(t, b, "calc__add").Call(context.Background(), json.RawMessage(`{}`))
	wantError(t, err, "", "MCP server calc")
}
