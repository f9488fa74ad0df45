package mcptool

import (
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestInputSchema(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, `{"type":"object"}`},
		{"not a schema", `{"type":"object"}`},
		{map[string]any{}, `{"type":"object"}`},
		{map[string]any{"properties": map[string]any{"q": map[string]any{"type": "string"}}},
			`{"properties":{"q":{"type":"string"}},"type":"object"}`},
		{map[string]any{"type": "object", "required": []any{"q"}}, `{"required":["q"],"type":"object"}`},
		{map[string]any{"type": "string"}, `{"type":"object"}`},
		{map[string]any{"type": []any{"object", "null"}}, `{"type":"object"}`},
	}
	for _, tt := range tests {
		if got := string(inputSchema(tt.in)); got != tt.want {
			t.Errorf("inputSchema(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestToolName(t *testing.T) {
	tests := []struct{ server, tool, want string }{
		{"docs", "search", "docs__search"},
		{"docs", "files.read", "docs__files_read"},
		{"docs", "héllo wörld", "docs__h_llo_w_rld"},
		{"docs", "0123456789012345678901234567890123456789012345678901234567890123456789",
			"docs__0123456789012345678901234567890123456789012345678901234567"},
	}
	for _, tt := range tests {
		if got := toolName(tt.server, tt.tool); got != tt.want {
			t.Errorf("toolName(%q, %q) = %q, want %q", tt.server, tt.tool, got, tt.want)
		}
	}
}

func TestRender(t *testing.T) {
	size := int64(10)
	tests := []struct {
		name string
		res  *mcp.CallToolResult
		want string
	}{
		{"empty", &mcp.CallToolResult{}, ""},
		{"texts", &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "a"}, &mcp.TextContent{Text: "b"}}}, "a\nb"},
		{"kinds", &mcp.CallToolResult{Content: []mcp.Content{
			&mcp.TextContent{Text: "see:"},
			&mcp.ImageContent{MIMEType: "image/png", Data: make([]byte, 1234)},
			&mcp.AudioContent{MIMEType: "audio/wav", Data: make([]byte, 5)},
			&mcp.ResourceLink{URI: "file:///a.txt", Name: "a", Size: &size},
			&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///b.bin", MIMEType: "application/octet-stream", Blob: []byte{1, 2}}},
		}}, "see:\n[image image/png, 1234 bytes]\n[audio audio/wav, 5 bytes]\n[resource link file:///a.txt]\n[resource file:///b.bin application/octet-stream, 2 bytes]"},
		{"embedded text", &mcp.CallToolResult{Content: []mcp.Content{
			&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///c.txt", Text: "hello"}},
		}, StructuredContent: map[string]any{"unused": true}}, "[resource file:///c.txt]\nhello"},
		{"structured", &mcp.CallToolResult{StructuredContent: map[string]any{"b": 1, "a": []any{"x"}}}, `{"a":["x"],"b":1}`},
		{"structured and image", &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.ImageContent{MIMEType: "image/gif", Data: []byte{1}}},
			StructuredContent: map[string]any{"n": 1},
		}, "{\"n\":1}\n[image image/gif, 1 bytes]"},
	}
	for _, tt := range tests {
		if got := render(tt.res); got != tt.want {
			t.Errorf("%s: render = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDecodeArgs(t *testing.T) {
	for _, in := range []string{``, ` `, `null`, `{}`} {
		if m, err := decodeArgs([]byte(in)); err != nil || m == nil || len(m) != 0 {
			t.Errorf("decodeArgs(%q) = %v, %v; want an empty map", in, m, err)
		}
	}
	for _, in := range []string{`[]`, `"x"`, `{"a":1} {"b":2}`, `{`} {
		if _, err := decodeArgs([]byte(in)); err == nil {
			t.Errorf("decodeArgs(%q) succeeded, want an error", in)
		}
	}
}
