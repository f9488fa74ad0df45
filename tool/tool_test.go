package tool_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool"
)

var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// echoTool returns its arguments, so tests can see what the tool received.
func echoTool(name string) tool.Tool {
	return tool.Func(name, "echoes its arguments", emptySchema,
		func(_ context.Context, args json.RawMessage) (tool.Result, error) {
			return tool.Result{Content: string(args)}, nil
		})
}

func TestNewSet(t *testing.T) {
	t.Parallel()

	set, err := tool.NewSet(echoTool("b"), echoTool("a-1_Z"))
	if err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	var names []string
	for _, tl := range set.List() {
		names = append(names, tl.Name())
	}
	if got := strings.Join(names, ","); got != "b,a-1_Z" {
		t.Errorf("List order = %q, want %q", got, "b,a-1_Z")
	}
	if tl, ok := set.Get("a-1_Z"); !ok || tl.Name() != "a-1_Z" {
		t.Errorf("Get(a-1_Z) = %v, %v", tl, ok)
	}
	if _, ok := set.Get("missing"); ok {
		t.Error("Get(missing) found a tool")
	}
	if set.Len() != 2 {
		t.Errorf("Len = %d, want 2", set.Len())
	}
}

func TestNewSetErrors(t *testing.T) {
	t.Parallel()

	badSchema := tool.Func("bad_schema", "", json.RawMessage(`[]`), nil)
	tests := []struct {
		name  string
		tools []tool.Tool
		want  string
	}{
		{"duplicate", []tool.Tool{echoTool("a"), echoTool("a")}, `"a" is used twice`},
		{"empty name", []tool.Tool{echoTool("")}, "must match"},
		{"space in name", []tool.Tool{echoTool("web search")}, "must match"},
		{"too long", []tool.Tool{echoTool(strings.Repeat("x", 65))}, "must match"},
		{"schema not an object", []tool.Tool{badSchema}, "JSON Schema object"},
		{"nil tool", []tool.Tool{echoTool("a"), nil}, "tool 1 is nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tool.NewSet(tt.tools...)
			if tessera.ErrorCode(err) != tessera.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSet error = %v, want EINVALID containing %q", err, tt.want)
			}
		})
	}
}
