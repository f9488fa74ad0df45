package mcptool_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
	"github.com/tessera-run/tessera/tool/mcptool"
)

// fixture is an in-process MCP server over streamable HTTP that records
// the requests it is sent.
type fixture struct {
	URL string

	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct{ method, auth string }

// startServer serves srv over streamable HTTP until the test ends.
func startServer(t *testing.T, srv *mcp.Server) *fixture {
	t.Helper()
	mcpHandler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	f := &fixture{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.seen = append(f.seen, seenRequest{r.Method, r.Header.Get("Authorization")})
		f.mu.Unlock()
		mcpHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	f.URL = ts.URL
	return f
}

func (f *fixture) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.seen)
}

// server declares f as the MCP server name.
func (f *fixture) server(name string) tessera.MCPServer {
	return tessera.MCPServer{Name: name, URL: f.URL}
}

// open opens servers and closes the toolbox when the test ends.
func open(t *testing.T, servers []tessera.MCPServer, secrets map[string]string, opts mcptool.Options) *mcptool.Toolbox {
	t.Helper()
	b, err := mcptool.Open(context.Background(), servers, secrets, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

// openErr runs an Open that must fail and returns its error.
func openErr(t *testing.T, servers []tessera.MCPServer, secrets map[string]string, opts mcptool.Options) error {
	t.Helper()
	b, err := mcptool.Open(context.Background(), servers, secrets, opts)
	if err == nil {
		_ = b.Close()
		t.Fatal("Open succeeded, want an error")
	}
	return err
}

// names returns the names of tools.
func names(tools []tool.Tool) []string {
	out := make([]string, len(tools))
	for i, tl := range tools {
		out[i] = tl.Name()
	}
	return out
}

// get returns the tool of b called name.
func get(t *testing.T, b *mcptool.Toolbox, name string) tool.Tool {
	t.Helper()
	for _, tl := range b.Tools() {
		if tl.Name() == name {
			return tl
		}
	}
	t.Fatalf("no tool %q among %v", name, names(b.Tools()))
	return nil
}

// call runs tl with args, a JSON object, and fails the test on error.
func call(t *testing.T, tl tool.Tool, args string) tool.Result {
	t.Helper()
	res, err := tl.Call(context.Background(), json.RawMessage(args))
	if err != nil {
		t.Fatalf("%s(%s): %v", tl.Name(), args, err)
	}
	return res
}

// wantError fails unless err is of kind (when kind is not "") and its text
// contains every one of wants.
func wantError(t *testing.T, err error, kind string, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", wants)
	}
	if kind != "" && tessera.ErrorCode(err) != kind {
		t.Errorf("error kind = %q, want %q (%v)", tessera.ErrorCode(err), kind, err)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error = %q, want it to contain %q", err, w)
		}
	}
}
