package mcptool_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
	"github.com/tessera-run/tessera/tool/mcptool"
)

// namesServer offers tools whose names are not valid model tool names.
func namesServer() *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "names", Version: "1"}, nil)
	for _, name := range []string{"_add", "get.item", "get_item", strings.Repeat("x", 100)} {
		s.AddTool(&mcp.Tool{Name: name, InputSchema: emptyObject}, stats)
	}
	return s
}

func TestNamesSanitizedAndCut(t *testing.T) {
	t.Parallel()
	f := startServer(t, namesServer())
	srv := f.server("names")
	srv.AllowedTools = []string{"get.item", strings.Repeat("x", 100)}
	b := open(t, []tessera.MCPServer{srv}, nil, mcptool.Options{})

	long := "names__" + strings.Repeat("x", 64-len("names__"))
	if got, want := names(b.Tools()), []string{"names__get_item", long}; !slices.Equal(got, want) {
		t.Fatalf("tools = %v, want %v", got, want)
	}
	if _, err := tool.NewSet(b.Tools()...); err != nil {
		t.Fatalf("the tools do not make a tool.Set: %v", err)
	}
	if got := call(t, get(t, b, "names__get_item"), `{}`); got.Content != `{"count":3}` {
		t.Errorf("names__get_item = %q; the call must use the server's own name", got.Content)
	}
}

func TestNamesCollide(t *testing.T) {
	t.Parallel()
	f := startServer(t, namesServer())
	err := openErr(t, []tessera.MCPServer{f.server("names")}, nil, mcptool.Options{})
	wantError(t, err, tessera.EINVALID, `tool "get.item"`, `tool "get_item"`, `"names__get_item"`, "allowed_tools")
}

// Tools of different servers can collide too: "a_" + "__" + "add" and
// "a" + "__" + "_add".
func TestNamesCollideAcrossServers(t *testing.T) {
	t.Parallel()
	calc := startServer(t, newTestServer(nil)).server("a_")
	calc.AllowedTools = []string{"add"}
	other := startServer(t, namesServer()).server("a")
	other.AllowedTools = []string{"_add"}
	err := openErr(t, []tessera.MCPServer{calc, other}, nil, mcptool.Options{})
	wantError(t, err, tessera.EINVALID, `tool "add" of MCP server "a_"`, `tool "_add" of MCP server "a"`, `"a___add"`)
}
