package mcptool_test

import (
	"os"
	"testing"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool/mcptool"
)

// stdioServer declares the test binary as a stdio server; it becomes one
// only if the secret "flag" is "1", which tests the environment's secrets.
func stdioServer() tessera.MCPServer {
	return tessera.MCPServer{
		Name:    "local",
		Command: []string{os.Args[0]},
		Env: map[string]string{
			serverEnv:          "{{secret.flag}}",
			"MCPTOOL_GREETING": "hello {{secret.name}}",
			"GORACE":           "atexit_sleep_ms=0", // under -race, exit at once
		},
	}
}

var (
	stdioSecrets = map[string]string{"flag": "1", "name": "world"}
	stdioOptions = mcptool.Options{AllowStdio: true, AllowedCommands: []string{os.Args[0]}}
)

func TestStdio(t *testing.T) {
	t.Parallel()
	b := open(t, []tessera.MCPServer{stdioServer()}, stdioSecrets, stdioOptions)
	if got := call(t, get(t, b, "local__add"), `{"a": 40, "b": 2}`); got.Content != "42" {
		t.Errorf("add = %q, want 42", got.Content)
	}
	if got := call(t, get(t, b, "local__getenv"), `{"name": "MCPTOOL_GREETING"}`); got.Content != "hello world" {
		t.Errorf("the server's environment has MCPTOOL_GREETING=%q, want the secret filled in", got.Content)
	}
	if got := call(t, get(t, b, "local__getenv"), `{"name": "PATH"}`); got.Content != os.Getenv("PATH") {
		t.Errorf("the server's environment has PATH=%q, want ours", got.Content)
	}
	// Only a few variables are inherited: Tessera's database URLs and keys
	// are not the server's business.
	if got := call(t, get(t, b, "local__getenv"), `{"name": "MCPTOOL_PARENT_ONLY"}`); got.Content != "" && got.Content != "(no output)" {
		t.Errorf("the server inherited MCPTOOL_PARENT_ONLY=%q", got.Content)
	}
}

func TestStdioRefused(t *testing.T) {
	t.Parallel()
	err := openErr(t, []tessera.MCPServer{stdioServer()}, stdioSecrets, mcptool.Options{})
	wantError(t, err, tessera.EINVALID, `MCP server "local"`, "stdio servers (command) are disabled")

	opts := mcptool.Options{AllowStdio: true, AllowedCommands: []string{"npx", "uvx"}}
	err = openErr(t, []tessera.MCPServer{stdioServer()}, stdioSecrets, opts)
	wantError(t, err, tessera.EINVALID, `MCP server "local"`, "is not allowed", "npx, uvx")

	err = openErr(t, []tessera.MCPServer{stdioServer()}, map[string]string{"flag": "1"}, stdioOptions)
	wantError(t, err, tessera.EINVALID, `MCP server "local" uses the secret "name", which is not set`)
}

func TestStdioMissingProgram(t *testing.T) {
	t.Parallel()
	srv := tessera.MCPServer{Name: "local", Command: []string{"/nonexistent/mcp-server"}}
	err := openErr(t, []tessera.MCPServer{srv}, nil, mcptool.Options{AllowStdio: true})
	wantError(t, err, tessera.EUNAVAILABLE, `MCP server "local" is unavailable`)
}
